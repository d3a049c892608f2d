"""Image embeddings from an open_clip checkpoint (`--image-model`), for image near-duplicates.

The checkpoint is any open_clip checkpoint plus its architecture name; the bundled
trainer's checkpoints (trainer/checkpoint.py) carry that name themselves, and the stage
resolves it before the pipeline starts (pipeline/stages/dedup.py). Images are embedded
in key order, in fixed-size batches, with the model's own eval transform, and the
vectors are unit-normalised, so inner product is cosine. Two images are duplicates when
the rounded cosine is at or above `image_cosine`.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from transforms.ledger import StageError

log = logging.getLogger(__name__)

IMAGE_INSTALL = "pip install 'biomed-curate[train]'"
BATCH_SIZE = 32

_LOADED: dict[tuple[str, str, str], Any] = {}


@dataclass(frozen=True)
class ImageModel:
    checkpoint: str
    arch: str
    # open_clip create_model keyword arguments (e.g. a local hf text tower), as JSON
    kwargs_json: str = "{}"
    # a folder or file of open_clip model configs to register (the trainer's configs)
    config_path: str | None = None


def check_image_extra() -> None:
    """Fail before the pipeline starts when torch or open_clip is missing."""
    try:
        import open_clip  # noqa: F401
        import torch  # noqa: F401
    except ImportError as exc:
        raise StageError(
            "missing_extra",
            f"--image-model needs the `{exc.name}` package; install it with:  {IMAGE_INSTALL}",
        ) from exc


def load_image_model(spec: ImageModel) -> tuple[Any, Any, str]:
    """(model, eval transform, device), loaded once per process."""
    check_image_extra()
    import open_clip
    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    cache_key = (spec.checkpoint, spec.arch, device)
    if cache_key not in _LOADED:
        # every weight is a local file: never reach for the hub
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        if spec.config_path:
            open_clip.add_model_config(spec.config_path)
        model, _, transform = open_clip.create_model_and_transforms(
            spec.arch,
            pretrained=spec.checkpoint,
            device=device,
            pretrained_image=False,
            pretrained_text=False,
            **json.loads(spec.kwargs_json),
        )
        model.eval()
        log.info("dedup image model %s (%s) on %s", spec.checkpoint, spec.arch, device)
        _LOADED[cache_key] = (model, transform, device)
    return _LOADED[cache_key]


def embed_images(images: list[Image.Image], spec: ImageModel) -> np.ndarray:
    """Unit-norm float32 rows, one per image, in the order given."""
    if not images:
        return np.zeros((0, 0), dtype=np.float32)
    import torch

    model, transform, device = load_image_model(spec)
    rows = []
    with torch.no_grad():
        for start in range(0, len(images), BATCH_SIZE):
            chunk = images[start : start + BATCH_SIZE]
            batch = torch.stack([transform(im.convert("RGB")) for im in chunk])
            features = model.encode_image(batch.to(device)).float()
            features = torch.nn.functional.normalize(features, dim=-1)
            rows.append(features.cpu().numpy())
    return np.ascontiguousarray(np.concatenate(rows), dtype=np.float32)
