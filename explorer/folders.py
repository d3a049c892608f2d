"""The stage folders of a run's output, listed through fsspec (local, gs://, s3://, memory://).

Nothing here writes: the explorer only lists and opens files under OUT.
"""

from __future__ import annotations

import json
import posixpath
from dataclasses import dataclass
from typing import Any

import fsspec

# chain order; export keeps its records under parquet/ and has no data-*
STAGE_ORDER = ("figures", "panels", "tagged", "balanced", "deduped", "export")
DATA_GLOBS = {name: "data-*.parquet" for name in STAGE_ORDER} | {"export": "parquet/*.parquet"}


@dataclass(frozen=True)
class StageFolder:
    name: str
    path: str  # the folder, as fsspec names it (a protocol prefix for remote ones)
    data_files: tuple[str, ...]  # sorted; a shard's index here is its id in image URLs


class OutFolder:
    """A run's output folder: which stage folders it has, their shards and JSON files."""

    def __init__(self, root: str) -> None:
        self.fs, _, paths = fsspec.get_fs_token_paths(root)
        self.protocol = _protocol(self.fs)
        self.root = paths[0].rstrip("/")
        if not self.fs.isdir(self.root):
            raise FileNotFoundError(f"no such output folder: {root}")
        self._listing: dict[str, list[str]] = {}
        self.stages: dict[str, StageFolder] = {}
        for name in STAGE_ORDER:
            folder = f"{self.root}/{name}"
            if self.fs.isdir(folder):
                data = tuple(self.glob(folder, DATA_GLOBS[name]))
                self.stages[name] = StageFolder(name, folder, data)

    def url(self, path: str) -> str:
        """The path as DuckDB reads it: plain for local files, protocol-prefixed otherwise."""
        return path if self.protocol == "file" else f"{self.protocol}://{path}"

    def glob(self, folder: str, pattern: str) -> list[str]:
        key = f"{folder}/{pattern}"
        if key not in self._listing:
            self._listing[key] = sorted(self.fs.glob(key))
        return self._listing[key]

    def table_files(self, stage: str, table: str) -> list[str]:
        """The shards of a table beside `data-*` (errors, dropped, duplicates, entry_counts)."""
        folder = self.stages[stage].path
        return [self.url(p) for p in self.glob(folder, f"{table}-*.parquet")]

    def data_urls(self, stage: str) -> list[str]:
        return [self.url(p) for p in self.stages[stage].data_files]

    def read_json(self, stage: str, name: str) -> dict[str, Any] | None:
        path = f"{self.stages[stage].path}/{name}"
        if not self.fs.isfile(path):
            return None
        with self.fs.open(path, "rb") as handle:
            return json.load(handle)

    def upstream(self, stage: str) -> str | None:
        """The folder before `stage` in the chain that this run has (where its drops live)."""
        before = [s for s in STAGE_ORDER[: STAGE_ORDER.index(stage)] if s in self.stages]
        return before[-1] if before else None

    def later(self, stage: str) -> list[str]:
        return [s for s in STAGE_ORDER[STAGE_ORDER.index(stage) + 1 :] if s in self.stages]

    def file_under_root(self, relative: str) -> str | None:
        """The file at `relative` under OUT, or None when it is not a file there: `..`,
        absolute paths and symlinks that lead out of OUT all give None."""
        parts = relative.replace("\\", "/").split("/")
        if not relative or any(p in ("", ".", "..") for p in parts) or ":" in relative:
            return None
        path = posixpath.join(self.root, *parts)
        if self.protocol == "file":
            import os

            real_root = os.path.realpath(self.root)
            real = os.path.realpath(path)
            if os.path.commonpath([real_root, real]) != real_root or not os.path.isfile(real):
                return None
            return real
        return path if self.fs.isfile(path) else None


def _protocol(fs: fsspec.AbstractFileSystem) -> str:
    protocol = fs.protocol
    return protocol if isinstance(protocol, str) else protocol[0]
