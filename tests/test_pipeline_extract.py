"""End-to-end: the real Beam FnApiRunner writes the stage folder of the contract."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from hostile import BILLION_LAUGHS, article_xml, bomb_png, png_bytes, targz, write

from pipeline.cli import main

pytestmark = pytest.mark.beam


def make_corpus(root: Path) -> None:
    write(root / "PMC10" / "PMC10.nxml", article_xml("PMC10", ["f1", "f2.png", "bomb.png"]))
    write(root / "PMC10" / "f1.jpg", png_bytes(64, 48))  # a PNG named .jpg, href without extension
    write(root / "PMC10" / "f2.png", png_bytes(30, 20))
    write(root / "PMC10" / "bomb.png", bomb_png())
    package = {"PMC11/PMC11.nxml": article_xml("PMC11", ["a.png"]), "PMC11/a.png": png_bytes()}
    write(root / "legacy" / "PMC11.tar.gz", targz(package))
    write(root / "legacy" / "evil.tar.gz", targz({"../x": b"1", "PMC12/PMC12.nxml": b"<article/>"}))
    write(root / "loose" / "lol.xml", BILLION_LAUGHS)
    write(root / "loose" / "notice.xml", article_xml("PMC13", ["z.png"], "retraction"))
    write(root / "loose" / "zero.nxml", b"")


def read_rows(folder: Path, prefix: str) -> list[dict]:
    rows = []
    for path in sorted(folder.glob(f"{prefix}-*.parquet")):
        rows.extend(pq.read_table(path).to_pylist())
    return rows


def test_extract_stage_folder_and_rerun(tmp_path: Path) -> None:
    corpus, out = tmp_path / "corpus", tmp_path / "out" / "figures"
    make_corpus(corpus)
    assert main(["extract", "--input", str(corpus), "--output", str(out), "--quiet"]) == 0
    stats = json.loads((out / "stats.json").read_text())
    assert stats["ledger_ok"] is True
    assert stats["in"] == 6
    assert stats["errors"] == {"tar_unsafe_member": 1, "xml_entity_declaration": 1, "xml_empty": 1}
    assert stats["in_empty_reasons"] == {"notice:retraction": 1}
    assert stats["dropped"] == {"image_too_large": 1}
    assert stats["out"] == 3
    shards = sorted(p.name for p in out.glob("data-*.parquet"))
    assert shards == ["data-00000-of-00001.parquet"]
    records = read_rows(out, "data")
    assert [r["key"] for r in records] == ["PMC10/F1", "PMC10/F2", "PMC11/F1"]
    assert records[0]["image"]["bytes"][:4] == b"\x89PNG" and records[0]["width"] == 64
    errors = read_rows(out, "errors")
    assert {e["error_type"] for e in errors} == set(stats["errors"])
    assert all(e["stage"] == "extract" and e["source_uri"] for e in errors)
    assert [d["reason"] for d in read_rows(out, "dropped")] == ["image_too_large"]

    # a rerun replaces the folder whole; a stray file from before is gone
    (out / "stray.txt").write_text("old")
    args = ["extract", "--input", str(corpus / "PMC10"), "--output", str(out), "--quiet"]
    assert main([*args, "--records-per-shard", "1"]) == 0
    assert not (out / "stray.txt").exists()
    assert sorted(p.name for p in out.glob("data-*.parquet")) == [
        "data-00000-of-00002.parquet",
        "data-00001-of-00002.parquet",
    ]
    assert sorted(r["key"] for r in read_rows(out, "data")) == ["PMC10/F1", "PMC10/F2"]
    assert not list(out.parent.glob("figures.tmp-*"))
