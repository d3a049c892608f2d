"""Retraction notices in the input: the article a notice names is dropped, `retracted`,
wherever it is in the same input. The notice is a real PLOS one from ../shared/testdata."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from hostile import article_xml, png_bytes, write

from pipeline.cli import main
from transforms.extract.jats import parse_articles
from transforms.extract.notices import normalise_target, record_ids
from transforms.extract.source_winner import resolve_article

NOTICE = "jats/PLOS_plos.correction.3155a3e9-5fbe-435c-a07a-e9a4846ec0b6.xml"
CORRECTION = "jats/PLOS_journal.pone.0097541.xml"
RETRACTED_DOI = "10.1371/journal.pone.0035142"


def with_doi(pmcid: str, doi: str, hrefs: list[str]) -> bytes:
    xml = article_xml(pmcid, hrefs).decode()
    ids = f'<article-id pub-id-type="pmc">{pmcid}</article-id>'
    return xml.replace(ids, f'{ids}<article-id pub-id-type="doi">{doi}</article-id>').encode()


@pytest.mark.realdata
def test_a_real_retraction_notice_names_the_article_it_retracts(testdata: Path) -> None:
    notice = parse_articles((testdata / NOTICE).read_bytes())[0]
    assert notice.notice == "retraction"
    assert notice.retracts == (f"doi:{RETRACTED_DOI}",)
    # a correction notice names its corrected article: nothing is retracted
    correction = parse_articles((testdata / CORRECTION).read_bytes())[0]
    assert correction.notice == "correction" and correction.retracts == ()


@pytest.mark.parametrize(
    ("href", "link_type", "expected"),
    [
        ("info:doi/10.1371/journal.PONE.0035142", "uri", "doi:10.1371/journal.pone.0035142"),
        ("https://doi.org/10.1000/x.1", "", "doi:10.1000/x.1"),
        ("doi: 10.1000/x.1", "doi", "doi:10.1000/x.1"),
        ("PMC0012345.2", "", "pmcid:PMC12345"),
        ("12345", "pmc", "pmcid:PMC12345"),
        ("22792133", "pubmed", "pmid:22792133"),
        ("22792133", "uri", None),
        ("https://example.org/paper", "uri", None),
        ("", "doi", None),
    ],
)
def test_targets_are_normalised(href: str, link_type: str, expected: str | None) -> None:
    assert normalise_target(href, link_type) == expected


def test_the_regroup_drops_only_the_named_article() -> None:
    records = [
        {"key": "PMC5/F1", "pmcid": "PMC5", "doi": RETRACTED_DOI.upper(), "source_uri": "a"},
        {"key": "PMC5/F2", "pmcid": "PMC5", "doi": RETRACTED_DOI.upper(), "source_uri": "a"},
    ]
    assert f"doi:{RETRACTED_DOI}" in record_ids(records[0])
    result = resolve_article(("PMC5", records), {f"doi:{RETRACTED_DOI}": "PMC3388108"})
    assert result.records == []
    assert [(d.key, d.reason) for d in result.drops] == [
        ("PMC5/F1", "retracted"),
        ("PMC5/F2", "retracted"),
    ]
    assert "PMC3388108" in result.drops[0].detail
    kept = resolve_article(("PMC5", records), {"doi:10.1000/other": "PMC1"})
    assert [r["key"] for r in kept.records] == ["PMC5/F1", "PMC5/F2"] and not kept.drops


@pytest.mark.realdata
@pytest.mark.beam
def test_extract_drops_an_article_retracted_by_a_notice_in_the_input(
    testdata: Path, tmp_path: Path
) -> None:
    corpus = tmp_path / "corpus"
    write(corpus / "notice" / "notice.nxml", (testdata / NOTICE).read_bytes())
    write(corpus / "PMC20" / "PMC20.nxml", with_doi("PMC20", RETRACTED_DOI, ["a.png", "b.png"]))
    write(corpus / "PMC20" / "a.png", png_bytes(40, 30))
    write(corpus / "PMC20" / "b.png", png_bytes(50, 30))
    write(corpus / "PMC21" / "PMC21.nxml", with_doi("PMC21", "10.1000/kept.1", ["c.png"]))
    write(corpus / "PMC21" / "c.png", png_bytes(60, 30))
    out = tmp_path / "figures"
    assert main(["extract", "--input", str(corpus), "--output", str(out), "--quiet"]) == 0

    stats = json.loads((out / "stats.json").read_text())
    assert stats["ledger_ok"] is True
    assert stats["in"] == 3 and stats["out"] == 1
    assert stats["dropped"] == {"retracted": 2}
    assert stats["in_empty_reasons"] == {"notice:retraction": 1}
    kept = pq.read_table(next(out.glob("data-*.parquet"))).column("key").to_pylist()
    assert kept == ["PMC21/F1"]
    dropped = [
        r for p in sorted(out.glob("dropped-*.parquet")) for r in pq.read_table(p).to_pylist()
    ]
    assert sorted(r["key"] for r in dropped) == ["PMC20/F1", "PMC20/F2"]
    assert all("PMC3388108" in r["detail"] for r in dropped)
    notices = [
        r for p in sorted(out.glob("notices-*.parquet")) for r in pq.read_table(p).to_pylist()
    ]
    assert [(r["retracts"], r["notice_key"]) for r in notices] == [
        (f"doi:{RETRACTED_DOI}", "PMC3388108")
    ]
