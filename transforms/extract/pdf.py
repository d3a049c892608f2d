"""Figure–caption pairs from a PDF with PyMuPDF (AGPL: the optional `pdf` extra).

Each page is read into text blocks and graphics (embedded rasters; vector paths,
less the page furniture that repeats on many pages); transforms.extract.pdf_layout finds
the captions and their regions. A region that is one upright embedded raster
keeps that image's own bytes; any other region is rendered at `dpi`. Captions
whose figure sits on the facing page (a full-page plate) are paired across pages.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from transforms.boxes import area, intersection
from transforms.extract.images import (
    DEFAULT_MAX_PIXELS,
    ImageRejected,
    NormalisedImage,
    normalise_image,
)
from transforms.extract.pdf_caption_groups import CaptionGroup, caption_groups
from transforms.extract.pdf_captions import guess_language
from transforms.extract.pdf_clusters import Cluster, absorb_labels, cluster_graphics
from transforms.extract.pdf_layout import Match, match_captions
from transforms.extract.pdf_page import Graphic, PageLayout, Rect, TextBlock
from transforms.ledger import StageError

DEFAULT_DPI = 150
DEFAULT_MAX_PAGES = 500
FURNITURE_SHARE = 0.5  # a graphic on at least this share of the pages (and 3) is furniture
REGION_PAD = 2.0
IMAGE_OPS = {"fill-image", "fill-imgmask"}
DOI_RE = re.compile(r"\b(10\.\d{4,9}/[^\s\"<>]+)", re.IGNORECASE)
BAD_TITLES = re.compile(r"untitled|microsoft|\.docx?$|\.pdf$|\.tex$|^\S+$|^[\d\s.]+$", re.I)


@dataclass(frozen=True)
class PdfConfig:
    dpi: int = DEFAULT_DPI
    timeout_s: float = 120.0  # per document, in a child process; 0 runs in-process
    max_pages: int = DEFAULT_MAX_PAGES
    max_image_pixels: int = DEFAULT_MAX_PIXELS


@dataclass
class PdfFigure:
    number: str  # label key: "3", "S2"
    label: str
    caption: str | None
    captions_other: list[tuple[str | None, str]]
    page: int  # 0-based
    bbox: Rect
    image: NormalisedImage | None = None
    image_drop: tuple[str, str] | None = None  # (reason, detail) when no image came out


@dataclass
class PdfDrop:
    ident: str  # "F3" for a caption, "p4-i1" for an uncaptioned graphic
    reason: str
    detail: str


@dataclass
class PdfDocument:
    pages: int
    title: str | None
    doi: str | None
    figures: list[PdfFigure] = field(default_factory=list)
    drops: list[PdfDrop] = field(default_factory=list)


def load_pymupdf() -> Any:
    """PyMuPDF, imported on first use: the core package stays free of the AGPL."""
    try:
        import pymupdf
    except ImportError:
        raise StageError(
            "pdf_support_missing",
            "PDF extraction needs PyMuPDF (AGPL): pip install 'biomed-curate[pdf]'",
        ) from None
    return pymupdf


def open_pdf(data: bytes, uri: str, max_pages: int) -> Any:
    """Open a PDF or raise StageError: truncated, unreadable, encrypted, too long."""
    pymupdf = load_pymupdf()
    if not data.lstrip()[:5] == b"%PDF-":
        raise StageError("pdf_unreadable", f"{uri}: no %PDF- header")
    if b"%%EOF" not in data[-2048:]:
        raise StageError("pdf_truncated", f"{uri}: no %%EOF marker at the end of the file")
    try:
        doc = pymupdf.open(stream=data, filetype="pdf")
    except Exception as exc:  # noqa: BLE001 - MuPDF raises several types for broken files
        raise StageError("pdf_unreadable", f"{uri}: {type(exc).__name__}: {exc}") from None
    if doc.needs_pass:
        raise StageError("pdf_encrypted", f"{uri}: needs a password")
    if doc.page_count == 0:
        raise StageError("pdf_unreadable", f"{uri}: no pages")
    if doc.page_count > max_pages:
        raise StageError("pdf_too_many_pages", f"{uri}: {doc.page_count} > {max_pages} pages")
    return doc


def _text_flags(pymupdf: Any) -> int:
    return (pymupdf.TEXTFLAGS_TEXT | pymupdf.TEXT_DEHYPHENATE) & ~pymupdf.TEXT_PRESERVE_LIGATURES


def _block_text(lines: list[str]) -> str:
    """Lines joined; a hyphen between two lower-case letters at a line end is undone."""
    text = ""
    for line in (ln.strip() for ln in lines):
        if not line:
            continue
        if text.endswith("-") and len(text) > 1 and text[-2].islower() and line[0].islower():
            text = text[:-1] + line
        else:
            text = f"{text} {line}" if text else line
    return " ".join(text.split())


def read_page(page: Any, number: int, flags: int) -> PageLayout:
    """A page's text blocks and graphics, clipped to the page."""
    rect = page.rect
    box = (rect.x0, rect.y0, rect.x1, rect.y1)
    blocks = []
    for block in page.get_text("dict", flags=flags)["blocks"]:
        lines = block.get("lines") or []
        spans = [s for line in lines for s in line["spans"] if s["text"].strip()]
        if not spans:
            continue
        text = _block_text(["".join(s["text"] for s in line["spans"]) for line in lines])
        blocks.append(TextBlock(tuple(block["bbox"]), text, len(lines), spans[0]["size"]))
    graphics = []
    # the bbox log places images without decoding them (get_image_info decodes and hashes)
    for kind, where in page.get_bboxlog():
        clipped = _clip(tuple(where), box) if kind in IMAGE_OPS else None
        if clipped:
            graphics.append(Graphic(clipped, raster=True))
    page_area = area(box)
    for path in page.get_cdrawings():
        clipped = _clip(tuple(path["rect"]), box)
        if not clipped or area(clipped) >= 0.85 * page_area or _invisible(path):
            continue
        graphics.append(Graphic(clipped, raster=False))
    return PageLayout(number, rect.width, rect.height, blocks, graphics)


def _clip(r: Rect, page: Rect) -> Rect | None:
    c = (max(r[0], page[0]), max(r[1], page[1]), min(r[2], page[2]), min(r[3], page[3]))
    return c if c[2] >= c[0] and c[3] >= c[1] else None


def _invisible(path: dict) -> bool:
    """White fills with no stroke: page backgrounds and erasers, not figure content."""
    fill = path.get("fill")
    return path.get("type") == "f" and fill is not None and min(fill) >= 0.98


def drop_furniture(layouts: list[PageLayout]) -> None:
    """Remove graphics that repeat at one place on many pages (headers, rules, logos)."""

    def place(g: Graphic) -> tuple:
        return (g.raster, *(round(v) for v in g.bbox))

    counts: Counter = Counter()
    for layout in layouts:
        counts.update({place(g) for g in layout.graphics})
    floor = max(3, FURNITURE_SHARE * len(layouts))
    for layout in layouts:
        layout.graphics = [g for g in layout.graphics if counts[place(g)] < floor]


@dataclass
class _PageFinds:
    layout: PageLayout
    clusters: list[Cluster]
    groups: list[CaptionGroup]
    matches: list[Match]


def _find_on_page(layout: PageLayout) -> _PageFinds:
    groups = caption_groups(layout.number, layout.blocks)
    clusters = cluster_graphics(layout.graphics)
    in_captions = {b for g in groups for b in g.blocks}
    absorbed = absorb_labels(clusters, layout.blocks, in_captions, layout.height)
    matches = match_captions(layout, groups, clusters, absorbed)
    return _PageFinds(layout, clusters, groups, matches)


def find_figures(layouts: list[PageLayout]) -> tuple[list[tuple[CaptionGroup, int, Rect]], list]:
    """(caption group, page, region) per figure, and the unmatched pieces as drops."""
    finds = [_find_on_page(layout) for layout in layouts]
    figures: list[tuple[CaptionGroup, int, Rect]] = []
    orphans: list[CaptionGroup] = []
    claimed: dict[int, set[int]] = {f.layout.number: set() for f in finds}
    for f in finds:
        for m in f.matches:
            claimed[f.layout.number].update(m.clusters)
            if m.group.kind == "figure":
                figures.append((m.group, f.layout.number, m.bbox))
        matched = {id(m.group) for m in f.matches}
        orphans += [
            g for g in f.groups if id(g) not in matched and g.kind == "figure" and not g.continued
        ]
    _attach_continuations(finds, figures)
    drops: list[PdfDrop] = []
    for group in orphans:
        if _lend_text(group, figures):
            continue
        plate = _facing_plate(group, finds, claimed)
        if plate is not None:
            figures.append((group, plate[0], plate[1]))
        else:
            drops.append(PdfDrop(f"F{group.number}", "no_figure_region", _where(group)))
    for f in finds:
        page_area = f.layout.width * f.layout.height
        for i, cluster in enumerate(f.clusters):
            if i not in claimed[f.layout.number] and cluster.figure_like(page_area):
                ident = f"p{f.layout.number + 1}-g{i + 1}"
                detail = f"page {f.layout.number + 1} bbox {[round(v) for v in cluster.bbox]}"
                drops.append(PdfDrop(ident, "no_caption_label", detail))
    figures.sort(key=lambda fig: (fig[1], fig[2][1], fig[2][0]))
    return figures, drops


def _where(group: CaptionGroup) -> str:
    return f"page {group.page + 1}: {group.labels[0].label} {group.texts[0][:80]}".strip()


def _attach_continuations(finds: list[_PageFinds], figures: list) -> None:
    """'Figure 2 (continued) ...' adds its text to Figure 2's caption."""
    for f in finds:
        for group in f.groups:
            if not group.continued or not group.texts[0]:
                continue
            for fig_group, _, _ in figures:
                if fig_group.number == group.number and fig_group.kind == group.kind:
                    fig_group.texts[0] = f"{fig_group.texts[0]} {group.texts[0]}".strip()
                    break


def _lend_text(group: CaptionGroup, figures: list) -> bool:
    """A full caption without a region gives its text to a label-only caption that has one."""
    for fig_group, _, _ in figures:
        if fig_group.number == group.number and fig_group.label_only and not group.label_only:
            fig_group.labels, fig_group.texts = group.labels, group.texts
            return True
    return False


def _facing_plate(group: CaptionGroup, finds: list[_PageFinds], claimed: dict) -> tuple | None:
    """An uncaptioned figure that fills most of the previous or next page."""
    for page in (group.page + 1, group.page - 1):
        if not 0 <= page < len(finds):
            continue
        f = finds[page]
        page_area = f.layout.width * f.layout.height
        for i, cluster in enumerate(f.clusters):
            if i in claimed[page] or not cluster.seed:
                continue
            if area(cluster.bbox) >= 0.25 * page_area and not f.groups:
                claimed[page].add(i)
                return page, cluster.bbox
    return None


def document_title(doc: Any, first: PageLayout | None) -> str | None:
    """The metadata title when it looks like one, else the largest type on page 1."""
    title = " ".join((doc.metadata or {}).get("title", "").split())
    if len(title) >= 15 and not BAD_TITLES.search(title):
        return title
    if first is None or not first.blocks:
        return None
    upper = [
        b
        for b in first.blocks
        if b.bbox[1] < 0.6 * first.height
        and len(b.text) >= 10
        and b.bbox[2] - b.bbox[0] >= b.bbox[3] - b.bbox[1]  # not a sideways margin stamp
    ]
    if not upper:
        return None
    biggest = max(b.size for b in upper)
    sizes = sorted(b.size for b in first.blocks)
    if biggest < 1.15 * sizes[len(sizes) // 2]:
        return None
    return " ".join(b.text for b in upper if b.size >= biggest - 0.1)[:500]


def document_doi(doc: Any, layouts: list[PageLayout]) -> str | None:
    meta = doc.metadata or {}
    texts = [meta.get(k) or "" for k in ("subject", "keywords", "title")]
    texts += [b.text for layout in layouts[:2] for b in layout.blocks]
    for text in texts:
        match = DOI_RE.search(text)
        if match:
            return match.group(1).rstrip(".,;)]").lower()
    return None


def render_region(
    doc: Any, page_no: int, bbox: Rect, rasters: list[Rect], config: PdfConfig
) -> NormalisedImage:
    """The region as its embedded JPEG when it is exactly one, else rendered at `dpi`."""
    page = doc[page_no]
    native = _native_image(doc, page, bbox, rasters, config)
    if native is not None:
        return native
    pymupdf = load_pymupdf()
    clip = pymupdf.Rect(*bbox) + (-REGION_PAD, -REGION_PAD, REGION_PAD, REGION_PAD)
    clip &= page.rect
    dpi = config.dpi
    pixels = (clip.width * dpi / 72) * (clip.height * dpi / 72)
    if pixels > config.max_image_pixels:  # a huge region is rendered smaller, not dropped
        dpi = int(dpi * (config.max_image_pixels / pixels) ** 0.5)
    pix = page.get_pixmap(clip=clip, dpi=max(dpi, 1), alpha=False)
    return normalise_image(pix.tobytes("png"), config.max_image_pixels)


def _native_image(
    doc: Any, page: Any, bbox: Rect, rasters: list[Rect], config: PdfConfig
) -> NormalisedImage | None:
    """The embedded JPEG when the region is exactly one upright, unclipped, unmasked one.

    Other encodings would need a PNG encode of the full-resolution image, slower than
    rendering the region, so they are rendered.
    """
    inside = [r for r in rasters if intersection(r, bbox) > 0.5 * area(bbox)]
    if len(inside) != 1 or area(inside[0]) < 0.9 * area(bbox):
        return None  # the region holds more than one image (labels, other graphics)
    # placing images by xref hashes every image of the page: only done for this case
    try:
        infos = page.get_image_info(xrefs=True)
    except Exception:  # noqa: BLE001 - a broken image object: render what the reader sees
        return None
    placed = [
        i
        for i in infos
        if i.get("xref") and intersection(tuple(i["bbox"]), bbox) > 0.5 * area(bbox)
    ]
    if len(placed) != 1:
        return None
    info = placed[0]
    a, b, c, d = info["transform"][:4]
    if info.get("has-mask") or b or c or a <= 0 or d <= 0:
        return None  # masked, rotated or flipped: render what the reader sees
    if "DCTDecode" not in (doc.xref_get_key(info["xref"], "Filter")[1] or ""):
        return None
    try:
        return normalise_image(doc.xref_stream_raw(info["xref"]), config.max_image_pixels)
    except ImageRejected:
        return None


def parse_pdf(data: bytes, uri: str, config: PdfConfig) -> PdfDocument:
    """Every labelled figure of a PDF with its caption and image; the rest as drops."""
    pymupdf = load_pymupdf()
    doc = open_pdf(data, uri, config.max_pages)
    flags = _text_flags(pymupdf)
    layouts = []
    for number in range(doc.page_count):
        try:  # loading the page too: a cycle or a malformed page tree fails there
            try:
                page = doc[number]
            except IndexError:
                break  # a page count that promises more pages than the tree holds
            layouts.append(read_page(page, number, flags))
        except Exception as exc:  # noqa: BLE001 - MuPDF errors on one broken page
            raise StageError("pdf_parse_error", f"{uri}: page {number + 1}: {exc}") from None
    if not any(layout.blocks for layout in layouts):
        rasters = sum(g.raster for layout in layouts for g in layout.graphics)
        raise StageError(
            "pdf_no_text_layer", f"{uri}: no text on {len(layouts)} pages ({rasters} images)"
        )
    drop_furniture(layouts)
    result = PdfDocument(len(layouts), document_title(doc, layouts[0]), document_doi(doc, layouts))
    found, result.drops = find_figures(layouts)
    for group, page_no, bbox in found:
        figure = PdfFigure(
            number=group.number,
            label=group.labels[0].label,
            caption=group.texts[0] or None,
            captions_other=[(guess_language(text), text) for text in group.texts[1:] if text],
            page=page_no,
            bbox=tuple(round(v, 2) for v in bbox),
        )
        try:
            rasters = [g.bbox for g in layouts[page_no].graphics if g.raster]
            figure.image = render_region(doc, page_no, bbox, rasters, config)
        except ImageRejected as exc:
            figure.image_drop = (exc.reason, exc.detail)
        except Exception as exc:  # noqa: BLE001 - MuPDF on one broken region: the rest go on
            figure.image_drop = ("image_unreadable", f"page {page_no + 1}: {exc}"[:500])
        result.figures.append(figure)
    return result
