"""Zero-shot evaluation: image-text retrieval R@K and modality classification.

Retrieval: every validation image against every validation text (its own caption is
the one right answer), both directions. Classification: each sample's top-level
modality tag (`radiology/ct` -> radiology) against prompts "a {modality} image" for
every top-level modality of the taxonomy but `other`; samples without one are not scored.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from metadata.modalities import TAXONOMY
from trainer.data import SampleCodec, eval_loader

RECALL_AT = (1, 5, 10)
PROMPT = "a {modality} image"
# "other" names no single look that a prompt could describe
CLASSES = tuple(name for name in TAXONOMY if name != "other")


def recall_at_k(similarity: torch.Tensor, ks: tuple[int, ...] = RECALL_AT) -> dict[str, float]:
    """R@K of row i finding column i, for each k (rows: queries, columns: candidates)."""
    truth = similarity.diagonal().unsqueeze(1)
    # rank of the right answer = how many candidates score strictly higher
    rank = (similarity > truth).sum(dim=1)
    return {f"R@{k}": float((rank < k).float().mean()) for k in ks}


def retrieval_metrics(image_features: torch.Tensor, text_features: torch.Tensor) -> dict:
    image_features = F.normalize(image_features.float(), dim=-1)
    text_features = F.normalize(text_features.float(), dim=-1)
    similarity = image_features @ text_features.T
    return {
        "n": int(similarity.shape[0]),
        "image_to_text": recall_at_k(similarity),
        "text_to_image": recall_at_k(similarity.T),
    }


def top_modality(tags: list[str]) -> str | None:
    for tag in tags:
        top = tag.split("/", 1)[0]
        if top in CLASSES:
            return top
    return None


def modality_classification(
    image_features: torch.Tensor, modalities: list[list[str]], class_features: torch.Tensor
) -> dict[str, Any]:
    """Accuracy of nearest prompt against each tagged sample's top-level modality."""
    classes = list(CLASSES)
    labels = [top_modality(tags) for tags in modalities]
    scored = [i for i, label in enumerate(labels) if label is not None]
    result: dict[str, Any] = {"classes": classes, "prompt": PROMPT, "n": len(scored)}
    if not scored:
        result["accuracy"] = None
        return result
    image_features = F.normalize(image_features[scored].float(), dim=-1)
    predicted = (image_features @ F.normalize(class_features.float(), dim=-1).T).argmax(dim=1)
    truth = torch.tensor([classes.index(labels[i]) for i in scored])
    counts = Counter(labels[i] for i in scored)
    result["accuracy"] = float((predicted == truth).float().mean())
    result["majority_baseline"] = counts.most_common(1)[0][1] / len(scored)
    result["support"] = dict(sorted(counts.items()))
    return result


@torch.no_grad()
def encode_split(
    model: torch.nn.Module,
    codec: SampleCodec,
    urls: list[str],
    device: torch.device,
    batch_size: int = 64,
    workers: int = 0,
) -> dict[str, Any]:
    images, texts, keys, modalities = [], [], [], []
    for batch in eval_loader(urls, codec, batch_size, workers):
        images.append(model.encode_image(batch["image"].to(device)).float().cpu())
        texts.append(model.encode_text(batch["text"].to(device)).float().cpu())
        keys += batch["keys"]
        modalities += batch["modalities"]
    if not keys:
        raise ValueError(f"no readable validation samples in {len(urls)} shards")
    return {
        "image": torch.cat(images),
        "text": torch.cat(texts),
        "keys": keys,
        "modalities": modalities,
    }


@torch.no_grad()
def evaluate(
    model: torch.nn.Module,
    codec: SampleCodec,
    urls: list[str],
    device: torch.device,
    batch_size: int = 64,
    workers: int = 0,
) -> dict[str, Any]:
    """Retrieval and modality zero-shot on `urls`; a JSON-ready dict."""
    was_training = model.training
    model.eval()
    encoded = encode_split(model, codec, urls, device, batch_size, workers)
    prompts = [PROMPT.format(modality=name) for name in CLASSES]
    class_features = model.encode_text(codec.tokenizer(prompts).to(device)).float().cpu()
    model.train(was_training)
    return {
        "retrieval": retrieval_metrics(encoded["image"], encoded["text"]),
        "modality_zero_shot": modality_classification(
            encoded["image"], encoded["modalities"], class_features
        ),
        "shards": len(urls),
    }


def evaluate_checkpoint(
    checkpoint: str,
    val_data: str,
    output: str,
    arch: str | None = None,
    batch_size: int = 64,
    workers: int = 2,
    device: str = "auto",
) -> dict[str, Any]:
    """Evaluate a checkpoint on validation shards and write the results as JSON."""
    from trainer.data import expand_shards
    from trainer.models import image_side, load_trained

    use_cuda = device in ("auto", "cuda") and torch.cuda.is_available()
    torch_device = torch.device("cuda" if use_cuda else "cpu")
    model, transform, tokenizer = load_trained(checkpoint, arch, torch_device)
    codec = SampleCodec(transform, tokenizer, draft_side=2 * image_side(model))
    results = evaluate(model, codec, expand_shards(val_data), torch_device, batch_size, workers)
    results["model"] = checkpoint
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    Path(output).write_text(json.dumps(results, indent=2) + "\n")
    return results
