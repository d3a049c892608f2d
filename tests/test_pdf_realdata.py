"""PDF extraction on the real PDFs of ../shared/testdata, scored against their ground truth."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
from PIL import Image

from schemas import FIGURE_SCHEMA, check_record, to_table
from transforms.extract.extractor import ExtractConfig, Extractor
from transforms.extract.pdf import PdfConfig, load_pymupdf, parse_pdf
from transforms.extract.pdf_eval import (
    MANIFEST_LABELS,
    PDFFIGURES2,
    caption_scores,
    score_labels,
    truth_from_pdffigures2,
)
from transforms.extract.pdf_page import iou
from transforms.extract.sources import ArticleSource, group_sources
from transforms.ledger import StageError, UnitResult, run_unit

pytestmark = pytest.mark.realdata
IN_PROCESS = PdfConfig(timeout_s=0)


def parsed(testdata: Path, rel: str):
    return parse_pdf((testdata / rel).read_bytes(), rel, IN_PROCESS)


def extract_pdf(path: Path, **config) -> UnitResult:
    source = ArticleSource(kind="pdf", uri=str(path))
    return run_unit(Extractor(ExtractConfig(**config)), source, str(path), str(path))


def test_caption_recall_and_precision_meet_the_targets(testdata: Path) -> None:
    total, notes, _ = caption_scores(testdata, lambda pdf: parsed(testdata, pdf))
    assert total.true_positives >= 10, notes
    assert total.recall >= 0.9, notes
    assert total.precision >= 0.95, notes


def test_figure_regions_overlap_pdffigures2(testdata: Path) -> None:
    [(pdf, truth_json)] = PDFFIGURES2.items()
    doc = parsed(testdata, pdf)
    truth = truth_from_pdffigures2(testdata / truth_json)
    ious = {}
    for true in truth:
        [mine] = [f for f in doc.figures if f.number == true.number]
        assert mine.page == true.page
        ious[true.number] = iou(mine.bbox, true.bbox)
    # pdffigures2's Figure 2 region is a paragraph of body text beside the caption
    # (its imageText says so); ours is the schematic above the caption
    assert ious.pop("2") < 0.1
    assert min(ious.values()) >= 0.8, ious


def test_labels_stated_in_the_manifest(testdata: Path) -> None:
    for pdf, labels in MANIFEST_LABELS.items():
        doc = parsed(testdata, pdf)
        score = score_labels([f.number for f in doc.figures], labels)
        assert (score.false_positives, score.false_negatives) == (0, 0), (pdf, doc.figures)


def test_a_pdf_without_figures_yields_none(testdata: Path) -> None:
    result = extract_pdf(testdata / "pdf" / "CERMINE_test1.pdf")
    assert result.error is None
    assert result.records == [] and result.drops == []
    assert result.empty_reason == "no_figures"


def test_a_figure_without_a_caption_label_is_dropped_not_invented(testdata: Path) -> None:
    result = extract_pdf(testdata / "packages" / "elife_00353" / "elife-00353-v1.pdf")
    assert result.records == []
    assert [d.reason for d in result.drops] == ["no_caption_label"]
    assert result.drops[0].key.startswith("doi-10.7554-elife.00353/")


def test_scanned_page_without_text_is_an_error(testdata: Path) -> None:
    result = extract_pdf(testdata / "pdf" / "CERMINE_timeout_simple.pdf")
    assert result.error is not None and result.error.error_type == "pdf_no_text_layer"


def test_records_carry_caption_image_label_and_metadata(testdata: Path) -> None:
    path = testdata / "packages" / "scielo_bjmbr_54-10-e11439" / "1414-431X-bjmbr-54-10-e11439.pdf"
    result = extract_pdf(path)
    assert result.error is None and not result.drops
    keys = [r["key"] for r in result.records]
    assert keys == ["doi-10.1590-1414-431x2021e11439/F1", "doi-10.1590-1414-431x2021e11439/F2"]
    for record in result.records:
        check_record(FIGURE_SCHEMA, record)
        assert record["source_kind"] == "pdf" and record["source_uri"] == str(path)
        assert record["article_title"].startswith("Decreased levels of cathepsin Z mRNA")
        image = Image.open(io.BytesIO(record["image"]["bytes"]))
        assert image.size == (record["width"], record["height"])
    assert result.records[0]["caption"].startswith("Bioinformatics data of cathepsin Z")
    assert result.records[0]["image_uri"].endswith(".pdf#page=4")
    assert to_table(FIGURE_SCHEMA, result.records).num_rows == 2


def test_vector_figures_are_rendered_at_the_dpi(testdata: Path) -> None:
    path = testdata / "pdf" / "CERMINE_example1.pdf"
    low, high = (extract_pdf(path, pdf_dpi=dpi).records[0] for dpi in (75, 150))
    assert high["image_format"] == "png"
    assert high["width"] == pytest.approx(2 * low["width"], abs=2)


def test_bilingual_captions_are_one_record(testdata: Path) -> None:
    pdf = "packages/scielo_hoehnea_49-e1112020/2236-8906-hoehnea-49-e1112020.pdf"
    result = extract_pdf(testdata / pdf)
    assert [r["label"] for r in result.records] == ["Figure 1", "Figure 2", "Figure 3"]
    for record in result.records:
        assert record["caption"].startswith("Correlation between")
        [other] = record["captions_other"]
        assert other["lang"] == "pt" and other["text"].startswith("Correlação entre")


def test_caption_on_the_facing_page_of_a_plate(testdata: Path) -> None:
    doc = parsed(testdata, "pdf/pdffigures2_glia_calcium_waves.pdf")
    first = doc.figures[0]
    assert (first.number, first.page) == ("1", 2)  # the plate; its caption is on page 2
    assert first.caption.startswith("A: Mechanically-induced")


def test_jats_figures_borrow_missing_images_from_the_pdf(testdata: Path) -> None:
    folder = testdata / "packages" / "scielo_bjmbr_54-10-e11439"
    files = [str(p) for p in folder.iterdir()]
    [source] = [s for s in group_sources(files) if s.uri.endswith("_kernel_urlhrefs.xml")]
    result = run_unit(Extractor(ExtractConfig()), source, source.uri, source.uri)
    assert result.error is None and not result.drops
    assert [r["label"] for r in result.records] == ["Figure 1", "Figure 2"]
    for record in result.records:
        assert record["source_kind"] == "jats" and record["source_uri"] == source.uri
        assert record["image_uri"].endswith((".pdf#page=4", ".pdf#page=6"))
        sources = {s["field"]: s["source"] for s in record["field_sources"]}
        assert sources["image"] == "pdf" and sources["caption"] == "jats"
        assert record["caption"] == record["caption"].strip() and record["image_status"] == "ok"


def test_jats_with_its_own_images_ignores_the_pdf(testdata: Path) -> None:
    folder = testdata / "packages" / "scielo_bjmbr_54-10-e11439"
    files = [str(p) for p in folder.iterdir()]
    [source] = [s for s in group_sources(files) if s.uri.endswith("e11439.xml")]
    result = run_unit(Extractor(ExtractConfig()), source, source.uri, source.uri)
    assert all(r["image_uri"].endswith(".jpg") for r in result.records)
    assert all(r["field_sources"] is None for r in result.records)


def test_broken_pdfs_become_errors(testdata: Path, tmp_path: Path) -> None:
    pymupdf = load_pymupdf()
    data = (testdata / "pdf" / "pdffigures2_banko_oie.pdf").read_bytes()
    doc = pymupdf.open(stream=data, filetype="pdf")
    encrypted = doc.tobytes(encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="u", owner_pw="o")
    cases = {
        "truncated.pdf": (data[: len(data) // 2], "pdf_truncated"),
        "encrypted.pdf": (encrypted, "pdf_encrypted"),
        "garbage.pdf": (b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF\n", "pdf_unreadable"),
        "notapdf.pdf": (b"<html>not a pdf</html>", "pdf_unreadable"),
    }
    for name, (content, error_type) in cases.items():
        (tmp_path / name).write_bytes(content)
        result = extract_pdf(tmp_path / name)  # through the child process
        assert result.error is not None and result.error.error_type == error_type, name


def test_time_limit_kills_a_slow_document(testdata: Path) -> None:
    result = extract_pdf(testdata / "pdf" / "CERMINE_test6.pdf", pdf_timeout_s=0.01)
    assert result.error is not None and result.error.error_type == "pdf_timeout"
    # the same document within the limit
    assert extract_pdf(testdata / "pdf" / "CERMINE_test6.pdf").error is None


def test_missing_pymupdf_is_a_friendly_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pymupdf", None)  # what an install without [pdf] sees
    with pytest.raises(StageError) as info:
        load_pymupdf()
    assert info.value.error_type == "pdf_support_missing"
    assert "biomed-curate[pdf]" in info.value.message
