"""End-to-end: PDFs through the real extract stage (Beam FnApiRunner, child processes)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipeline.cli import main

pytestmark = [pytest.mark.beam, pytest.mark.realdata]


def rows(folder: Path, prefix: str) -> list[dict]:
    return [
        r for p in sorted(folder.glob(f"{prefix}-*.parquet")) for r in pq.read_table(p).to_pylist()
    ]


def test_pdfs_through_the_extract_stage(testdata: Path, tmp_path: Path) -> None:
    corpus, out = tmp_path / "corpus", tmp_path / "out" / "figures"
    corpus.mkdir()
    for name in ("pdffigures2_banko_oie.pdf", "CERMINE_test1.pdf", "CERMINE_timeout_simple.pdf"):
        # a copy: links out of the input root are refused (link_outside_root)
        (corpus / name).write_bytes((testdata / "pdf" / name).read_bytes())
    data = (testdata / "pdf" / "CERMINE_example1.pdf").read_bytes()
    (corpus / "truncated.pdf").write_bytes(data[: len(data) // 3])
    args = ["extract", "--input", str(corpus), "--output", str(out), "--pdf-dpi", "100"]
    assert main([*args, "--pdf-timeout", "60", "--quiet"]) == 0
    stats = json.loads((out / "stats.json").read_text())
    assert stats["ledger_ok"] is True and stats["in"] == 4
    assert stats["errors"] == {"pdf_no_text_layer": 1, "pdf_truncated": 1}
    assert stats["in_empty_reasons"] == {"no_figures": 1}
    [record] = rows(out, "data")
    assert record["key"] == "pdffigures2_banko_oie/F1"
    assert record["source_kind"] == "pdf" and record["label"] == "Figure 1"
    assert record["caption"].startswith("Overview of the tuples extracted")
    assert record["width"] == pytest.approx((216 + 4) * 100 / 72, abs=3)  # region + padding
    errors = {e["error_type"]: e for e in rows(out, "errors")}
    assert errors["pdf_truncated"]["source_uri"].endswith("truncated.pdf")
