"""Figure records from a PDF, and PDF images for JATS figures whose image files are missing.

Keys follow the JATS ones: the article is the PMCID when the file is named by one
(`PMC1234567.pdf`, or `PMC1234567.2.pdf` as PMC Cloud names version 2, which also gives
`article_version`), else a slug of the DOI found in the PDF, else the file stem; the figure
id comes from the label ("Figure 3" -> F3, "Figure S2" -> FS2).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from typing import Any

from schemas import FIGURE_SCHEMA, new_record
from transforms.extract.images import image_fields
from transforms.extract.media import MediaIndex
from transforms.extract.pdf import PdfConfig, PdfDocument, PdfFigure
from transforms.extract.pdf_captions import label_key
from transforms.extract.pdf_run import parse_pdf_limited
from transforms.keys import article_key, figure_key, split_pmc_version, unique_key
from transforms.ledger import Drop, StageError, UnitResult

# the fields a JATS article keeps when its PDF lends the image
JATS_FIELDS = ("label", "caption_title", "caption", "captions_other", "mentions", "metadata")


_PMCID = re.compile(r"PMC\d+", re.IGNORECASE)


def pdf_stem(uri: str) -> str:
    name = posixpath.basename(uri)
    return name[:-4] if name.lower().endswith(".pdf") else name


def pmc_name(stem: str) -> tuple[str | None, int | None]:
    """(PMCID, version) of a PDF named by PMC: 'PMC1234567.2' -> ('PMC1234567', 2)."""
    base, version = split_pmc_version(stem)
    if _PMCID.fullmatch(base):
        return base.upper(), version
    return None, None


def pdf_image_fields(figure: PdfFigure, pdf_uri: str, name: str) -> dict[str, Any]:
    if figure.image is None:
        raise ValueError(f"{pdf_uri}: figure on page {figure.page + 1} has no image")
    return image_fields(figure.image, name, f"{pdf_uri}#page={figure.page + 1}")


def pdf_unit(data: bytes, uri: str, config: PdfConfig, keep_missing_images: bool) -> UnitResult:
    """One PDF -> its figure records; uncaptioned graphics and imageless figures as drops."""
    doc = parse_pdf_limited(data, uri, config)
    named_pmcid, version = pmc_name(pdf_stem(uri))
    akey = article_key(named_pmcid, doc.doi, pdf_stem(uri))
    result = UnitResult()
    seen: set[str] = set()
    for figure in doc.figures:
        key = unique_key(figure_key(akey, f"F{figure.number}"), seen)
        fields = dict(
            key=key,
            doi=doc.doi,
            article_version=version,
            article_title=doc.title,
            fig_id=f"F{figure.number}",
            label=figure.label,
            caption=figure.caption,
            captions_other=[{"lang": lang, "text": text} for lang, text in figure.captions_other],
            source_kind="pdf",
            source_uri=uri,
        )
        if figure.image is not None:
            name = f"{pdf_stem(uri)}-F{figure.number}"
            result.records.append(
                new_record(FIGURE_SCHEMA, **fields, **pdf_image_fields(figure, uri, name))
            )
        elif keep_missing_images:
            result.records.append(new_record(FIGURE_SCHEMA, image_status="missing", **fields))
        else:
            reason, detail = figure.image_drop or ("image_missing", "")
            result.drops.append(Drop(key, reason, uri, detail))
    for drop in doc.drops:
        key = unique_key(figure_key(akey, drop.ident), seen)  # a second "Figure 1": F1-dup
        result.drops.append(Drop(key, drop.reason, uri, drop.detail))
    if not result.records and not result.drops:
        result.empty_reason = "no_figures"
    return result


class PdfFallback:
    """The PDF beside a JATS article, parsed on first need, lending images by label."""

    def __init__(
        self,
        media: MediaIndex,
        xml_uri: str,
        read_media: Callable[[str], bytes],
        config: PdfConfig,
    ) -> None:
        self.path = article_pdf(media, xml_uri)
        self.read_media = read_media
        self.config = config
        self._doc: PdfDocument | None = None
        self.failure: str | None = None
        self._used: set[str] = set()

    def _document(self) -> PdfDocument | None:
        if self._doc is None and self.failure is None and self.path is not None:
            try:
                self._doc = parse_pdf_limited(self.read_media(self.path), self.path, self.config)
            except (StageError, OSError) as exc:
                self.failure = f"{getattr(exc, 'error_type', type(exc).__name__)}: {exc}"
        return self._doc

    def fill(self, fields: dict[str, Any], label: str | None) -> dict[str, Any] | str:
        """Image fields from the PDF figure with this label, or why there are none."""
        if self.path is None:
            return "no PDF beside the XML"
        number = label_key(label)
        if number is None:
            return f"no figure label to pair with the PDF ({label!r})"
        doc = self._document()
        if doc is None:
            return f"PDF unusable: {self.failure}"
        figure = next((f for f in doc.figures if f.number == number and f.image), None)
        if figure is None or number in self._used:
            return f"no figure labelled {number} with an image in {self.path}"
        self._used.add(number)
        name = f"{pdf_stem(self.path)}-F{number}"
        sources = [{"field": f, "source": "jats"} for f in JATS_FIELDS]
        sources.append({"field": "image", "source": "pdf"})
        sources = (fields.get("field_sources") or []) + sources
        return {**fields, **pdf_image_fields(figure, self.path, name), "field_sources": sources}


def article_pdf(media: MediaIndex, xml_uri: str) -> str | None:
    """The article's PDF: the one named like the XML, else the only PDF in the folder."""
    pdfs = sorted(p for name, p in media.by_name.items() if name.endswith(".pdf"))
    stem = posixpath.splitext(posixpath.basename(xml_uri.split("#")[-1]))[0].lower()
    named = [p for p in pdfs if pdf_stem(p).lower() == stem]
    if named:
        return named[0]
    return pdfs[0] if len(pdfs) == 1 else None
