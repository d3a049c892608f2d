"""`article_version`: from the PMC Cloud name `PMC1234567.2` or the XML, null when unknown."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hostile import article_xml, write

from schemas import FIGURE_SCHEMA
from transforms.extract.extractor import ExtractConfig, Extractor, name_version
from transforms.extract.jats import parse_articles
from transforms.extract.jats_meta import version_number
from transforms.extract.pdf_records import pmc_name
from transforms.extract.sources import group_sources

CAPTION_ONLY = ExtractConfig(keep_missing_images=True)


def meta_xml(ids: str, extra: str = "") -> bytes:
    return (
        '<article xmlns:xlink="http://www.w3.org/1999/xlink"><front><article-meta>'
        f"{ids}<title-group><article-title>T</article-title></title-group>{extra}"
        "</article-meta></front><body/></article>"
    ).encode()


def version_of(xml: bytes) -> int | None:
    return parse_articles(xml)[0].meta.version


def test_version_from_pmcid_ver() -> None:
    ids = (
        '<article-id pub-id-type="pmcid">PMC12759138</article-id>'
        '<article-id pub-id-type="pmcid-ver">PMC12759138.3</article-id>'
    )
    meta = parse_articles(meta_xml(ids))[0].meta
    assert (meta.pmcid, meta.version) == ("PMC12759138", 3)


def test_version_from_article_version_elements() -> None:
    pmc = '<article-id pub-id-type="pmc">1</article-id>'
    assert version_of(meta_xml(pmc, "<article-version>2</article-version>")) == 2
    alternatives = (
        "<article-version-alternatives>"
        '<article-version article-version-type="status">VoR</article-version>'
        '<article-version article-version-type="number">4</article-version>'
        "</article-version-alternatives>"
    )
    assert version_of(meta_xml(pmc, alternatives)) == 4
    assert version_of(meta_xml(pmc, "<article-version>preprint</article-version>")) is None
    assert version_of(meta_xml(pmc)) is None


@pytest.mark.parametrize(
    ("text", "number"),
    [("2", 2), (" v3 ", 3), ("1.2", None), ("VoR", None), ("", None), ("9" * 12, None)],
)
def test_only_whole_numbers_that_fit_int32_are_versions(text: str, number: int | None) -> None:
    assert version_number(text) == number


def test_a_name_lends_its_version_only_to_its_own_article() -> None:
    assert name_version(["PMC5.2", "PMC5.2"], "PMC5") == 2
    assert name_version(["PMC5.2"], None) == 2
    assert name_version(["PMC5.2"], "PMC6") is None
    assert name_version(["articles", "PMC5"], "PMC5") is None
    assert pmc_name("PMC5.7") == ("PMC5", 7)
    assert pmc_name("pmc5") == ("PMC5", None)
    assert pmc_name("futoma2017improved") == (None, None)


def extract_folder(root: Path) -> list[dict]:
    records = []
    for source in group_sources(str(p) for p in sorted(root.rglob("*")) if p.is_file()):
        result = Extractor(CAPTION_ONLY)(source)
        assert result.error is None
        records.extend(result.records)
    return records


def test_extract_fills_the_version_from_the_pmc_cloud_folder(tmp_path: Path) -> None:
    write(tmp_path / "PMC77.2" / "PMC77.2.xml", article_xml("PMC77", ["a.png"]))
    write(tmp_path / "plain" / "PMC78.nxml", article_xml("PMC78", ["b.png"]))
    records = {r["key"]: r for r in extract_folder(tmp_path)}
    assert set(records) == {"PMC77/F1", "PMC78/F1"}
    assert records["PMC77/F1"]["article_version"] == 2
    assert records["PMC78/F1"]["article_version"] is None
    assert FIGURE_SCHEMA.names.index("article_version") == FIGURE_SCHEMA.names.index("doi") + 1


def test_the_folder_name_wins_over_the_xml_and_a_stranger_name_is_ignored(tmp_path: Path) -> None:
    xml = article_xml("PMC80", ["a.png"]).replace(
        b"</article-meta>", b"<article-version>1</article-version></article-meta>"
    )
    write(tmp_path / "PMC80.3" / "PMC80.3.xml", xml)
    write(tmp_path / "PMC99.5" / "PMC99.5.xml", xml.replace(b"PMC80", b"PMC81"))
    records = {r["key"]: r["article_version"] for r in extract_folder(tmp_path)}
    assert records == {"PMC80/F1": 3, "PMC81/F1": 1}


@pytest.mark.realdata
def test_a_pdf_named_by_pmc_cloud_gets_the_pmcid_key_and_version(
    testdata: Path, tmp_path: Path
) -> None:
    pytest.importorskip("pymupdf")
    real = testdata / "packages" / "scielo_bjmbr_54-10-e11439" / "1414-431X-bjmbr-54-10-e11439.pdf"
    renamed = tmp_path / "PMC8385000.2.pdf"
    shutil.copy(real, renamed)
    records = extract_folder(tmp_path)
    assert [(r["key"], r["article_version"]) for r in records] == [
        ("PMC8385000/F1", 2),
        ("PMC8385000/F2", 2),
    ]
    assert all(r["doi"] == "10.1590/1414-431x2021e11439" for r in records)
