"""Progress: workers count into small files as they go; the driver sums them into a bar."""

from __future__ import annotations

import os
from pathlib import Path

import apache_beam as beam
import pyarrow as pa
import pytest
from apache_beam.options.pipeline_options import PipelineOptions

from pipeline.cli import build_parser
from pipeline.progress import CountInto, StageProgress, read_counts, write_total
from pipeline.runner import shows_progress


def counter_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_counter_files_report_mid_bundle_and_sum_over_workers(tmp_path: Path) -> None:
    first, second = CountInto(str(tmp_path), "tag", "done"), CountInto(str(tmp_path), "tag", "done")
    first.setup()
    second.setup()
    first.process({"key": "a"})  # the first element is on disk before its bundle ends
    assert read_counts(str(tmp_path), "tag") == {"done": 1, "errors": 0, "total": -1}
    for _ in range(4):
        first.process({"key": "b"})
    second.process(pa.table({"key": ["c", "d", "e"]}))  # a batch counts its rows
    first.finish_bundle()
    second.finish_bundle()
    errors = CountInto(str(tmp_path), "tag", "errors")
    errors.setup()
    errors.process({"error_type": "x"})
    errors.finish_bundle()
    write_total(str(tmp_path), "tag", 10)
    assert read_counts(str(tmp_path), "tag") == {"done": 8, "errors": 1, "total": 10}
    # another stage's files, and a half-written one, are not counted
    assert read_counts(str(tmp_path), "segment") == {"done": 0, "errors": 0, "total": -1}
    (tmp_path / "tag.done.999-deadbeef.part").write_text("12")
    assert read_counts(str(tmp_path), "tag")["done"] == 8
    assert all(name.startswith("tag.") for name in counter_files(tmp_path))


@pytest.mark.beam
def test_worker_processes_count_every_element(tmp_path: Path) -> None:
    batches = [pa.table({"key": [f"k{i}-{j}" for j in range(i + 1)]}) for i in range(20)]
    options = PipelineOptions(
        ["--runner=FnApiRunner", "--direct_running_mode=multi_processing"]
        + ["--direct_num_workers=2"]
    )
    with beam.Pipeline(options=options) as pipeline:
        made = pipeline | beam.Create(batches) | beam.Reshuffle()
        made | beam.ParDo(CountInto(str(tmp_path), "extract", "done"))
    assert read_counts(str(tmp_path), "extract")["done"] == sum(range(1, 21))
    pids = {name.split(".")[2].split("-")[0] for name in counter_files(tmp_path)}
    assert str(os.getpid()) not in pids  # written by the worker processes, not the driver


def test_the_bar_shows_items_errors_and_the_total(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with StageProgress(str(tmp_path), "segment", every=0.05):
        write_total(str(tmp_path), "segment", 4)
        counter = CountInto(str(tmp_path), "segment", "done")
        counter.setup()
        for i in range(3):
            counter.process({"key": str(i)})
        counter.finish_bundle()
    line = capsys.readouterr().err.strip().split("\r")[-1]
    assert "segment" in line and "3/4" in line and "errors=0" in line

    with StageProgress(str(tmp_path), "segment", enabled=False):
        pass
    assert capsys.readouterr().err == ""


def test_quiet_and_remote_runners_show_no_bar() -> None:
    args = build_parser().parse_args(["tag", "--input", "i", "--output", "o"])
    assert shows_progress(args, ["--runner=FnApiRunner"])
    assert not shows_progress(args, ["--runner=DataflowRunner"])
    quiet = build_parser().parse_args(["tag", "--input", "i", "--output", "o", "--quiet"])
    assert not shows_progress(quiet, ["--runner=FnApiRunner"])
