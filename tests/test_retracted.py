"""`--retracted-pmcids FILE`: the figures of the articles it names are dropped as `retracted`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_pipeline_extract import make_corpus, read_rows

from pipeline.cli import main
from transforms.extract.retracted import RetractedListError, drop_retracted, parse_pmcids
from transforms.ledger import Drop, Ledger, UnitResult


def test_the_list_takes_pmcids_in_every_usual_spelling() -> None:
    text = "PMC10, pmc7\n# a comment\n\n 123.2\tPMC0045  # trailing comment\nPMC10\n"
    assert parse_pmcids(text) == ("PMC10", "PMC123", "PMC45", "PMC7")
    with pytest.raises(RetractedListError, match=r"line 2: '10.1000/x' is not a PMCID"):
        parse_pmcids("PMC1\n10.1000/x\n", "the list")


def figure(pmcid: str, n: int) -> dict:
    return {"key": f"{pmcid}/F{n}", "pmcid": pmcid, "source_uri": f"/in/{pmcid}.nxml"}


def test_retracted_records_become_drops_and_the_ledger_adds_up() -> None:
    earlier = Drop("PMC1/F9", "image_too_large", "/in/PMC1.nxml")
    result = UnitResult(records=[figure("PMC1", 1), figure("PMC1", 2)], drops=[earlier])
    dropped = drop_retracted(result, frozenset({"PMC1"}), "retracted.txt")
    assert dropped.records == [] and dropped.empty_reason == "retracted"
    assert [(d.key, d.reason) for d in dropped.drops] == [
        ("PMC1/F9", "image_too_large"),
        ("PMC1/F1", "retracted"),
        ("PMC1/F2", "retracted"),
    ]
    assert dropped.drops[1].detail == "PMC1 is listed in retracted.txt"
    ledger = Ledger.of(dropped)
    assert ledger.found == 3 and ledger.out == 0 and ledger.dropped["retracted"] == 2
    assert ledger.empty_reasons == {"retracted": 1}
    other = UnitResult(records=[figure("PMC2", 1)])
    assert drop_retracted(other, frozenset({"PMC1"}), "retracted.txt") is other


@pytest.mark.beam
def test_extract_drops_the_listed_articles(tmp_path: Path) -> None:
    corpus, out = tmp_path / "corpus", tmp_path / "figures"
    make_corpus(corpus)
    listing = tmp_path / "retracted.txt"
    listing.write_text("# Retraction Watch, 2026-11\nPMC10\nPMC999\n")
    argv = ["extract", "--input", str(corpus), "--output", str(out), "--quiet"]
    assert main([*argv, "--retracted-pmcids", str(listing)]) == 0
    stats = json.loads((out / "stats.json").read_text())
    assert stats["ledger_ok"] is True
    assert stats["dropped"] == {"image_too_large": 1, "retracted": 2}
    assert [r["key"] for r in read_rows(out, "data")] == ["PMC11/F1"]
    retracted = [d for d in read_rows(out, "dropped") if d["reason"] == "retracted"]
    assert sorted(d["key"] for d in retracted) == ["PMC10/F1", "PMC10/F2"]
    assert all(d["source_uri"].endswith("PMC10.nxml") for d in retracted)


def test_a_list_that_cannot_be_read_stops_the_run_before_work(tmp_path: Path) -> None:
    bad = tmp_path / "retracted.txt"
    bad.write_text("PMC1\nnot-an-id\n")
    argv = ["extract", "--input", str(tmp_path), "--output", str(tmp_path / "out"), "--quiet"]
    with pytest.raises(SystemExit, match="line 2: 'not-an-id' is not a PMCID"):
        main([*argv, "--retracted-pmcids", str(bad)])
    with pytest.raises(SystemExit, match="--retracted-pmcids"):
        main([*argv, "--retracted-pmcids", str(tmp_path / "missing.txt")])
    assert not (tmp_path / "out").exists()
