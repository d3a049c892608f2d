"""`python -m trainer [train] ...`, `python -m trainer eval ...`, `python -m trainer score ...`."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from dataclasses import fields

from trainer.train import TrainConfig

COMMANDS = ("train", "eval", "score")


def _train_parser(parser: argparse.ArgumentParser) -> None:
    defaults = TrainConfig(train_data="", out="")
    parser.add_argument("--train-data", required=True, help="shards: 'DIR/{00000..00003}.tar'")
    parser.add_argument("--out", required=True, help="folder for log.jsonl, checkpoints, eval")
    parser.add_argument("--val-data", help="validation shards, evaluated after the last step")
    parser.add_argument("--model", default=defaults.model, help="open_clip architecture name")
    parser.add_argument("--text-init", help="local sentence-transformers folder (hf text tower)")
    parser.add_argument("--init-checkpoint", help="start from these weights (for --model)")
    for name in (
        "steps", "batch_size", "accum", "warmup", "workers", "seed", "checkpoint_every",
        "keep_checkpoints", "log_every", "shuffle_buffer", "stop_at_step", "eval_batch_size",
    ):  # fmt: skip
        flag = "--" + name.replace("_", "-")
        parser.add_argument(flag, type=int, default=getattr(defaults, name))
    parser.add_argument("--lr", type=float, default=defaults.lr)
    parser.add_argument("--weight-decay", type=float, default=defaults.weight_decay)
    parser.add_argument("--precision", choices=("auto", "bf16", "fp32"), default="auto")
    parser.add_argument("--device", choices=("auto", "cuda", "cpu"), default="auto")


def _model_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="a checkpoint file")
    parser.add_argument("--arch", help="open_clip architecture, for checkpoints not made here")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--device", choices=("auto", "cuda", "cpu"), default="auto")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv.pop(0) if argv and argv[0] in COMMANDS else "train"
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(prog=f"python -m trainer {command}")
    if command == "train":
        _train_parser(parser)
        args = vars(parser.parse_args(argv))
        config = TrainConfig(**{f.name: args[f.name] for f in fields(TrainConfig)})
        from trainer.train import train

        summary = train(config)
    elif command == "eval":
        _model_args(parser)
        parser.add_argument("--val-data", required=True)
        parser.add_argument("--output", required=True, help="eval JSON to write")
        parser.add_argument("--workers", type=int, default=2)
        from trainer.evaluate import evaluate_checkpoint

        args = parser.parse_args(argv)
        summary = evaluate_checkpoint(args.model, args.val_data, args.output, args.arch,
                                      args.batch_size, args.workers, args.device)  # fmt: skip
    else:
        _model_args(parser)
        parser.add_argument("--input", required=True, help="a stage folder of Parquet shards")
        parser.add_argument("--output", required=True, help="folder for the score shards")
        from trainer.score import score_folder

        args = parser.parse_args(argv)
        summary = score_folder(args.model, args.input, args.output, args.arch, args.batch_size,
                               args.device)  # fmt: skip
    if int(os.environ.get("RANK", "0")) == 0:  # one summary from a torchrun job
        print(json.dumps(summary, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
