"""GPU check: the tiny model for a few hundred steps on the demo export; samples/s and R@1.

Run on a machine with a GPU, after `make demo`:
  .venv/bin/python benchmarks/train_gpu.py [--train out/demo/export/wds/train]
      [--val out/demo/export/wds/validation] [--steps 300]
(writes benchmarks/results/train_gpu.json; on a CPU-only machine it says so and stops;
--allow-cpu runs it there as a smoke test and writes nothing)
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from trainer.train import TrainConfig, train  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "train_gpu.json"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--train", default="out/demo/export/wds/train")
    parser.add_argument("--val", default="out/demo/export/wds/validation")
    parser.add_argument("--model", default="biomed-tiny")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--allow-cpu", action="store_true")
    args = parser.parse_args()
    if not torch.cuda.is_available() and not args.allow_cpu:
        raise SystemExit("no GPU here; this check is for a GPU machine (or pass --allow-cpu)")
    with tempfile.TemporaryDirectory() as out:
        config = TrainConfig(
            train_data=args.train, val_data=args.val, out=out, model=args.model,
            steps=args.steps, batch_size=args.batch_size, workers=args.workers, lr=1e-3,
            warmup=max(1, args.steps // 20), checkpoint_every=args.steps, log_every=10,
        )  # fmt: skip
        summary = train(config)
        log = [json.loads(line) for line in Path(out, "log.jsonl").read_text().splitlines()]
    retrieval = summary["eval"]["retrieval"]
    result = {
        "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu",
        "torch": torch.__version__,
        "model": args.model,
        "steps": args.steps,
        "batch_size": args.batch_size,
        "samples_per_s": summary["samples_per_s"],
        "samples_per_s_last_logged": log[-1]["samples_per_s"],
        "first_loss": log[0]["loss"],
        "final_loss": log[-1]["loss"],
        "validation_n": retrieval["n"],
        "image_to_text_R@1": retrieval["image_to_text"]["R@1"],
        "text_to_image_R@1": retrieval["text_to_image"]["R@1"],
        "chance_R@1": 1 / retrieval["n"],
    }
    print(json.dumps(result, indent=2))
    if torch.cuda.is_available():  # a CPU smoke run never stands in for the GPU result
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
