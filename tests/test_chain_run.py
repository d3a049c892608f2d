"""A chain commits each stage as it completes; OUT/run.json says what ran and what was
reused; what a killed run leaves behind is cleaned by the next run of that output."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from apache_beam.internal.cloudpickle import cloudpickle
from test_pipeline_extract import make_corpus

from pipeline.cli import build_parser, main
from pipeline.folders import stale_folders
from pipeline.resume import RUN_FILE
from pipeline.runner import run
from pipeline.stage_spec import ShardOutput, StageSpec, data_shard_path, record_key
from pipeline.stages import STAGES
from schemas import PANEL_SCHEMA
from transforms.shards import ParquetShardWriter

ROOT = Path(__file__).resolve().parents[1]
# Beam's workers cannot import a test module: the failing stage travels pickled by value
cloudpickle.register_pickle_by_value(sys.modules[__name__])


def cannot_start(config: object):
    raise RuntimeError("injected failure: this stage cannot load what it needs")


FAILING = StageSpec(
    name="failing",
    output_kind="balanced",
    input_kind="panels",
    add_arguments=lambda parser: None,
    make_config=lambda args: None,
    make_fn=cannot_start,
    unit_key=record_key,
)


def chain_record(out: Path) -> dict:
    return json.loads((out / RUN_FILE).read_text())


@pytest.mark.beam
def test_a_failed_chain_keeps_its_completed_stages_and_run_json_says_what_ran(
    tmp_path: Path,
) -> None:
    corpus, out = tmp_path / "corpus", tmp_path / "out"
    make_corpus(corpus)
    argv = ["all", "--input", str(corpus), "--output", str(out), "--quiet"]
    specs = [STAGES["extract"], STAGES["segment"], FAILING]
    with pytest.raises(Exception, match="injected failure"):
        run(specs, build_parser().parse_args(argv), ["--direct_num_workers=2"], chain=True)
    # the stages before the failure are committed, each with its resume record
    for kind in ("figures", "panels"):
        assert json.loads((out / kind / "stats.json").read_text())["ledger_ok"] is True
        assert (out / kind / RUN_FILE).exists()
    assert sorted(p.name for p in out.iterdir()) == ["figures", "panels", RUN_FILE]
    failed = chain_record(out)
    assert failed["complete"] is False and failed["failed_stage"] == "failing"
    assert failed["stages"]["extract"]["units_run"] == 6
    assert failed["stages"]["segment"]["units_reused"] == 0

    # the real chain resumes after them: extract and segment are reused, tag runs
    assert main(argv) == 0
    resumed = chain_record(out)["stages"]
    assert resumed["extract"]["units_reused"] == 6 and resumed["extract"]["units_run"] == 0
    panels_in = resumed["segment"]["ledger"]["in"]
    assert panels_in == 3 and resumed["segment"]["units_reused"] == panels_in
    tag = resumed["tag"]
    assert tag["units_reused"] == 0 and tag["units_run"] == resumed["segment"]["ledger"]["out"]
    # the time is recorded, never judged here (speed belongs in benchmarks/)
    assert tag["ledger"]["ledger_ok"] is True and isinstance(tag["seconds"], float)
    assert chain_record(out)["complete"] is True

    (out / RUN_FILE).unlink()
    assert main(argv) == 0  # everything up to date: run.json is written all the same
    again = chain_record(out)
    assert again["complete"] is True
    assert {name: s["units_run"] for name, s in again["stages"].items()} == {
        name: 0 for name in STAGES
    }
    assert again["stages"]["tag"]["units_reused"] == tag["units_run"]
    assert again["stages"]["tag"]["ledger"] == tag["ledger"]


@pytest.mark.beam
def test_the_tmp_folder_a_killed_run_leaves_is_cleaned_by_the_next_run(tmp_path: Path) -> None:
    corpus, out = tmp_path / "corpus", tmp_path / "figures"
    make_corpus(corpus)
    mine = tmp_path / "figures.tmp-keep"  # a name we do not make: never touched
    mine.mkdir()
    argv = ["extract", "--input", str(corpus), "--output", str(out), "--quiet"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(
        [sys.executable, "-m", "pipeline", *argv],
        cwd=ROOT,
        env=env,
        start_new_session=True,  # its Beam workers too are in its process group
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 240
        while not list(tmp_path.glob("figures.tmp-????????")):
            assert child.poll() is None, "the run ended before it wrote anything"
            assert time.monotonic() < deadline, "no .tmp- folder appeared"
            time.sleep(0.05)
    finally:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
    left = list(tmp_path.glob("figures.tmp-????????"))
    assert left and not out.exists()

    assert main(argv) == 0
    assert not any(p.exists() for p in left)
    assert mine.is_dir()
    assert json.loads((out / "stats.json").read_text())["ledger_ok"] is True


def test_only_our_work_folders_older_than_the_run_are_stale(tmp_path: Path) -> None:
    out = tmp_path / "figures"
    names = [
        "figures.tmp-0123abcd",
        "figures.old-89abcdef",
        "figures.tmp-0123abcd0",  # not our naming
        "figures.tmp-ABCDEF01",
        "figures.backup",
        "figuresX.tmp-0123abcd",
        "panels.tmp-0123abcd",
    ]
    for name in names:
        (tmp_path / name / "sub").mkdir(parents=True)
        (tmp_path / name / "sub" / "data.parquet").write_bytes(b"x")
    (tmp_path / "figures.tmp-fedcba98").write_bytes(b"a file, not a folder")
    now = time.time()
    assert stale_folders(str(out), started=now - 3600) == []  # written after the run began
    expected = [str(tmp_path / "figures.old-89abcdef"), str(tmp_path / "figures.tmp-0123abcd")]
    assert stale_folders(str(out), started=now + 5) == expected
    # a file written inside it after the run began keeps a folder alive
    os.utime(tmp_path / "figures.tmp-0123abcd", (now - 100, now - 100))
    assert stale_folders(str(out), started=now - 50) == []


class OneRowShortWriter(ParquetShardWriter):
    """Loses a row of every shard it writes: a stage whose output does not add up."""

    def write(self, table, handle) -> int:
        return super().write(table.slice(0, max(0, table.num_rows - 1)), handle)


class FirstAttemptShortWriter(ParquetShardWriter):
    """Loses a row of the shards written before `marker` exists, then creates it: rows lost
    by the first attempt only, as the local runner rarely loses them."""

    def __init__(self, schema, marker: str) -> None:
        super().__init__(schema)
        self.marker = marker

    def write(self, table, handle) -> int:
        if os.path.exists(self.marker):
            return super().write(table, handle)
        Path(self.marker).touch()
        return super().write(table.slice(0, max(0, table.num_rows - 1)), handle)


LOSSY_SEGMENT = dataclasses.replace(
    STAGES["segment"],
    outputs=lambda config: [
        ShardOutput(OneRowShortWriter(PANEL_SCHEMA), data_shard_path, "data-*.parquet")
    ],
)


@pytest.mark.beam
def test_a_chain_stops_at_a_stage_whose_ledger_does_not_add_up(tmp_path: Path) -> None:
    corpus, out = tmp_path / "corpus", tmp_path / "out"
    make_corpus(corpus)
    argv = ["all", "--input", str(corpus), "--output", str(out), "--quiet"]
    specs = [STAGES["extract"], LOSSY_SEGMENT, STAGES["tag"]]
    stats = run(specs, build_parser().parse_args(argv), ["--direct_num_workers=2"], chain=True)
    assert stats["segment"]["ledger_ok"] is False and "tag" not in stats
    assert not (out / "tagged").exists()
    record = chain_record(out)
    assert record["complete"] is False and record["failed_stage"] == "segment"
    # the folder stays for a look; a rerun does not take it as complete
    assert (out / "panels" / "stats.json").exists()
    assert main(argv) == 0  # the real segment this time: it runs again, and tag after it
    assert chain_record(out)["stages"]["segment"]["units_run"] > 0
    assert json.loads((out / "tagged" / "stats.json").read_text())["ledger_ok"] is True


@pytest.mark.beam
def test_a_stage_whose_ledger_does_not_add_up_is_run_again(tmp_path: Path) -> None:
    corpus, out = tmp_path / "corpus", tmp_path / "out"
    make_corpus(corpus)
    marker = str(tmp_path / "first-attempt-done")
    flaky = dataclasses.replace(
        STAGES["segment"],
        outputs=lambda config: [
            ShardOutput(
                FirstAttemptShortWriter(PANEL_SCHEMA, marker), data_shard_path, "data-*.parquet"
            )
        ],
    )
    argv = ["all", "--input", str(corpus), "--output", str(out), "--quiet"]
    stats = run([STAGES["extract"], flaky], build_parser().parse_args(argv), [], chain=True)
    assert os.path.exists(marker)  # the first attempt did lose a row
    assert stats["segment"]["ledger_ok"] is True
    record = chain_record(out)
    assert record["complete"] is True
    assert record["stages"]["segment"]["attempts"] == 2
    assert record["stages"]["extract"]["attempts"] == 1
    assert not list(tmp_path.glob("out/panels.tmp-*"))  # the lossy attempt's folder is gone
    # with no retries allowed the loss stands, and the chain says so
    os.remove(marker)
    argv += ["--force", "--ledger-retries", "0"]
    stats = run([STAGES["extract"], flaky], build_parser().parse_args(argv), [], chain=True)
    assert stats["segment"]["ledger_ok"] is False
    assert chain_record(out)["stages"]["segment"]["attempts"] == 1
