"""PDF benchmark: figure–caption extraction speed and quality on the real test PDFs.

Run: .venv/bin/python benchmarks/pdf.py   (writes benchmarks/results/pdf.json)

Speed, on the 12 PDFs of ../shared/testdata/pdf and packages/ (the scanned page is an
error in both senses and is left out):
- floor: PyMuPDF's own page text extraction, `page.get_text()` on every page;
- ours: `parse_pdf` in-process (layout, captions, regions, image extraction/rendering at
  150 dpi), and the same through the per-document child process with its time limit.
Times are median CPU seconds (time.process_time, this process) of REPEATS interleaved
runs; the child-process variant is wall time, since its work is in another process.

Quality:
- caption recall and precision against the JATS twins (scielo_*, elife_*) and
  pdffigures2's output for futoma2017 (label number and caption similarity >= 0.8);
- figure region IoU against pdffigures2's boxes;
- label recall and precision on the PDFs whose figure labels MANIFEST.tsv states.
"""

from __future__ import annotations

import json
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from transforms.extract.pdf import PdfConfig, load_pymupdf, parse_pdf  # noqa: E402
from transforms.extract.pdf_eval import (  # noqa: E402
    JATS_TWINS,
    MANIFEST_LABELS,
    PDFFIGURES2,
    Score,
    caption_scores,
    score_labels,
    truth_from_pdffigures2,
)
from transforms.extract.pdf_page import iou  # noqa: E402
from transforms.extract.pdf_run import parse_pdf_limited  # noqa: E402
from transforms.ledger import StageError  # noqa: E402

TESTDATA = ROOT.parent / "shared" / "testdata"
RESULTS = ROOT / "benchmarks" / "results" / "pdf.json"
REPEATS = 5
SCANNED = "pdf/CERMINE_timeout_simple.pdf"


def speed_set() -> list[str]:
    files = sorted({*JATS_TWINS, *PDFFIGURES2, *MANIFEST_LABELS})
    return [f for f in files if f != SCANNED]


def floor(blobs: dict[str, bytes]) -> int:
    pymupdf = load_pymupdf()
    chars = 0
    for data in blobs.values():
        with pymupdf.open(stream=data, filetype="pdf") as doc:
            chars += sum(len(page.get_text()) for page in doc)
    return chars


def ours(blobs: dict[str, bytes], config: PdfConfig) -> int:
    return sum(len(parse_pdf(data, rel, config).figures) for rel, data in blobs.items())


def timed(fns: dict, repeats: int = REPEATS) -> dict[str, float]:
    cpu: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, (fn, clock) in fns.items():
            start = clock()
            fn()
            cpu[name].append(clock() - start)
    return {name: statistics.median(values) for name, values in cpu.items()}


def quality(config: PdfConfig) -> dict[str, object]:
    captions, notes, per_pdf = caption_scores(
        TESTDATA, lambda pdf: parse_pdf((TESTDATA / pdf).read_bytes(), pdf, config)
    )
    ious = {}
    for pdf, truth_json in PDFFIGURES2.items():
        doc = parse_pdf((TESTDATA / pdf).read_bytes(), pdf, config)
        for true in truth_from_pdffigures2(TESTDATA / truth_json):
            mine = [f for f in doc.figures if f.number == true.number and f.page == true.page]
            ious[f"{Path(pdf).stem}/Figure {true.number}"] = (
                round(iou(mine[0].bbox, true.bbox), 3) if mine else 0.0
            )
    labels = Score()
    for pdf, truth in MANIFEST_LABELS.items():
        doc = parse_pdf((TESTDATA / pdf).read_bytes(), pdf, config)
        labels.add(score_labels([f.number for f in doc.figures], truth))
    try:
        parse_pdf((TESTDATA / SCANNED).read_bytes(), SCANNED, config)
        scanned = "no error"
    except StageError as exc:
        scanned = exc.error_type
    return {
        "captions": {
            "true_positives": captions.true_positives,
            "false_positives": captions.false_positives,
            "false_negatives": captions.false_negatives,
            "recall": round(captions.recall, 4),
            "precision": round(captions.precision, 4),
            "per_pdf": {pdf: vars(score) for pdf, score in per_pdf.items()},
            "notes": notes,
        },
        "region_iou_vs_pdffigures2": {
            "per_figure": ious,
            "mean": round(statistics.mean(ious.values()), 4),
            "median": round(statistics.median(ious.values()), 4),
            "note": "pdffigures2's Figure 2 region is body text beside the caption (see its "
            "imageText); ours is the schematic above the caption",
        },
        "manifest_labels": {
            "recall": round(labels.recall, 4),
            "precision": round(labels.precision, 4),
            "true_positives": labels.true_positives,
        },
        "scanned_page": scanned,
    }


def main() -> None:
    files = speed_set()
    blobs = {rel: (TESTDATA / rel).read_bytes() for rel in files}
    pymupdf = load_pymupdf()
    pages = sum(pymupdf.open(stream=d, filetype="pdf").page_count for d in blobs.values())
    in_process, limited = PdfConfig(timeout_s=0), PdfConfig(timeout_s=120)
    figures = ours(blobs, in_process)
    parse_pdf_limited(blobs[files[0]], files[0], limited)  # start the fork server first
    seconds = timed(
        {
            "floor_pymupdf_get_text": (lambda: floor(blobs), time.process_time),
            "ours_in_process": (lambda: ours(blobs, in_process), time.process_time),
            "ours_child_process": (
                lambda: [parse_pdf_limited(d, r, limited) for r, d in blobs.items()],
                time.perf_counter,
            ),
        }
    )
    speed = {
        name: {
            "seconds": round(s, 4),
            "pages_per_s": round(pages / s, 1),
            "figures_per_s": round(figures / s, 1) if name != "floor_pymupdf_get_text" else None,
        }
        for name, s in seconds.items()
    }
    result = {
        "benchmark": "pdf",
        "files": len(files),
        "pages": pages,
        "figures": figures,
        "dpi": in_process.dpi,
        "speed": speed,
        "ours_vs_floor_time_ratio": round(
            seconds["ours_in_process"] / seconds["floor_pymupdf_get_text"], 2
        ),
        "quality": quality(in_process),
        "targets": {"caption_recall": 0.9, "caption_precision": 0.95},
        "machine": {"python": platform.python_version(), "cpu": platform.machine()},
        "pymupdf": pymupdf.VersionBind,
        "repeats": REPEATS,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps({k: result[k] for k in ("pages", "figures", "speed")}, indent=2))
    print(json.dumps(result["quality"]["captions"] | {"per_pdf": "..."}, indent=2))


if __name__ == "__main__":
    main()
