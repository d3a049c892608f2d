"""Segment benchmark: panel boxes, compound/single calls, sub-captions and speed.

Run: .venv/bin/python benchmarks/segment.py   (writes benchmarks/results/segment.json)

Sets, each scored for this stage ("ours") and, in the same run, for two baselines: the
classic one (recursive cuts on white bands only, the approach the published ~49% figure
describes) and "caption_count" (the caption's panel count, cut as a grid of equal cells):
- synthetic: seeded compound and single figures with exact boxes (panel_synth),
  tiles from scikit-image's biomedical images, from crops of the real figures below, and
  drawn charts; gaps from none to wide, borders, label styles and places, JPEG re-coding;
- real_biomedical: hand-drawn boxes for the figures of ../shared/testdata/packages and
  images, and figures extract renders from the real PDFs (tests/data/biomed_panel_boxes.json),
  33 figures; scored again split by whether
  the caption names panels. Its per-method panel accuracy is the seg_score calibration
  (transforms/segment/seg_calibration.json, written here);
- real_exsclaim: 14 materials-science figures scored against exsclaim's boxes (a model's
  output, not a human's);
- demo_corpus: the figures of `python -m demo` (drawn by the demo generator, not by this
  stage's synthetic module), scored against the boxes it records in corpus.json.
Captions are passed as the stage passes them (JATS via extract, MedICaT's, exsclaim's; the
synthetic figures' own, with markers when their panels carry letters); "synthetic_image_only"
scores the synthetic set again with no caption at all.
Sub-captions are scored on hand-checked real captions (tests/data/subcaption_truth.json)
against a naive "(X)" splitter. Speed is CPU time in one process (one core): segmentation
on decoded images alone, and the stage's whole unit function (decode, segment, crop encode).
"""

from __future__ import annotations

import io
import json
import platform
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.biomed_set import biomedical_items, open_image  # noqa: E402
from transforms.boxes import iou  # noqa: E402
from transforms.extract.extractor import ExtractConfig, Extractor  # noqa: E402
from transforms.extract.jats import parse_articles  # noqa: E402
from transforms.extract.sources import group_sources  # noqa: E402
from transforms.segment.panel_calibration import CALIBRATION  # noqa: E402
from transforms.segment.panel_geometry import Box  # noqa: E402
from transforms.segment.panel_synth import BOLD_FONTS, figure_record, synthetic_set  # noqa: E402
from transforms.segment.panel_types import SegmentConfig  # noqa: E402
from transforms.segment.panels import segment_image, work_image  # noqa: E402
from transforms.segment.segmenter import Segmenter, caption_hints  # noqa: E402
from transforms.segment.subcaptions import split_caption  # noqa: E402

TESTDATA = ROOT.parent / "shared" / "testdata"
RESULTS = ROOT / "benchmarks" / "results" / "segment.json"
SYNTHETIC_SEED, SYNTHETIC_COUNT = 20260, 300
PUBLISHED = {
    "classic_edge_whitespace_accuracy": 0.49,
    "best_imageclef_2015_accuracy": 0.85,
    "note": "ImageCLEF 2015 figure separation, accuracy per the task's own measure; "
    "not the same figures or metric as here, so a rough yardstick only",
}

Item = tuple[Image.Image, list[Box], str | None, str | None]  # image, boxes, caption, title
Method = Callable[[Image.Image, str | None, str | None], list[Box]]


def ours(img: Image.Image, caption: str | None, title: str | None) -> list[Box]:
    hints = caption_hints(split_caption(caption, title), caption)
    return [p.bbox for p in segment_image(img, SegmentConfig(), hints).panels]


def classic(img: Image.Image, caption: str | None, title: str | None) -> list[Box]:
    """Recursive cuts on white bands (>= 3 px, grey >= 235) only; tiny pieces dropped."""
    gray, factor = work_image(img, 800)
    g = gray.astype(np.int16)
    h, w = g.shape
    out: list[Box] = []

    def cut(x0: int, y0: int, x1: int, y1: int, depth: int) -> None:
        sub = g[y0:y1, x0:x1] < 235
        rows, cols = np.flatnonzero(sub.any(1)), np.flatnonzero(sub.any(0))
        if rows.size == 0:
            return
        x0, x1, y0, y1 = x0 + cols[0], x0 + cols[-1] + 1, y0 + rows[0], y0 + rows[-1] + 1
        sub = g[y0:y1, x0:x1] < 235
        for axis in (1, 0):
            ink = sub.any(axis)
            gaps = [i for i in range(3, ink.size - 3) if not ink[i - 1 : i + 2].any()]
            if gaps and depth < 6:
                edges = [0, *[i for i in gaps if i - 1 not in gaps], ink.size]
                for a, b in zip(edges, edges[1:], strict=False):
                    if axis == 1:
                        cut(x0, y0 + a, x1, y0 + b, depth + 1)
                    else:
                        cut(x0 + a, y0, x0 + b, y1, depth + 1)
                return
        if (x1 - x0) * (y1 - y0) >= 0.02 * w * h:
            out.append((int(x0), int(y0), int(x1), int(y1)))

    cut(0, 0, w, h, 0)
    if len(out) < 2:
        return [(0, 0, img.width, img.height)]
    return [tuple(int(v * factor) for v in b) for b in out]


def caption_count(img: Image.Image, caption: str | None, title: str | None) -> list[Box]:
    """The second baseline: the number of panels the caption names, cut as a grid of equal
    cells of about the image's shape (whole when it names fewer than two)."""
    n = len({lab.lower() for lab in split_caption(caption, title).labels})
    w, h = img.size
    if n < 2:
        return [(0, 0, w, h)]
    rows = max(1, min(n, round((n * h / w) ** 0.5)))
    per_row = [n // rows + (1 if r < n % rows else 0) for r in range(rows)]
    boxes = []
    for r, cols in enumerate(per_row):
        y0, y1 = h * r // rows, h * (r + 1) // rows
        boxes += [(w * c // cols, y0, w * (c + 1) // cols, y1) for c in range(cols)]
    return boxes


def names_panels(item: Item) -> bool:
    return bool(split_caption(item[2], item[3]).labels)


def calibration(items: list[Item]) -> dict:
    """Per seg_method, how many panels it gave on these figures and how many of them match
    a hand-drawn box (IoU >= 0.5): the table seg_score is read from."""
    table: dict[str, dict[str, int]] = {}
    for img, truth, caption, title in items:
        seg = segment_image(
            img, SegmentConfig(), caption_hints(split_caption(caption, title), caption)
        )
        pred = [p.bbox for p in seg.panels]
        row = table.setdefault(seg.method, {"panels": 0, "correct": 0})
        row["panels"] += len(pred)
        row["correct"] += match(pred, truth)
    return dict(sorted(table.items()))


def match(pred: list[Box], truth: list[Box], threshold: float = 0.5) -> int:
    """Greedy one-to-one matches at IoU >= threshold, best pairs first."""
    pairs = sorted(
        ((iou(p, t), i, j) for i, p in enumerate(pred) for j, t in enumerate(truth)),
        reverse=True,
    )
    used_p, used_t, hits = set(), set(), 0
    for score, i, j in pairs:
        if score < threshold:
            break
        if i not in used_p and j not in used_t:
            used_p.add(i)
            used_t.add(j)
            hits += 1
    return hits


def score(items: list[Item], method: Method) -> dict:
    tp = fp = fn = count_ok = kind_ok = singles = singles_whole = 0
    for img, truth, caption, title in items:
        pred = method(img, caption, title)
        hits = match(pred, truth)
        tp, fp, fn = tp + hits, fp + len(pred) - hits, fn + len(truth) - hits
        count_ok += len(pred) == len(truth)
        kind_ok += (len(pred) > 1) == (len(truth) > 1)
        if len(truth) == 1:
            singles += 1
            singles_whole += len(pred) == 1
    precision = tp / max(1, tp + fp)
    recall = tp / max(1, tp + fn)
    return {
        "figures": len(items),
        "panels_true": tp + fn,
        "panel_count_accuracy": round(count_ok / len(items), 3),
        "box_precision": round(precision, 3),
        "box_recall": round(recall, 3),
        "box_f1_iou50": round(2 * precision * recall / max(1e-9, precision + recall), 3),
        "compound_single_accuracy": round(kind_ok / len(items), 3),
        "singles": singles,
        "singles_left_whole": round(singles_whole / singles, 3) if singles else None,
    }


def real_biomedical() -> list[Item]:
    return biomedical_items(TESTDATA)


def real_exsclaim() -> list[Item]:
    folder = TESTDATA / "compound_figures"
    expected = json.loads(
        (folder / "MaterialEyes_exsclaim__nature_closed_expected.json").read_text()
    )
    items = []
    for name, fig in sorted(expected.items()):
        boxes = []
        for panel in fig["master_images"]:
            xs = [p["x"] for p in panel["geometry"]]
            ys = [p["y"] for p in panel["geometry"]]
            boxes.append((min(xs), min(ys), max(xs), max(ys)))
        img = open_image(folder / f"MaterialEyes_exsclaim__{name}")
        items.append((img, boxes, fig.get("full_caption"), None))
    return items


def real_crops(sets: list[list[Item]]) -> list[Image.Image]:
    """Single panels cut from the real compound figures, as synthetic tiles."""
    crops = []
    for items in sets:
        for img, boxes, _, _ in items:
            if len(boxes) > 1:
                crops.extend(img.convert("RGB").crop(b) for b in boxes if (b[2] - b[0]) > 120)
    return crops


def synthetic(extra: list[Image.Image]) -> list[Item]:
    figures = synthetic_set(SYNTHETIC_SEED, SYNTHETIC_COUNT, extra)
    return [(f.image, f.boxes, f.caption, None) for f in figures]


def image_only(items: list[Item]) -> list[Item]:
    return [(img, boxes, None, None) for img, boxes, _, _ in items]


def demo_corpus() -> list[Item]:
    """The project's own demo corpus (python -m demo), its figures extracted as the stage
    gets them, scored against the panel boxes the generator recorded in corpus.json."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "demo", "--output", tmp], check=True, capture_output=True
        )
        truth = {
            fig["key"]: [tuple(p["bbox"]) for p in fig["panels"]]
            for art in json.loads((Path(tmp) / "corpus.json").read_text())["articles"]
            for fig in art["figures"]
            if fig.get("panels")
        }
        files = [str(p) for p in Path(tmp).rglob("*") if p.is_file()]
        extractor = Extractor(ExtractConfig())
        items = []
        for source in group_sources(files):
            for rec in extractor(source).records:
                if rec["key"] in truth and rec["image"]:
                    img = open_image(io.BytesIO(rec["image"]["bytes"]))
                    items.append((img, truth[rec["key"]], rec["caption"], rec["caption_title"]))
    return items


def naive_split(caption: str) -> list[list[str]]:
    """The peer for sub-captions: split at every "(X)" with a single capital letter."""
    return [[m] for m in re.findall(r"\(([A-Z])\)", caption)]


def subcaption_scores() -> dict:
    truth = json.loads((ROOT / "tests" / "data" / "subcaption_truth.json").read_text())
    by_file: dict[str, dict] = {}
    for entry in truth["captions"]:
        if entry["file"] not in by_file:
            data = (TESTDATA / "jats" / entry["file"]).read_bytes()
            by_file[entry["file"]] = {
                f.fig_id: f.caption for a in parse_articles(data, entry["file"]) for f in a.figures
            }
    exact = naive_exact = labels_ok = 0
    for entry in truth["captions"]:
        cap = by_file[entry["file"]][entry["fig_id"]]
        got = [list(p.labels) for p in split_caption(cap.text, cap.title).parts]
        exact += got == entry["groups"]
        labels_ok += sorted(sum(got, [])) == sorted(sum(entry["groups"], []))
        naive_exact += naive_split(cap.text or "") == entry["groups"]
    n = len(truth["captions"])
    return {
        "captions": n,
        "exact_groups_accuracy": round(exact / n, 3),
        "label_set_accuracy": round(labels_ok / n, 3),
        "naive_paren_split_exact_accuracy": round(naive_exact / n, 3),
    }


def speed(items: list[Item]) -> dict:
    """Figures per CPU second in this one process: segmentation alone, then the unit."""
    grays = [work_image(img, SegmentConfig().work_side)[0] for img, *_ in items]
    from transforms.segment.panels import segment_gray

    start = time.process_time()
    for gray in grays:
        segment_gray(gray)
    seg_only = time.process_time() - start
    records = [
        figure_record(img, f"bench/F{k}", caption, caption_title=title)
        for k, (img, _, caption, title) in enumerate(items)
    ]
    unit = Segmenter()
    start = time.process_time()
    panels = sum(len(unit(r).records) for r in records)
    whole = time.process_time() - start
    pixels = sum(img.width * img.height for img, *_ in items) / len(items)
    return {
        "figures": len(items),
        "mean_megapixels": round(pixels / 1e6, 3),
        "segmentation_only_figures_per_s_per_core": round(len(items) / seg_only, 1),
        "unit_with_decode_and_crop_encode_figures_per_s_per_core": round(len(items) / whole, 1),
        "panels_written": panels,
    }


def main() -> None:
    biomed = real_biomedical()
    exsclaim = real_exsclaim()
    synth = synthetic(real_crops([biomed, exsclaim]))
    sets = {
        "synthetic": synth,
        "synthetic_image_only": image_only(synth),
        "real_biomedical": biomed,
        "real_exsclaim": exsclaim,
        "demo_corpus": demo_corpus(),
    }
    results: dict = {
        "command": ".venv/bin/python benchmarks/segment.py",
        "machine": {"python": platform.python_version(), "processor": platform.machine()},
        "synthetic": {"seed": SYNTHETIC_SEED, "count": SYNTHETIC_COUNT},
        "label_font": next((f for f in BOLD_FONTS if Path(f).exists()), "Pillow default"),
        "targets": {
            "box_f1_synthetic": 0.85,
            "box_f1_real_biomedical": 0.80,
            "panel_count_accuracy_real_biomedical": 0.80,
            "singles_left_whole": 0.95,
            "figures_per_s_per_core": 20,
        },
        "tuned_on_real_biomedical": "yes: the caption-count grouping, the clean-grid test and "
        "the letter reading for grouping were developed while looking at these figures "
        "(issue 11), seg_score is calibrated on them, and one truth (the glia PDF's Figure 2, "
        "three alike traces) was changed from one panel to three after the output was seen, "
        "to follow the issue's clean-grid rule; no held-out biomedical set exists",
        "published_baselines": PUBLISHED,
        "panels": {},
    }
    sets["real_biomedical_caption_names_panels"] = [i for i in biomed if names_panels(i)]
    sets["real_biomedical_caption_names_none"] = [i for i in biomed if not names_panels(i)]
    for name, items in sets.items():
        results["panels"][name] = {
            "ours": score(items, ours),
            "classic": score(items, classic),
            "caption_count": score(items, caption_count),
        }
    real = biomed + exsclaim
    results["panels"]["real_all"] = {"ours": score(real, ours), "classic": score(real, classic)}
    table = calibration(biomed)
    results["seg_score_calibration"] = table
    CALIBRATION.write_text(
        json.dumps(
            {
                "about": "Panels per seg_method on the hand-boxed biomedical set "
                "(tests/data/biomed_panel_boxes.json) and how many match a hand-drawn box "
                "at IoU >= 0.5; written by benchmarks/segment.py. seg_score = correct / "
                "panels where panels >= 8, else null.",
                "figures": len(biomed),
                "methods": table,
            },
            indent=2,
        )
        + "\n"
    )
    results["subcaptions"] = subcaption_scores()
    results["speed"] = {"real": speed(real), "synthetic": speed(synth[:100])}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
