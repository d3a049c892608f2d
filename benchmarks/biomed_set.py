"""The hand-boxed biomedical figures (tests/data/biomed_panel_boxes.json), each with its real
caption: extract's from the package's JATS, MedICaT's or pdffigures2's for their figures,
and for figures rendered from the real PDFs, extract's record (image and caption) itself.
Shared by benchmarks/segment.py and the real-data floor test."""

from __future__ import annotations

import io
import json
from pathlib import Path

from PIL import Image

from transforms.extract.extractor import ExtractConfig, Extractor
from transforms.extract.sources import group_sources

ROOT = Path(__file__).resolve().parents[1]
TRUTH = ROOT / "tests" / "data" / "biomed_panel_boxes.json"
Box = tuple[int, int, int, int]
Item = tuple[Image.Image, list[Box], str | None, str | None]  # image, boxes, caption, title


def open_image(path: Path | io.BytesIO) -> Image.Image:
    img = Image.open(path)
    img.load()
    return img


def package_captions(testdata: Path) -> dict[str, tuple[str | None, str | None]]:
    """Image file name -> (caption, title), from extract run on the package folders, and
    from the MedICaT and pdffigures2 files beside their figures."""
    files = [str(p) for p in (testdata / "packages").rglob("*") if p.is_file()]
    extractor = Extractor(ExtractConfig())
    out: dict[str, tuple[str | None, str | None]] = {}
    for source in group_sources(files):
        if source.kind != "xml":
            continue
        for rec in extractor(source).records:
            name = Path((rec["image_uri"] or "").split("#")[-1]).name
            out[name] = (rec["caption"], rec["caption_title"])
    medicat = testdata / "packages" / "medicat_sample" / "sample.jsonl"
    for line in medicat.read_text().splitlines():
        row = json.loads(line)
        out[f"{row['pdf_hash']}_{row['fig_uri']}"] = (row["s2_caption"], None)
    for found in (testdata / "packages").glob("pdf_*/*.json"):
        for fig in json.loads(found.read_text()):
            out[Path(fig["renderURL"]).name] = (fig["caption"], None)
    return out


def pdf_figures(testdata: Path, pdfs: set[str]) -> dict[tuple[str, str], Item]:
    """(pdf path, figure id) -> the figure as extract renders it from the PDF."""
    extractor = Extractor(ExtractConfig())
    out: dict[tuple[str, str], Item] = {}
    for source in group_sources([str(testdata / p) for p in sorted(pdfs)]):
        for rec in extractor(source).records:
            if not rec["image"] or not rec["image"].get("bytes"):
                continue
            pdf = str(Path(rec["image_uri"].split("#")[0]).relative_to(testdata))
            img = open_image(io.BytesIO(rec["image"]["bytes"]))
            out[(pdf, rec["key"].rsplit("/", 1)[-1])] = (img, [], rec["caption"], None)
    return out


def biomedical_items(testdata: Path) -> list[Item]:
    """Every hand-boxed figure with its boxes and real caption, in the file's order."""
    truth = json.loads(TRUTH.read_text())["figures"]
    captions = package_captions(testdata)
    rendered = pdf_figures(testdata, {f["pdf"] for f in truth if "pdf" in f})
    items: list[Item] = []
    for fig in truth:
        boxes = [tuple(p["bbox"]) for p in fig["panels"]]
        if "pdf" in fig:
            img, _, caption, title = rendered[(fig["pdf"], fig["figure"])]
        else:
            path = testdata / fig["path"]
            img = open_image(path)
            caption, title = captions.get(path.name, (None, None))
        items.append((img, boxes, caption, title))  # type: ignore[arg-type]
    return items
