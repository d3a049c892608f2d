"""The training loop: one process per device (torchrun), or one process on CPU.

Each step takes `accum` micro-batches, logs one line to `log.jsonl` (rank 0), and every
`checkpoint_every` steps saves weights, optimizer, schedule and every rank's data
position. A rerun with the same `--out` resumes from the newest checkpoint at the
same sample, and its log continues from that step.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from trainer.checkpoint import (
    checkpoint_path,
    latest_checkpoint,
    load_checkpoint,
    prune_checkpoints,
    save_atomically,
)
from trainer.data import SampleCodec, StreamPlan, expand_shards, train_loader
from trainer.evaluate import evaluate
from trainer.models import (
    ModelSpec,
    create_model,
    create_tokenizer,
    image_side,
    resolve_text_init,
)
from trainer.optim import (
    autocast_for,
    build_optimizer,
    contrastive_loss,
    cosine_with_warmup,
    train_step,
    unwrap,
)

log = logging.getLogger("trainer.train")


@dataclass
class TrainConfig:
    train_data: str
    out: str
    val_data: str | None = None
    model: str = "biomed-tiny"
    text_init: str | None = None  # local sentence-transformers folder for an hf text tower
    init_checkpoint: str | None = None  # start from these weights (any open_clip checkpoint)
    steps: int = 100
    batch_size: int = 32  # per rank and micro-batch
    accum: int = 1
    lr: float = 5e-4
    weight_decay: float = 0.1
    warmup: int = 10
    workers: int = 2
    seed: int = 0
    precision: str = "auto"  # auto (bf16 on GPUs that have it), bf16, fp32
    device: str = "auto"
    checkpoint_every: int = 50
    keep_checkpoints: int = 3
    log_every: int = 1
    shuffle_buffer: int = 256
    stop_at_step: int | None = None  # end this run early (time-sliced jobs); resume later
    eval_batch_size: int = 64


@dataclass
class Distributed:
    rank: int = 0
    world_size: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def main(self) -> bool:
        return self.rank == 0


def init_distributed(device_choice: str) -> Distributed:
    """From torchrun's environment: one process per device; gloo on CPU, NCCL on GPUs."""
    use_cuda = torch.cuda.is_available() and device_choice in ("auto", "cuda")
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if world_size > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if use_cuda else "gloo")
    rank = dist.get_rank() if dist.is_initialized() else 0
    device = torch.device(f"cuda:{local_rank}" if use_cuda else "cpu")
    if use_cuda:
        torch.cuda.set_device(device)
    return Distributed(rank, world_size, device)


class Progress:
    """`log.jsonl` and a stderr line per logged step, with steps/s and samples/s over the
    steps since the last one. Only rank 0 writes; a resumed run first cuts lines past its
    step, so the log reads as one run."""

    def __init__(self, path: Path, config: TrainConfig, env: Distributed, step: int) -> None:
        self.path, self.config, self.enabled = path, config, env.main
        self.samples_per_step = config.batch_size * config.accum * env.world_size
        self.window_start, self.window_steps = time.perf_counter(), 0
        if not self.enabled:
            return
        kept = []
        if path.exists():
            for line in path.read_text().splitlines():
                if line.strip() and json.loads(line).get("step", 0) <= step:
                    kept.append(line + "\n")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(kept))

    def step_done(self, step: int, last: bool, **values: float) -> None:
        self.window_steps += 1
        if not self.enabled or not (step % self.config.log_every == 0 or last):
            return
        elapsed = time.perf_counter() - self.window_start
        row = {
            "step": step,
            **values,
            "steps_per_s": self.window_steps / elapsed,
            "samples_per_s": self.window_steps * self.samples_per_step / elapsed,
        }
        with open(self.path, "a") as handle:
            handle.write(json.dumps(row) + "\n")
        print(
            f"step {step}/{self.config.steps} loss {row['loss']:.4f} lr {row['lr']:.2e} "
            f"{row['steps_per_s']:.2f} steps/s {row['samples_per_s']:.1f} samples/s",
            file=sys.stderr,
            flush=True,
        )
        self.window_start, self.window_steps = time.perf_counter(), 0


def _gather_positions(local: dict[str, Any], env: Distributed) -> list[dict[str, Any]]:
    if env.world_size == 1:
        return [local]
    every: list[Any] = [None] * env.world_size
    dist.all_gather_object(every, local)
    return every


class Trainer:
    """Holds what a run resumes: model, optimizer, schedule, step and data position."""

    def __init__(self, config: TrainConfig, env: Distributed) -> None:
        self.config, self.env = config, env
        self.out = Path(config.out)
        self.spec = resolve_text_init(ModelSpec(config.model, config.text_init))
        torch.manual_seed(config.seed)
        self.model, self.train_transform, self.eval_transform = create_model(
            self.spec, checkpoint=config.init_checkpoint, device=env.device
        )
        self.tokenizer = create_tokenizer(self.spec)
        self.optimizer = build_optimizer(self.model, config.lr, config.weight_decay)
        self.scheduler = cosine_with_warmup(self.optimizer, config.warmup, config.steps)
        self.step = 0
        self.plan: StreamPlan | None = None
        self.resumed_from: str | None = None
        resume = latest_checkpoint(self.out / "checkpoints")
        if resume is not None:
            self._restore(load_checkpoint(resume))
            self.resumed_from = str(resume)
        self.positions: list[list[int]] = []

    def _restore(self, payload: dict[str, Any]) -> None:
        saved = payload["data"]
        if saved["world_size"] != self.env.world_size:
            raise ValueError(
                f"checkpoint was written by {saved['world_size']} ranks; resume with as many"
            )
        self.model.load_state_dict(payload["state_dict"])
        self.optimizer.load_state_dict(payload["optimizer"])
        self.scheduler.load_state_dict(payload["scheduler"])
        self.step = int(payload["step"])
        mine = saved["ranks"][self.env.rank]
        starts = [(int(epoch), int(number)) for epoch, number in mine["starts"]]
        self.plan = StreamPlan(mine["num_workers"], int(mine["batches_done"]), starts)

    def save(self) -> None:
        plan = self.plan
        local = {
            "num_workers": plan.num_workers,
            "batches_done": plan.batches_done,
            "starts": [list(p) for p in self.positions],
        }
        ranks = _gather_positions(local, self.env)
        if not self.env.main:
            return
        payload = {
            "state_dict": unwrap(self.model).state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "step": self.step,
            "data": {"world_size": self.env.world_size, "ranks": ranks},
            "model": self.spec.to_dict(),
            "config": {k: v for k, v in asdict(self.config).items() if v is not None},
        }
        folder = self.out / "checkpoints"
        save_atomically(payload, checkpoint_path(folder, self.step))
        prune_checkpoints(folder, self.config.keep_checkpoints)

    def run(self) -> dict[str, Any]:
        config, env = self.config, self.env
        urls = expand_shards(config.train_data)
        draft = 2 * image_side(self.model)
        codec = SampleCodec(self.train_transform, self.tokenizer, config.seed, draft)
        loader, self.plan = train_loader(
            urls, codec, config.batch_size, config.workers, self.plan, config.seed,
            config.shuffle_buffer,
        )  # fmt: skip
        self.positions = [list(self.plan.start_of(w)) for w in range(self.plan.num_workers)]
        model = self.model
        if env.world_size > 1:
            model = DistributedDataParallel(model)
        loss_fn = contrastive_loss(env.rank, env.world_size)
        autocast = autocast_for(env.device, config.precision)
        progress = Progress(self.out / "log.jsonl", config, env, self.step)
        last = min(config.steps, config.stop_at_step or config.steps)
        batches = iter(loader)
        started, first_step, loss = time.perf_counter(), self.step, float("nan")
        model.train()
        while self.step < last:
            try:
                micro = [next(batches) for _ in range(config.accum)]
            except StopIteration:
                raise RuntimeError(
                    "the training data ran out: no shard yields readable samples (see the log)"
                ) from None
            for batch in micro:
                worker, epoch, number = batch["position"].tolist()
                self.positions[worker] = [epoch, number]
                self.plan.batches_done += 1
            loss = train_step(model, loss_fn, micro, self.optimizer, env.device, autocast)
            self.scheduler.step()
            self.step += 1
            progress.step_done(
                self.step, self.step == last, loss=loss, lr=self.scheduler.get_last_lr()[0],
                logit_scale=float(unwrap(model).logit_scale.detach().exp()), epoch=epoch,
            )  # fmt: skip
            if self.step % config.checkpoint_every == 0 or self.step == last:
                self.save()
        seconds = time.perf_counter() - started
        done = self.step - first_step
        summary = {
            "step": self.step,
            "loss": loss,
            "steps_this_run": done,
            "seconds": seconds,
            "samples_per_s": done * progress.samples_per_step / seconds if seconds else None,
            "resumed_from": self.resumed_from,
        }
        if config.val_data and self.step >= config.steps and env.main:
            summary["eval"] = self.evaluate(draft)
        return summary

    def evaluate(self, draft_side: int) -> dict[str, Any]:
        """Zero-shot retrieval and modality classification on --val-data, to eval.json."""
        config = self.config
        codec = SampleCodec(self.eval_transform, self.tokenizer, config.seed, draft_side)
        results = evaluate(
            self.model, codec, expand_shards(config.val_data), self.env.device,
            config.eval_batch_size, config.workers,
        )  # fmt: skip
        results["step"] = self.step
        (self.out / "eval.json").write_text(json.dumps(results, indent=2) + "\n")
        return results


def train(config: TrainConfig) -> dict[str, Any]:
    env = init_distributed(config.device)
    try:
        return Trainer(config, env).run()
    finally:
        if env.world_size > 1 and dist.is_initialized():
            dist.destroy_process_group()
