"""The contrastive loss, optimizer, schedule and one optimizer step (with accumulation)."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from typing import Any

import torch
from open_clip.loss import ClipLoss
from torch.nn.parallel import DistributedDataParallel

MAX_LOGIT_SCALE = math.log(100.0)  # CLIP's cap on the learnable temperature


def contrastive_loss(rank: int = 0, world_size: int = 1) -> ClipLoss:
    """Symmetric InfoNCE over the global batch: features are gathered from every rank
    with their gradients, so each rank's loss is the full-batch loss."""
    return ClipLoss(
        local_loss=False,
        gather_with_grad=True,
        cache_labels=True,
        rank=rank,
        world_size=world_size,
    )


def build_optimizer(model: torch.nn.Module, lr: float, weight_decay: float) -> torch.optim.AdamW:
    """AdamW; gains, biases and the temperature get no weight decay (as in CLIP)."""
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        exempt = param.ndim < 2 or "logit_scale" in name
        (no_decay if exempt else decay).append(param)
    groups = [
        {"params": no_decay, "weight_decay": 0.0},
        {"params": decay, "weight_decay": weight_decay},
    ]
    return torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.98), eps=1e-6, fused=True)


def cosine_with_warmup(
    optimizer: torch.optim.Optimizer, warmup_steps: int, total_steps: int
) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up to the base rate over `warmup_steps`, then cosine decay to 0."""

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        span = max(1, total_steps - warmup_steps)
        progress = min(1.0, (step - warmup_steps) / span)
        return 0.5 * (1.0 + math.cos(math.pi * progress))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    return model.module if isinstance(model, DistributedDataParallel) else model


def autocast_for(device: torch.device, precision: str) -> Callable[[], Any]:
    """A context factory: bf16 autocast where asked and supported, else a no-op."""
    if precision == "auto":
        use_bf16 = device.type == "cuda" and torch.cuda.is_bf16_supported()
    else:
        use_bf16 = precision == "bf16"
    if not use_bf16:
        return contextlib.nullcontext
    return lambda: torch.autocast(device_type=device.type, dtype=torch.bfloat16)


def _features(model: torch.nn.Module, batch: dict[str, Any], device: torch.device) -> tuple:
    images = batch["image"].to(device, non_blocking=True)
    texts = batch["text"].to(device, non_blocking=True)
    image_features, text_features, logit_scale = model(images, texts)[:3]
    return image_features, text_features, logit_scale


def train_step(
    model: torch.nn.Module,
    loss_fn: ClipLoss,
    micro_batches: list[dict[str, Any]],
    optimizer: torch.optim.Optimizer,
    device: torch.device,
    autocast: Callable[[], Any] = contextlib.nullcontext,
) -> float:
    """One optimizer step over `micro_batches`; returns the loss of the whole step.

    With several micro-batches the negatives still span all of them (open_clip's
    accumulation): features of every micro-batch are computed once without gradients,
    then each micro-batch is recomputed with gradients and scored against the cached
    rest. The summed gradients equal those of one big batch.
    """
    optimizer.zero_grad(set_to_none=True)
    if len(micro_batches) == 1:
        with autocast():
            image_features, text_features, logit_scale = _features(model, micro_batches[0], device)
            loss = loss_fn(image_features, text_features, logit_scale)
        loss.backward()
    else:
        with torch.no_grad(), autocast():
            cached = [_features(model, batch, device)[:2] for batch in micro_batches]
        last = len(micro_batches) - 1
        for index, batch in enumerate(micro_batches):
            sync_later = isinstance(model, DistributedDataParallel) and index < last
            with model.no_sync() if sync_later else contextlib.nullcontext(), autocast():
                image_features, text_features, logit_scale = _features(model, batch, device)
                images = [f[0] for f in cached[:index]] + [image_features]
                images += [f[0] for f in cached[index + 1 :]]
                texts = [f[1] for f in cached[:index]] + [text_features]
                texts += [f[1] for f in cached[index + 1 :]]
                # the temperature's gradient is whole in every pass: take it from one only
                scale = logit_scale if index == last else logit_scale.detach()
                loss = loss_fn(torch.cat(images), torch.cat(texts), scale)
                loss.backward()
    optimizer.step()
    with torch.no_grad():
        unwrap(model).logit_scale.clamp_(0, MAX_LOGIT_SCALE)
    return float(loss.detach())
