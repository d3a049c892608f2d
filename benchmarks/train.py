"""Trainer benchmark: loader throughput alone, and our training loop against a plain one.

Run: .venv/bin/python benchmarks/train.py [--data 'OUT/export/wds/train/{00000..000NN}.tar']
(writes benchmarks/results/train.json)

- Loader: decoded, augmented, tokenised samples/s out of `trainer.data.train_loader`
  (open_clip's WebDataset chain, 2 workers), at images of longest side 256 px (export's
  `--max-side 256`) and 1024 px (export's default). Target: >= 1,000 samples/s at 256 px.
  Also samples per CPU-second of one core (the same stream in-process), since wall-clock
  rates on a shared machine mostly measure the neighbours; the load average is recorded.
- Steps, on CPU, samples/s after warm-up: a minimal plain-PyTorch loop (forward, InfoNCE,
  torch's default AdamW) and our step (`train_step`: fused AdamW without decay on gains,
  temperature clamp; the schedule; a log row), both over the same model and the same
  already-decoded batches; and our whole loop (`trainer.train`) with its loader running on
  the same cores, as it does on a CPU-only machine.

Without --data the shards are made here, in the export layout, from the real figure
images in ../shared/testdata (46 JPEG/PNG/TIFF figures) with ROCO captions, each image
resized to the longest side; one source image yields several samples under distinct keys.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import torch  # noqa: E402
from PIL import Image  # noqa: E402
from trainer_shards import jpeg_bytes, write_shards  # noqa: E402

from trainer.data import SampleCodec, expand_shards, train_loader  # noqa: E402
from trainer.models import ModelSpec, create_model, create_tokenizer, image_side  # noqa: E402
from trainer.optim import (  # noqa: E402
    build_optimizer,
    contrastive_loss,
    cosine_with_warmup,
    train_step,
)
from trainer.train import TrainConfig, train  # noqa: E402

TESTDATA = ROOT.parent / "shared" / "testdata"
RESULTS = ROOT / "benchmarks" / "results" / "train.json"
SAMPLES = 768
SHARDS = 4
BATCH = 64


def source_images() -> list[Image.Image]:
    paths = sorted(
        p for p in TESTDATA.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".tif")
    )
    images = []
    for path in paths:
        if "thumbnail" in path.name:
            continue
        try:
            with Image.open(path) as img:
                images.append(img.convert("RGB"))
        except Exception:  # noqa: BLE001, S112 - a few TIFFs Pillow cannot read are left out
            continue
    if not images:
        raise SystemExit(f"no images under {TESTDATA}; pass --data")
    return images


def roco_captions() -> list[str]:
    path = TESTDATA / "captions" / "ROCO_test_radiology_dev600_captions.txt"
    return [line.split("\t", 1)[1].strip() for line in path.read_text("utf-8").splitlines()]


def fit(image: Image.Image, max_side: int) -> Image.Image:
    scale = max_side / max(image.size)
    if scale >= 1:
        return image
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.BICUBIC)


def make_shards(folder: Path, max_side: int) -> str:
    images = [fit(image, max_side) for image in source_images()]
    encoded = [jpeg_bytes(image) for image in images]
    captions = roco_captions()
    rows = [
        {
            "key": f"PMC{9000000 + i}/F{i % 7 + 1}",
            "jpg": encoded[i % len(encoded)],
            "text": captions[i % len(captions)],
            "modalities": ["radiology/other"],
        }
        for i in range(SAMPLES)
    ]
    return write_shards(folder, rows, SHARDS)


def codec_for(model_name: str) -> SampleCodec:
    spec = ModelSpec(model_name)
    model, transform, _ = create_model(spec)
    return SampleCodec(transform, create_tokenizer(spec), draft_side=2 * image_side(model))


def loader_rate(spec: str, codec: SampleCodec, workers: int, batches: int) -> dict:
    loader, _ = train_loader(expand_shards(spec), codec, BATCH, workers)
    stream = iter(loader)
    next(stream)  # workers started and warm
    start = time.perf_counter()
    for _ in range(batches):
        next(stream)
    seconds = time.perf_counter() - start
    del stream
    return {"samples_per_s": batches * BATCH / seconds, "batches": batches, "workers": workers}


def loader_cpu_rate(spec: str, codec: SampleCodec, batches: int) -> dict:
    """The same stream in this process: samples per CPU-second of one core.

    On a shared machine the wall-clock rate says more about the neighbours than about the
    loader; CPU time does not, and a loader with W idle cores delivers about W times this.
    """
    loader, _ = train_loader(expand_shards(spec), codec, BATCH, 0)
    stream = iter(loader)
    next(stream)
    start = time.process_time()
    for _ in range(batches):
        next(stream)
    seconds = time.process_time() - start
    return {"samples_per_cpu_s": batches * BATCH / seconds, "batches": batches}


def decoded_batches(spec: str, codec: SampleCodec, count: int = 4) -> list[dict]:
    loader, _ = train_loader(expand_shards(spec), codec, BATCH, 0)
    stream = iter(loader)
    return [next(stream) for _ in range(count)]


def timed_steps(step: Callable[[dict], None], batches: list[dict], steps: int) -> dict:
    for warm in range(2):
        step(batches[warm % len(batches)])
    start = time.perf_counter()
    for index in range(steps):
        step(batches[index % len(batches)])
    return {"samples_per_s": steps * BATCH / (time.perf_counter() - start), "steps": steps}


def plain_loop_rate(batches: list[dict], model_name: str, steps: int) -> dict:
    """Forward, InfoNCE, torch's default AdamW: nothing else."""
    torch.manual_seed(0)
    model, _, _ = create_model(ModelSpec(model_name))
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-4, weight_decay=0.1)
    loss_fn = contrastive_loss()

    def step(batch: dict) -> None:
        image_features, text_features, scale = model(batch["image"], batch["text"])[:3]
        loss = loss_fn(image_features, text_features, scale)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return timed_steps(step, batches, steps)


def our_step_rate(batches: list[dict], model_name: str, steps: int) -> dict:
    """Our step (`train_step`, schedule, a log row) on the same decoded batches."""
    torch.manual_seed(0)
    model, _, _ = create_model(ModelSpec(model_name))
    optimizer = build_optimizer(model, 5e-4, 0.1)
    scheduler = cosine_with_warmup(optimizer, 10, steps + 2)
    loss_fn = contrastive_loss()

    def step(batch: dict) -> None:
        loss = train_step(model, loss_fn, [batch], optimizer, torch.device("cpu"))
        scheduler.step()
        json.dumps({"loss": loss, "lr": scheduler.get_last_lr()[0]})

    return timed_steps(step, batches, steps)


def our_loop_rate(spec: str, model_name: str, steps: int, workers: int) -> dict:
    with tempfile.TemporaryDirectory() as out:
        config = TrainConfig(
            train_data=spec, out=out, model=model_name, steps=steps + 2, batch_size=BATCH,
            workers=workers, checkpoint_every=10**9, keep_checkpoints=1, device="cpu",
        )  # fmt: skip
        train(config)
        rows = [json.loads(line) for line in Path(out, "log.jsonl").read_text().splitlines()]
    timed = rows[2:]  # after warm-up
    seconds = sum(1 / row["steps_per_s"] for row in timed)
    return {"samples_per_s": len(timed) * BATCH / seconds, "steps": len(timed), "workers": workers}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", help="exported train shards; default: made from testdata")
    parser.add_argument("--model", default="biomed-tiny")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batches", type=int, default=12)
    parser.add_argument("--steps", type=int, default=12)
    args = parser.parse_args()
    torch.set_num_threads(1)
    codec = codec_for(args.model)
    results: dict = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                    "torch": torch.__version__, "torch_threads": torch.get_num_threads()},
        "model": args.model,
        "batch_size": BATCH,
        "load_average_at_start": os.getloadavg()[0],
    }  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        sources = {"given": args.data} if args.data else {
            f"max_side_{side}": make_shards(Path(tmp) / str(side), side) for side in (256, 1024)
        }  # fmt: skip
        for name, spec in sources.items():
            rate = loader_rate(spec, codec, args.workers, args.batches)
            rate.update(loader_cpu_rate(spec, codec, args.batches))
            rate["two_idle_cores_estimate"] = 2 * rate["samples_per_cpu_s"]
            results[f"loader_{name}"] = rate
            print(f"loader {name}: {rate['samples_per_s']:.0f} samples/s wall, "
                  f"{rate['samples_per_cpu_s']:.0f} per CPU-second", flush=True)  # fmt: skip
        first = next(iter(sources.values()))
        batches = decoded_batches(first, codec)
        plain = plain_loop_rate(batches, args.model, args.steps)
        step_only = our_step_rate(batches, args.model, args.steps)
        ours = our_loop_rate(first, args.model, args.steps, args.workers)
    results["plain_loop_decoded"] = plain
    results["our_step_decoded"] = step_only
    results["our_loop_end_to_end"] = ours
    results["our_step_over_plain"] = step_only["samples_per_s"] / plain["samples_per_s"]
    at_256 = results.get("loader_max_side_256", {})
    results["loader_target_1000_met"] = {
        "wall_on_this_machine": at_256.get("samples_per_s", 0) >= 1000,
        "two_idle_cores_estimate": at_256.get("two_idle_cores_estimate", 0) >= 1000,
    }
    results["load_average_at_end"] = os.getloadavg()[0]
    print(f"plain {plain['samples_per_s']:.0f}, our step {step_only['samples_per_s']:.0f}, "
          f"our loop with its loader {ours['samples_per_s']:.0f} samples/s")  # fmt: skip
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
