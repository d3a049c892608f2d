"""`all --no-intermediate` keeps only the records of deduped and export, with every stage's
ledger, errors, dropped rows and extra tables; it gives the same export as a full run, and
resume still works."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from starlette.testclient import TestClient

from demo.writer import generate
from explorer.app import create_app
from pipeline.cli import build_parser, main
from pipeline.prune import PRUNED_FILE
from pipeline.runner import run
from pipeline.stages import STAGES

PRUNED = ("figures", "panels", "tagged", "balanced")
KEPT = ("deduped", "export")


def rows(folder: Path, pattern: str) -> list[dict]:
    found = []
    for path in sorted(folder.glob(pattern)):
        found.extend(pq.read_table(path).to_pylist())
    return sorted(found, key=lambda r: json.dumps(r, sort_keys=True, default=repr))


def chain(corpus: Path, out: Path, *extra: str) -> int:
    args = ["all", "--input", str(corpus), "--output", str(out), "--quiet"]
    return main([*args, "--t", "3", "--embed", "none", "--direct_num_workers=2", *extra])


@pytest.mark.beam
def test_no_intermediate_keeps_deduped_and_export_and_every_ledger(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    generate(corpus, seed=3, count=4)
    full, lean = tmp_path / "full", tmp_path / "lean"
    assert chain(corpus, full) == 0
    assert chain(corpus, lean, "--no-intermediate") == 0

    for name in PRUNED:
        folder, whole = lean / name, full / name
        assert not list(folder.glob("data-*.parquet"))
        pruned = json.loads((folder / PRUNED_FILE).read_text())
        stats = json.loads((folder / "stats.json").read_text())
        assert pruned["rows"] == stats["out"] == len(rows(whole, "data-*.parquet"))
        assert stats["ledger_ok"] is True
        for table in ("dropped", "errors"):
            assert rows(folder, f"{table}-*.parquet") == rows(whole, f"{table}-*.parquet")
    assert rows(lean / "balanced", "entry_counts-*.parquet") == rows(
        full / "balanced", "entry_counts-*.parquet"
    )
    for name, pattern in (("deduped", "data-*.parquet"), ("export", "parquet/*.parquet")):
        assert not (lean / name / PRUNED_FILE).exists()
        kept = rows(lean / name, pattern)
        assert kept and kept == rows(full / name, pattern)  # record for record
    assert rows(lean / "deduped", "duplicates-*.parquet") == rows(
        full / "deduped", "duplicates-*.parquet"
    )

    # the explorer says what the run kept
    client = TestClient(create_app(str(lean)))
    page = client.get("/", params={"stage": "tagged"}).text
    assert 'id="pruned"' in page and "--no-intermediate" in page
    assert 'id="pruned"' not in client.get("/", params={"stage": "deduped"}).text

    # resume: a changed export option reruns export alone, from the kept deduped records
    assert chain(corpus, lean, "--no-intermediate", "--split-seed", "1") == 0
    stages = json.loads((lean / "run.json").read_text())["stages"]
    assert [n for n, s in stages.items() if s["units_run"]] == ["export"]


@pytest.mark.beam
def test_a_stage_whose_input_was_pruned_reruns_the_stage_before_it(tmp_path: Path) -> None:
    corpus, out = tmp_path / "corpus", tmp_path / "out"
    generate(corpus, seed=4, count=2)
    specs = [STAGES["extract"], STAGES["segment"], STAGES["tag"]]
    argv = ["all", "--input", str(corpus), "--output", str(out), "--quiet", "--no-intermediate"]
    run(specs, build_parser().parse_args(argv), [], chain=True)
    assert (out / "figures" / PRUNED_FILE).exists() and (out / "panels" / PRUNED_FILE).exists()
    # tag must run again and its input (panels) was pruned: segment reruns, and so extract
    run(specs, build_parser().parse_args([*argv, "--min-panel-side", "40"]), [], chain=True)
    stages = json.loads((out / "run.json").read_text())["stages"]
    assert [s["units_reused"] for s in stages.values()] == [0, 0, 0]
    assert [s["units_run"] > 0 for s in stages.values()] == [True, True, True]
    assert json.loads((out / "tagged" / "stats.json").read_text())["ledger_ok"] is True
    # a rerun that finds it all done reuses everything, pruned folders included
    run(specs, build_parser().parse_args([*argv, "--min-panel-side", "40"]), [], chain=True)
    stages = json.loads((out / "run.json").read_text())["stages"]
    assert all(s["units_run"] == 0 and s["units_reused"] > 0 for s in stages.values())


def test_no_intermediate_is_for_the_whole_chain(tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit):
        main(
            ["tag", "--input", str(tmp_path), "--output", str(tmp_path / "t"), "--no-intermediate"]
        )
    assert "--no-intermediate is for `all`" in capsys.readouterr().err
