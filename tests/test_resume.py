"""Resume: a stage already complete for the same input and options is not run again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_pipeline_extract import make_corpus

from pipeline.cli import main
from pipeline.resume import RUN_FILE

pytestmark = pytest.mark.beam


def _mark(*folders: Path) -> None:
    """A stray file: a rerun replaces the folder whole, so it survives only a skip."""
    for folder in folders:
        (folder / "stray.txt").write_text("from before")


def test_a_complete_stage_is_skipped_until_its_input_options_or_force_change(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus, out = tmp_path / "corpus", tmp_path / "figures"
    make_corpus(corpus)
    args = ["extract", "--input", str(corpus), "--output", str(out), "--quiet"]
    assert main(args) == 0
    record = json.loads((out / RUN_FILE).read_text())
    assert record["stage"] == "extract" and record["input"] == str(corpus)
    _mark(out)
    capsys.readouterr()

    assert main(args) == 0
    assert (out / "stray.txt").exists()
    assert "up to date" in capsys.readouterr().out

    assert main([*args, "--records-per-shard", "1"]) == 0  # other options: runs
    assert not (out / "stray.txt").exists()
    _mark(out)
    assert main([*args, "--records-per-shard", "1", "--force"]) == 0
    assert not (out / "stray.txt").exists()


def test_a_chain_restarts_at_the_first_stage_that_changed(tmp_path: Path) -> None:
    corpus, out = tmp_path / "corpus", tmp_path / "out"
    make_corpus(corpus)
    args = ["all", "--input", str(corpus), "--output", str(out), "--quiet"]
    assert main(args) == 0
    figures, panels, tagged = out / "figures", out / "panels", out / "tagged"
    assert json.loads((panels / RUN_FILE).read_text())["input"] == str(figures)
    _mark(figures, panels, tagged)

    lexicon = Path(__file__).resolve().parents[1] / "metadata" / "data" / "default_lexicon.tsv"
    assert main([*args, "--lexicon", str(lexicon)]) == 0  # only tag's options differ
    assert (figures / "stray.txt").exists() and (panels / "stray.txt").exists()
    assert not (tagged / "stray.txt").exists()
    assert json.loads((tagged / "stats.json").read_text())["ledger_ok"] is True

    (figures / "stats.json").write_text("{}")  # an extract folder that no longer adds up
    assert main(args) == 0
    assert not any((f / "stray.txt").exists() for f in (figures, panels, tagged))


def test_articles_added_to_a_local_corpus_rerun_extract(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from hostile import article_xml, png_bytes, write

    corpus, out = tmp_path / "corpus", tmp_path / "figures"
    make_corpus(corpus)
    args = ["extract", "--input", str(corpus), "--output", str(out), "--quiet"]
    assert main(args) == 0
    listing = json.loads((out / RUN_FILE).read_text())["input_listing"]
    assert listing["files"] == len([p for p in corpus.rglob("*") if p.is_file()])
    assert main(args) == 0 and "up to date" in capsys.readouterr().out

    write(corpus / "PMC30" / "PMC30.nxml", article_xml("PMC30", ["n.png"]))
    write(corpus / "PMC30" / "n.png", png_bytes(44, 33))
    assert main(args) == 0
    assert "up to date" not in capsys.readouterr().out
    stats = json.loads((out / "stats.json").read_text())
    assert stats["ledger_ok"] is True and stats["out"] == 4  # the 3 of before and the new one
    assert (
        json.loads((out / RUN_FILE).read_text())["input_listing"]["files"] == listing["files"] + 2
    )
    assert main(args) == 0 and "up to date" in capsys.readouterr().out
