"""Exceptions injected at seeded-random records inside the stage DoFn, on the real runner
(FnApiRunner, worker processes): none loses a record. The ledger is read back from the
files on disk, never from the run's own counters.

- Raised inside the unit function (any Exception, MemoryError too): the record is an
  error row naming the exception; every other record is processed as without the fault.
- Raised in the DoFn outside the unit function, once (a transient worker fault): the
  bundle fails. Dataflow retries a failed bundle; FnApiRunner does not, so the run fails
  with nothing committed, and the rerun (the resume a chain does) writes every record.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
from dataclasses import replace
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from apache_beam.internal.cloudpickle import cloudpickle
from PIL import Image

from pipeline.cli import build_parser
from pipeline.runner import run
from pipeline.stage_spec import StageSpec, record_key
from pipeline.stages.segment import SEGMENT
from schemas import FIGURE_SCHEMA, new_record
from transforms.segment.segmenter import Segmenter

pytestmark = pytest.mark.beam
# Beam's workers cannot import a test module: the faulty stages travel pickled by value
cloudpickle.register_pickle_by_value(sys.modules[__name__])

FIGURES = 24
FAULTS = [ValueError, KeyError, ZeroDivisionError, RecursionError, MemoryError, OSError]


def chosen(key: str, seed: int, one_in: int) -> bool:
    """A seeded draw per record key: the same in every worker process, unlike `random`."""
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    return digest[0] % one_in == 0


def figure_png(index: int) -> bytes:
    img = Image.new("RGB", (96, 48), "white")
    img.paste((40 * (index % 6), 30, 200), (3, 3, 45, 45))
    if index % 2:  # a second panel: a compound figure
        img.paste((200, 30, 40 * (index % 6)), (51, 3, 93, 45))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def write_figures(folder: Path) -> list[dict]:
    records = [
        new_record(
            FIGURE_SCHEMA,
            key=f"PMC{i}/F1",
            source_uri=f"/corpus/PMC{i}.nxml",
            caption="(A) Left panel. (B) Right panel." if i % 2 else "One panel.",
            image={"bytes": figure_png(i), "path": f"f{i}.png"},
            image_format="png",
            width=96,
            height=48,
            image_status="ok",
        )
        for i in range(FIGURES)
    ]
    folder.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(records, schema=FIGURE_SCHEMA), folder / "data-0.parquet")
    return records


class FaultySegmenter:
    """The real segment unit, raising one of FAULTS for the records the seed picks."""

    def __init__(self, config, seed: int) -> None:
        self.inner = Segmenter(config)
        self.seed = seed

    def __call__(self, record: dict):
        if chosen(record["key"], self.seed, 3):
            fault = FAULTS[int(record["key"][3:].split("/")[0]) % len(FAULTS)]
            raise fault(f"injected into {record['key']}")
        return self.inner(record)


def faulty_segment(seed: int) -> StageSpec:
    return replace(SEGMENT, make_fn=lambda config: FaultySegmenter(config, seed))


def flaky_worker(seed: int, marks: str) -> StageSpec:
    """The real segment stage, whose DoFn fails once, outside the unit function, on the
    first record the seed picks: a marker file makes the fault happen once in all."""

    def unit_key(record: dict) -> tuple[str, str]:
        if chosen(record["key"], seed, 4):
            try:
                os.close(os.open(f"{marks}/fired", os.O_CREAT | os.O_EXCL))
            except FileExistsError:
                pass
            else:
                raise RuntimeError(f"injected worker fault at {record['key']}")
        return record_key(record)

    return replace(SEGMENT, unit_key=unit_key)


def rows(folder: Path, prefix: str) -> list[dict]:
    return [
        r for p in sorted(folder.glob(f"{prefix}-*.parquet")) for r in pq.read_table(p).to_pylist()
    ]


def run_segment(spec: StageSpec, figures: Path, out: Path) -> None:
    argv = ["segment", "--input", str(figures), "--output", str(out), "--quiet"]
    run([spec], build_parser().parse_args(argv), ["--direct_num_workers=2"], chain=False)


def expected_panels(records: list[dict]) -> list[dict]:
    """What the segment unit gives each figure, called directly: the reference."""
    segmenter = Segmenter()
    return sorted((p for r in records for p in segmenter(r).records), key=lambda p: p["key"])


def without_bytes(panels: list[dict]) -> list[tuple]:
    return [(p["key"], p["bbox"], p["image_sha256"], p["subcaption"]) for p in panels]


def test_exceptions_in_the_unit_function_are_error_rows_and_nothing_is_lost(
    tmp_path: Path,
) -> None:
    seed = 3  # picks 10 of the 24 figures, each of the six exception types at least once
    figures, out = tmp_path / "figures", tmp_path / "panels"
    records = write_figures(figures)
    run_segment(faulty_segment(seed), figures, out)

    injected = {r["key"] for r in records if chosen(r["key"], seed, 3)}
    assert 0 < len(injected) < FIGURES
    errors = rows(out, "errors")
    assert sorted(e["key"] for e in errors) == sorted(injected)
    for error in errors:
        fault = FAULTS[int(error["key"][3:].split("/")[0]) % len(FAULTS)]
        expected_type = "out_of_memory" if fault is MemoryError else fault.__name__
        assert error["error_type"] == expected_type and error["stage"] == "segment"
    panels = sorted(rows(out, "data"), key=lambda p: p["key"])
    kept = [r for r in records if r["key"] not in injected]
    assert without_bytes(panels) == without_bytes(expected_panels(kept))
    assert rows(out, "dropped") == []
    stats = json.loads((out / "stats.json").read_text())
    assert stats["ledger_ok"] is True and stats["in"] == FIGURES
    assert sum(stats["errors"].values()) == len(injected)
    assert stats["in_with_output"] + stats["in_empty"] == FIGURES - len(injected)
    assert stats["out"] == len(panels)


def test_a_transient_worker_fault_fails_the_run_and_the_rerun_loses_nothing(
    tmp_path: Path,
) -> None:
    figures, out, marks = tmp_path / "figures", tmp_path / "panels", tmp_path / "marks"
    records = write_figures(figures)
    marks.mkdir()
    spec = flaky_worker(seed=5, marks=str(marks))
    with pytest.raises(Exception, match="injected worker fault"):
        run_segment(spec, figures, out)
    assert (marks / "fired").exists()
    assert not out.exists()  # nothing half-written is committed
    assert not list(tmp_path.glob("panels.tmp-*"))

    run_segment(spec, figures, out)  # the fault has fired: this attempt goes through
    panels = sorted(rows(out, "data"), key=lambda p: p["key"])
    assert without_bytes(panels) == without_bytes(expected_panels(records))
    assert rows(out, "errors") == [] and rows(out, "dropped") == []
    stats = json.loads((out / "stats.json").read_text())
    assert stats["ledger_ok"] is True and stats["in"] == FIGURES and stats["out"] == len(panels)
