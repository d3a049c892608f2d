"""The segment unit function: figure record -> panel records; alignment of sub-captions."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from schemas import FIGURE_SCHEMA, PANEL_SCHEMA, check_record, new_record
from transforms.ledger import StageError, run_unit
from transforms.segment.panel_align import align
from transforms.segment.panel_synth import figure_record as synth_record
from transforms.segment.panel_synth import synthetic_set
from transforms.segment.segmenter import Segmenter, SegmentStageConfig
from transforms.segment.subcaptions import split_caption

CAPTION = "Figure 2. Effect of X. (A) Control. (B) Treated. (C) Recovered. (D) Dead."


def figure_record(img: Image.Image, caption: str | None = CAPTION, fmt: str = "jpeg") -> dict:
    return synth_record(
        img.convert("RGB"),
        "PMC1/F2",
        caption,
        fmt,
        pmcid="PMC1",
        image_sha256="x",
        source_uri="mem://PMC1.xml",
    )


@pytest.fixture(scope="module")
def grid() -> Image.Image:
    """A 2 x 2 synthetic compound figure with letters A-D."""
    rng_figs = synthetic_set(seed=2, count=40)
    return next(f for f in rng_figs if f.layout == "grid" and len(f.boxes) == 4).image


def test_compound_figure_gives_one_record_per_panel(grid: Image.Image) -> None:
    result = Segmenter()(figure_record(grid))
    assert len(result.records) == 4
    for index, rec in enumerate(result.records):
        check_record(PANEL_SCHEMA, rec)
        assert rec["key"] == f"PMC1/F2/p{index}"
        assert rec["parent_key"] == "PMC1/F2"
        assert rec["panel_index"] == index
        assert rec["is_compound"] is True
        x0, y0, x1, y1 = rec["bbox"]
        assert all(isinstance(v, int) for v in rec["bbox"])
        assert 0 <= x0 < x1 <= grid.width and 0 <= y0 < y1 <= grid.height
        crop = Image.open(io.BytesIO(rec["image"]["bytes"]))
        assert crop.size == (x1 - x0, y1 - y0) == (rec["width"], rec["height"])
        assert rec["image"]["path"] == f"f2_p{index}.jpeg"
        assert rec["caption"] == CAPTION and rec["pmcid"] == "PMC1"
    assert [r["align_status"] for r in result.records] != ["unaligned"] * 4
    texts = {r["subcaption"] for r in result.records}
    assert texts == {"Control", "Treated", "Recovered", "Dead"}
    assert {r["caption_preamble"] for r in result.records} == {"Figure 2. Effect of X."}


def test_keep_parent_adds_the_whole_figure(grid: Image.Image) -> None:
    result = Segmenter(SegmentStageConfig(keep_parent=True))(figure_record(grid))
    parent = result.records[0]
    assert parent["key"] == "PMC1/F2" and parent["seg_method"] == "parent"
    assert parent["bbox"] == [0, 0, grid.width, grid.height]
    assert len(result.records) == 5


def test_single_panel_passes_through_untouched() -> None:
    from skimage import data

    photo = Image.fromarray(data.immunohistochemistry())
    record = figure_record(photo, caption="A stained section of tissue.")
    result = Segmenter(SegmentStageConfig(keep_parent=True))(record)
    assert len(result.records) == 1
    rec = result.records[0]
    assert rec["key"] == "PMC1/F2/p0" and rec["is_compound"] is False
    assert rec["image"] == record["image"] and rec["bbox"] == [0, 0, 512, 512]
    assert rec["subcaption"] == "A stained section of tissue."
    assert rec["align_status"] == "single"


def test_missing_image_becomes_one_text_panel() -> None:
    record = new_record(
        FIGURE_SCHEMA, key="PMC1/F3", caption=CAPTION, image_status="missing", source_uri="x"
    )
    rec = Segmenter()(record).records[0]
    check_record(PANEL_SCHEMA, rec)
    assert rec["key"] == "PMC1/F3/p0" and rec["seg_method"] == "no_image"
    assert rec["image"] is None and rec["bbox"] is None
    assert rec["caption_preamble"] == "Figure 2. Effect of X."
    assert rec["subcaption"] == "Control Treated Recovered Dead"


def test_corrupt_image_is_an_error_record() -> None:
    record = figure_record(Image.new("RGB", (50, 50)))
    record["image"] = {"bytes": b"\xff\xd8\xff\xe0 not a jpeg", "path": "f2.jpeg"}
    result = run_unit(Segmenter(), record, record["key"], record["source_uri"])
    assert result.error is not None and result.error.error_type == "image_unreadable"
    with pytest.raises(StageError):
        Segmenter()(record)


def test_segmentation_is_deterministic(grid: Image.Image) -> None:
    a = Segmenter()(figure_record(grid)).records
    b = Segmenter()(figure_record(grid)).records
    assert [r["image_sha256"] for r in a] == [r["image_sha256"] for r in b]


BOXES = [(0, 0, 10, 10), (12, 0, 22, 10), (0, 12, 10, 22), (12, 12, 22, 22)]


def test_align_by_label_identity() -> None:
    split = split_caption(CAPTION)
    out = align(CAPTION, split, ["B", "A", None, "D"], BOXES)
    assert [a.subcaption for a in out] == ["Treated", "Control", "Recovered", "Dead"]
    assert [a.status for a in out] == ["label", "label", "order", "label"]
    assert out[2].label == "C"


def test_align_by_reading_order_when_counts_agree() -> None:
    out = align(CAPTION, split_caption(CAPTION), [None] * 4, BOXES)
    assert [a.label for a in out] == ["A", "B", "C", "D"]
    assert {a.status for a in out} == {"order"}


def test_align_by_part_when_groups_match_panels() -> None:
    caption = "Title. (A–C) Blots of X. (D) Counts."
    out = align(caption, split_caption(caption), [None, None], BOXES[:2])
    assert [a.label for a in out] == ["A,B,C", "D"]
    assert out[0].subcaption == "Blots of X"


def test_unalignable_panels_keep_the_full_caption() -> None:
    out = align(CAPTION, split_caption(CAPTION), [None] * 3, BOXES[:3])
    assert all(a.status == "unaligned" and a.subcaption == CAPTION for a in out)
    assert all(a.preamble is None for a in out)


def test_positions_align_by_layout() -> None:
    caption = "Curves. Left: all patients. Right: treated patients."
    out = align(caption, split_caption(caption), [None, None], BOXES[:2])
    assert [a.subcaption for a in out] == ["all patients", "treated patients"]
    assert {a.status for a in out} == {"position"}


def test_unmarked_caption_goes_to_every_panel() -> None:
    caption = "Several views of a cell."
    out = align(caption, split_caption(caption), [None, None], BOXES[:2])
    assert all(a.subcaption == caption and a.status == "unmarked" for a in out)


@pytest.mark.realdata
def test_real_compound_figure_with_its_jats_caption(testdata: Path) -> None:
    path = testdata / "packages/medicat_sample/figures"
    img = Image.open(path / "5f2d2f2ffbd20c7ff3ac30d514da54ee5bd825b4_2-Figure2-1.png")
    caption = "Fig. 2. Mid sagittal (A, C) and axial MRI (B, D) of the cervical spine."
    records = Segmenter()(figure_record(img, caption, fmt="png")).records
    assert len(records) == 4
    assert [r["panel_label"] for r in records] == ["A", "B", "C", "D"]
    assert records[1]["subcaption"].startswith("axial MRI")
    assert np.all(np.array([r["bbox"] for r in records])[:, 2] <= img.width)
