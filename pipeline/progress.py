"""Live progress of a local run, one line per stage: items done, rate, errors, time left.

FnApiRunner reports metrics only when the pipeline ends, so the workers report through
small counter files instead: every DoFn instance that counts (`CountInto`) owns one file
in a folder on local disk, `STAGE.WHAT.ID`, and replaces it atomically with its running
total at most every `FLUSH_SECONDS` and at the end of each bundle. The driver
(`StageProgress`) polls the folder, sums the files and draws a `tqdm` bar. The total comes
from a `STAGE.total` file: the rows of the upstream folder, or, for extract, the units
the input listing found (written by the pipeline once the listing is complete).

Counts are a display, not the ledger: a retried bundle may count twice. Remote runners
(Dataflow) have no shared disk with the driver and show no bar; their console shows it.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from typing import Any

import apache_beam as beam
import pyarrow as pa
from tqdm import tqdm

FLUSH_SECONDS = 0.5
DONE, ERRORS, TOTAL = "done", "errors", "total"


def rows_in(element: Any) -> int:
    """Rows an element stands for: a batch or table counts its rows, anything else one."""
    return len(element) if isinstance(element, pa.Table | pa.RecordBatch) else 1


def _write_atomically(path: str, text: str) -> None:
    part = f"{path}.part"
    with open(part, "w") as handle:
        handle.write(text)
    os.replace(part, path)  # readers see the old total or the new one, never half a file


def write_total(folder: str, stage: str, total: int) -> None:
    _write_atomically(os.path.join(folder, f"{stage}.{TOTAL}"), str(int(total)))


class CountInto(beam.DoFn):
    """Counts the rows of a PCollection into this instance's counter file; emits nothing."""

    def __init__(self, folder: str, stage: str, what: str) -> None:
        self.folder = folder
        self.stage = stage
        self.what = what
        self.path = ""
        self.count = 0
        self.flushed_at = 0.0

    def setup(self) -> None:
        name = f"{self.stage}.{self.what}.{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.path = os.path.join(self.folder, name)
        self.count = 0

    def _flush(self) -> None:
        _write_atomically(self.path, str(self.count))
        self.flushed_at = time.monotonic()

    def process(self, element: Any):
        self.count += rows_in(element)
        if time.monotonic() - self.flushed_at >= FLUSH_SECONDS:
            self._flush()
        return []

    def finish_bundle(self) -> None:
        self._flush()


def read_counts(folder: str, stage: str) -> dict[str, int]:
    """`done`, `errors` (summed over every counter file) and `total` (-1: not known yet)."""
    counts = {DONE: 0, ERRORS: 0, TOTAL: -1}
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return counts
    for name in names:
        parts = name.split(".")
        if parts[0] != stage or name.endswith(".part") or len(parts) < 2:
            continue
        try:
            with open(os.path.join(folder, name)) as handle:
                value = int(handle.read().strip() or 0)
        except (OSError, ValueError):
            continue  # replaced between listing and reading: the next poll sees it
        if parts[1] == TOTAL:
            counts[TOTAL] = value
        elif parts[1] in (DONE, ERRORS):
            counts[parts[1]] += value
    return counts


class StageProgress:
    """A tqdm line for one stage, fed by polling the counter files while the stage runs."""

    def __init__(self, folder: str, stage: str, enabled: bool = True, every: float = 0.5):
        self.folder = folder
        self.stage = stage
        self.enabled = enabled
        self.every = every
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._bar: tqdm | None = None

    def __enter__(self) -> StageProgress:
        if self.enabled:
            self._bar = tqdm(desc=f"{self.stage:>8}", unit="item", dynamic_ncols=True)
            self._thread = threading.Thread(target=self._poll, daemon=True)
            self._thread.start()
        return self

    def _update(self) -> None:
        counts = read_counts(self.folder, self.stage)
        bar = self._bar
        if bar is None:
            return
        if counts[TOTAL] >= 0 and bar.total != counts[TOTAL]:
            bar.total = counts[TOTAL]
        bar.set_postfix(errors=counts[ERRORS], refresh=False)
        if counts[DONE] > bar.n:
            bar.update(counts[DONE] - bar.n)  # update() keeps tqdm's rate and ETA
        else:
            bar.refresh()

    def _poll(self) -> None:
        while not self._stop.wait(self.every):
            self._update()

    def __exit__(self, *exc: object) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._update()
        if self._bar is not None:
            self._bar.close()
