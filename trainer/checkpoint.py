"""Checkpoints: written atomically, found again by step, loadable by open_clip itself.

A checkpoint is one `torch.save`d dict of plain types. `state_dict` holds the model's
weights under the name open_clip's `load_checkpoint` looks for, so
`open_clip.create_model_and_transforms(ARCH, pretrained=PATH)` loads it; the rest
(optimizer, schedule, step, data position, the model spec) is for resuming.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import torch

CHECKPOINT_NAME = re.compile(r"^step-(\d{8})\.pt$")


def checkpoint_path(folder: Path, step: int) -> Path:
    return folder / f"step-{step:08d}.pt"


def save_atomically(payload: dict[str, Any], path: Path) -> None:
    """Write to a temporary name in the same folder, fsync, then rename over `path`.

    A failed write leaves the previous checkpoint untouched; a run killed mid-write leaves
    at most a stray `.tmp` file, never a truncated checkpoint under a real name.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as handle:
            torch.save(payload, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def list_checkpoints(folder: Path) -> list[tuple[int, Path]]:
    """(step, path) of every complete checkpoint in `folder`, oldest first."""
    if not folder.is_dir():
        return []
    found = []
    for path in folder.iterdir():
        match = CHECKPOINT_NAME.match(path.name)
        if match:
            found.append((int(match.group(1)), path))
    return sorted(found)


def latest_checkpoint(folder: Path) -> Path | None:
    found = list_checkpoints(folder)
    return found[-1][1] if found else None


def prune_checkpoints(folder: Path, keep: int) -> None:
    """Remove all but the newest `keep` checkpoints (keep <= 0 keeps all)."""
    if keep <= 0:
        return
    for _, path in list_checkpoints(folder)[:-keep]:
        path.unlink(missing_ok=True)


def load_checkpoint(path: Path) -> dict[str, Any]:
    payload = torch.load(path, map_location="cpu", weights_only=True)
    for needed in ("state_dict", "optimizer", "scheduler", "step", "data", "model"):
        if needed not in payload:
            raise ValueError(f"{path} is not a resumable trainer checkpoint (no {needed!r})")
    return payload
