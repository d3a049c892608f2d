"""Panel boxes: box arithmetic, synthetic layouts with exact boxes, real figures, letters."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from transforms.boxes import iou, union
from transforms.segment.panel_geometry import gap, merge_overlaps, reading_order, regular, scale_box
from transforms.segment.panel_labels import read_glyph
from transforms.segment.panel_lettering import plausible_labels
from transforms.segment.panel_synth import label_font, synthetic_set
from transforms.segment.panel_types import CaptionHints
from transforms.segment.panels import segment_image

DATA = Path(__file__).parent / "data"


def best_iou(box, boxes) -> float:
    return max(iou(box, b) for b in boxes)


def test_box_arithmetic() -> None:
    assert iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert iou((0, 0, 10, 10), (10, 0, 20, 10)) == 0.0
    assert iou((0, 0, 10, 10), (5, 0, 15, 10)) == pytest.approx(50 / 150)
    assert union((0, 0, 5, 5), (3, 4, 8, 9)) == (0, 0, 8, 9)
    assert gap((0, 0, 5, 5), (8, 0, 10, 5)) == 3
    assert gap((0, 0, 5, 5), (3, 3, 9, 9)) == 0
    assert scale_box((10, 10, 50, 40), 2, 90, 100) == (20, 20, 90, 80)
    assert merge_overlaps([(0, 0, 10, 10), (5, 5, 20, 20), (30, 30, 40, 40)]) == [
        (0, 0, 20, 20),
        (30, 30, 40, 40),
    ]
    assert merge_overlaps([(0, 0, 10, 10), (9, 9, 30, 30)]) == [(0, 0, 10, 10), (9, 9, 30, 30)]


def test_reading_order_rows_then_columns() -> None:
    boxes = [(110, 0, 200, 90), (0, 100, 100, 200), (0, 0, 100, 95), (110, 105, 200, 200)]
    assert reading_order(boxes) == [boxes[2], boxes[0], boxes[1], boxes[3]]


def test_regular_grid_and_plausible_letters() -> None:
    assert regular([(0, 0, 100, 80), (110, 0, 205, 82), (0, 90, 100, 170)])
    assert not regular([(0, 0, 300, 80), (310, 0, 350, 82)])
    # a grid whose last column also takes the gutter is still a grid
    assert regular([(0, 0, 100, 100), (110, 0, 210, 100), (220, 0, 350, 100)])
    assert plausible_labels(["A", None, "B", "C"]) == ["A", None, "B", "C"]
    assert plausible_labels(["A", "Z", "B", "C"]) == ["A", None, "B", "C"]
    assert plausible_labels(["A", "B", "B", "c"], [0.9, 0.7, 0.95, 0.9]) == [
        "A",
        None,
        "B",
        "C",
    ]
    assert plausible_labels(["b", "f"] + [None] * 5) == [None] * 7  # too few to trust
    assert plausible_labels(["A", None]) == [None, None]


def draw_letter(letter: str, size: int = 40) -> np.ndarray:
    img = Image.new("L", (size * 2, size * 2), 0)
    ImageDraw.Draw(img).text((8, 4), letter, fill=255, font=label_font(size))
    return np.asarray(img) > 127


def test_letters_are_read_from_another_font() -> None:
    # the case of c, o, s, … is not in the shape; it comes from the caption or the majority
    for letters in ("ABCDEFGH", "abcdefgh"):
        for letter in letters:
            assert read_glyph(draw_letter(letter), set(letters))[0] == letter


def grid_figure(gap_px: int, rows: int = 2, cols: int = 3, border: int = 0) -> tuple:
    """Crops of real biomedical images tiled on white, with their exact boxes."""
    from skimage import data

    sources = [
        data.immunohistochemistry(),
        np.asarray(Image.fromarray(data.retina()).resize((400, 400))),
        np.stack([data.cell()] * 3, axis=-1),
    ]
    tile_w, tile_h = 160, 120
    w = cols * tile_w + (cols + 1) * gap_px
    h = rows * tile_h + (rows + 1) * gap_px
    canvas = np.full((h, w, 3), 255, np.uint8)
    boxes = []
    for r in range(rows):
        for c in range(cols):
            x0 = gap_px + c * (tile_w + gap_px)
            y0 = gap_px + r * (tile_h + gap_px)
            source = sources[(r + c) % len(sources)]  # neighbours come from different images
            tile = source[100 : 100 + tile_h, 100 : 100 + tile_w]
            canvas[y0 : y0 + tile_h, x0 : x0 + tile_w] = tile
            if border:
                canvas[y0 : y0 + tile_h, x0 : x0 + border] = 0
                canvas[y0 : y0 + border, x0 : x0 + tile_w] = 0
            boxes.append((x0, y0, x0 + tile_w, y0 + tile_h))
    return Image.fromarray(canvas), boxes


@pytest.mark.parametrize("gap_px", [0, 3, 12, 30])
def test_grid_is_split_into_its_tiles(gap_px: int) -> None:
    img, truth = grid_figure(gap_px)
    seg = segment_image(img)
    assert seg.is_compound
    assert len(seg.panels) == len(truth)
    assert all(best_iou(t, [p.bbox for p in seg.panels]) > 0.8 for t in truth)


def test_bordered_tiles_split() -> None:
    img, truth = grid_figure(6, rows=1, cols=3, border=2)
    seg = segment_image(img)
    assert len(seg.panels) == 3
    assert all(best_iou(t, [p.bbox for p in seg.panels]) > 0.8 for t in truth)


def test_single_photo_and_blank_image_stay_whole() -> None:
    from skimage import data

    photo = Image.fromarray(data.immunohistochemistry())
    assert not segment_image(photo).is_compound
    blank = Image.new("RGB", (300, 200), (255, 255, 255))
    seg = segment_image(blank)
    assert seg.panels[0].bbox == (0, 0, 300, 200)
    assert not seg.is_compound


def test_caption_without_markers_needs_stronger_image_evidence() -> None:
    # two unequal blocks, no letters: a split only when the caption may name panels
    canvas = Image.new("RGB", (600, 300), (255, 255, 255))
    rng = np.random.default_rng(1)
    canvas.paste(Image.fromarray(rng.integers(0, 255, (280, 380, 3), dtype=np.uint8)), (5, 10))
    canvas.paste(Image.fromarray(rng.integers(0, 255, (120, 180, 3), dtype=np.uint8)), (410, 60))
    assert segment_image(canvas).is_compound
    assert not segment_image(canvas, hints=CaptionHints(marked=False)).is_compound


def test_synthetic_set_scores_well() -> None:
    figures = synthetic_set(seed=11, count=20)
    hits = total = 0
    for fig in figures:
        pred = [p.bbox for p in segment_image(fig.image).panels]
        total += len(fig.boxes)
        hits += sum(best_iou(t, pred) >= 0.5 for t in fig.boxes)
    assert hits / total >= 0.85


def test_synthetic_set_is_deterministic() -> None:
    a = synthetic_set(seed=5, count=3)
    b = synthetic_set(seed=5, count=3)
    assert [f.boxes for f in a] == [f.boxes for f in b]
    assert [f.image.tobytes() for f in a] == [f.image.tobytes() for f in b]


# singles that the image alone shows as separate tiles; their captions, which name no panels,
# keep them whole (test_segment_compound scores every figure with its caption)
NEEDS_CAPTION = {
    "futoma2017improved-Figure1-1.png",  # seven charts stacked over one time axis
    "futoma2017improved-Figure5-1.png",  # a screenshot of a dashboard of cards
}


@pytest.mark.realdata
def test_real_biomedical_figures(testdata: Path) -> None:
    # the image files (figures rendered from PDFs are scored in test_segment_compound)
    truth = [
        f
        for f in json.loads((DATA / "biomed_panel_boxes.json").read_text())["figures"]
        if "path" in f
    ]
    by_name = {Path(f["path"]).name: f for f in truth}
    two_ct = by_name["5f2d2f2ffbd20c7ff3ac30d514da54ee5bd825b4_2-Figure2-1.png"]
    seg = segment_image(Image.open(testdata / two_ct["path"]))
    assert len(seg.panels) == 4
    assert all(
        best_iou(tuple(p["bbox"]), [q.bbox for q in seg.panels]) > 0.7 for p in two_ct["panels"]
    )
    for single in (f for f in truth if not f["compound"]):
        if Path(single["path"]).name in NEEDS_CAPTION:
            continue
        assert not segment_image(Image.open(testdata / single["path"])).is_compound, single["path"]


def _axes_chart(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], seed: int) -> None:
    """Axes and a jagged line in `box`, on the page's white."""
    x0, y0, x1, y1 = box
    draw.line([(x0, y0), (x0, y1), (x1, y1)], fill=0, width=2)
    ys = np.random.default_rng(seed).uniform(y0 + 10, y1 - 10, 8)
    xs = np.linspace(x0 + 10, x1 - 10, 8)
    draw.line(list(zip(xs.tolist(), ys.tolist(), strict=True)), fill=60, width=2)


@pytest.mark.realdata
def test_charts_over_a_shared_tick_row_stay_apart(testdata: Path) -> None:
    """A row of three charts whose tick labels and axis title run across the row (a real
    figure): each chart is its own panel, not one box for the row."""
    folder = testdata / "compound_figures"
    name = "s41467-018-06211-3_fig4.jpg"
    expected = json.loads(
        (folder / "MaterialEyes_exsclaim__nature_closed_expected.json").read_text()
    )
    truth = [
        (
            min(q["x"] for q in g),
            min(q["y"] for q in g),
            max(q["x"] for q in g),
            max(q["y"] for q in g),
        )
        for g in (p["geometry"] for p in expected[name]["master_images"])
    ]
    img = Image.open(folder / f"MaterialEyes_exsclaim__{name}")
    boxes = [p.bbox for p in segment_image(img).panels]
    assert len(boxes) == len(truth) == 4
    assert all(best_iou(t, boxes) >= 0.5 for t in truth)


def test_shared_tick_row_goes_to_each_panel_below_its_own() -> None:
    """Three touching-close charts over one row of tick labels and one axis title: each
    chart keeps its own part of the rows, none swallows its neighbours."""
    img = Image.new("L", (700, 460), 255)
    draw = ImageDraw.Draw(img)
    rng = np.random.default_rng(3)
    img.paste(Image.fromarray(rng.integers(0, 200, (200, 600), dtype=np.uint8)), (50, 10))
    font = label_font(12)
    for k in range(3):
        x0 = 40 + k * 220
        _axes_chart(draw, (x0, 250, x0 + 180, 410), k)
        for t in range(5):
            draw.text((x0 - 30, 400 - t * 35), f"{t * 20}", fill=0, font=font)
        for t in range(6):  # tick labels run on from one chart's axis into the next
            draw.text((x0 - 10 + t * 38, 416), f"{t * 10}", fill=0, font=font)
    draw.text((250, 438), "Concentration (uM)", fill=0, font=font)
    truth = [(50, 10, 650, 210)] + [(10 + k * 220, 250, 230 + k * 220, 455) for k in range(3)]
    seg = segment_image(img, hints=CaptionHints(letters=frozenset(), marked=True))
    boxes = [p.bbox for p in seg.panels]
    assert len(boxes) == 4
    assert all(best_iou(t, boxes) >= 0.5 for t in truth)
