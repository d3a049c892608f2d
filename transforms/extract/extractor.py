"""The extract stage's unit function: one article source -> figure records."""

from __future__ import annotations

import os
import posixpath
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

from schemas import FIGURE_SCHEMA, new_record
from transforms.extract.images import (
    DEFAULT_MAX_PIXELS,
    ImageRejected,
    image_fields,
    normalise_image,
)
from transforms.extract.jats import FigureCandidate, ParsedArticle, parse_articles
from transforms.extract.jats_meta import ArticleMeta
from transforms.extract.media import MediaIndex
from transforms.extract.notices import NOTICES
from transforms.extract.packages import MAX_MEMBER_BYTES, MAX_PACKAGE_BYTES, read_package
from transforms.extract.pdf import DEFAULT_DPI, DEFAULT_MAX_PAGES, PdfConfig
from transforms.extract.pdf_records import PdfFallback, pdf_unit
from transforms.extract.sources import (
    NON_ARTICLE_XML,
    OUTSIDE_ROOT,
    XML_SUFFIXES,
    ArticleSource,
    suffix_of,
)
from transforms.keys import article_key, figure_key, split_pmc_version, unique_key
from transforms.ledger import Drop, StageError, UnitResult

MAX_XML_BYTES = 256 * 1024 * 1024
MAX_MEDIA_BYTES = 512 * 1024 * 1024  # one image or PDF beside an XML

ReadBytes = Callable[[str, int], bytes]
OpenStream = Callable[[str], BinaryIO]


@dataclass(frozen=True)
class ExtractConfig:
    keep_missing_images: bool = False
    max_image_pixels: int = DEFAULT_MAX_PIXELS
    max_xml_bytes: int = MAX_XML_BYTES
    max_package_bytes: int = MAX_PACKAGE_BYTES  # the XML and images kept from one package
    max_package_member_bytes: int = MAX_MEMBER_BYTES
    max_media_bytes: int = MAX_MEDIA_BYTES
    pdf_dpi: int = DEFAULT_DPI
    pdf_timeout_s: float = 120.0
    pdf_max_pages: int = DEFAULT_MAX_PAGES

    def pdf_config(self) -> PdfConfig:
        return PdfConfig(
            self.pdf_dpi, self.pdf_timeout_s, self.pdf_max_pages, self.max_image_pixels
        )


def read_local(uri: str, limit: int) -> bytes:
    """Read a local file, refusing one larger than `limit` bytes."""
    with open(uri, "rb") as handle:
        if os.fstat(handle.fileno()).st_size > limit:
            raise StageError("file_too_large", f"{uri}: larger than {limit} bytes")
        return handle.read()


def open_local(uri: str) -> BinaryIO:
    return open(uri, "rb")  # noqa: SIM115 - the caller closes it


def _stem(uri: str) -> str:
    name = posixpath.basename(uri)
    for suffix in (".tar.gz", ".tgz", ".nxml", ".xml", ".pdf"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def name_version(names: list[str], pmcid: str | None) -> int | None:
    """The version in a PMC Cloud folder or file name (`PMC1234567.2`) of this article.

    A name counts only when its PMCID is the article's (or the article states none), so a
    folder named after one article does not lend its version to another.
    """
    for name in names:
        base, version = split_pmc_version(name)
        if version is not None and (pmcid is None or base == article_key(pmcid, None, "")):
            return version
    return None


def _meta_fields(meta: ArticleMeta, names: list[str]) -> dict:
    version = name_version(names, meta.pmcid)
    return {
        "pmcid": meta.pmcid,
        "pmid": meta.pmid,
        "doi": meta.doi,
        "article_version": meta.version if version is None else version,
        "article_title": meta.title,
        "journal": meta.journal,
        "year": meta.year,
        "article_type": meta.article_type,
        "language": meta.language,
        "license": meta.license,
        "license_url": meta.license_url,
        "authors": meta.authors,
        "citation": meta.citation,
    }


class Extractor:
    """Callable unit function; `read` fetches bytes and `open_stream` opens a package to
    stream (Beam filesystems in the pipeline)."""

    def __init__(
        self,
        config: ExtractConfig,
        read: ReadBytes = read_local,
        open_stream: OpenStream = open_local,
    ) -> None:
        self.config = config
        self.read = read
        self.open_stream = open_stream

    def __call__(self, source: ArticleSource) -> UnitResult:
        if source.kind == "xml":
            data = self.read(source.uri, self.config.max_xml_bytes)
            media = MediaIndex(source.media)
            names = [n for n in (source.folder_key, _stem(source.uri)) if n] or [""]
            refused = frozenset(source.outside_root)

            def read_media(uri: str) -> bytes:
                if uri in refused:
                    raise StageError(OUTSIDE_ROOT, f"{uri}: a link out of the input root, unread")
                return self._read_media(uri)

            return self._from_xml(data, source.uri, media, names, read_media)
        if source.kind == "targz":
            return self._from_package(source)
        if source.kind == "pdf":
            data = self.read(source.uri, self.config.max_media_bytes)
            return pdf_unit(
                data, source.uri, self.config.pdf_config(), self.config.keep_missing_images
            )
        if source.kind == OUTSIDE_ROOT:
            raise StageError(OUTSIDE_ROOT, f"{source.uri}: a link out of the input root, unread")
        if source.kind == "missing":
            raise StageError("input_missing", f"{source.uri}: listed in the input, not found")
        raise StageError("unsupported_source", f"{source.uri}: no extractor for {source.kind!r}")

    def _read_media(self, uri: str) -> bytes:
        return self.read(uri, self.config.max_media_bytes)

    def _from_package(self, source: ArticleSource) -> UnitResult:
        with self.open_stream(source.uri) as stream:
            files = read_package(
                stream,
                source.uri,
                self.config.max_package_member_bytes,
                self.config.max_package_bytes,
            )
        xmls = [
            name
            for name in sorted(files)
            if suffix_of(name) in XML_SUFFIXES
            and posixpath.basename(name).lower() not in NON_ARTICLE_XML
        ]
        if not xmls:
            raise StageError("package_without_xml", f"{source.uri}: no .xml/.nxml in the package")
        media = MediaIndex(files)
        result = UnitResult()
        for name in xmls:
            part = self._from_xml(
                files[name],
                f"{source.uri}#{name}",
                media,
                [_stem(source.uri)] if len(xmls) == 1 else [_stem(name)],
                files.__getitem__,
            )
            result.records.extend(part.records)
            result.drops.extend(part.drops)
            result.empty_reason = result.empty_reason or part.empty_reason
        return result

    def _from_xml(
        self,
        data: bytes,
        uri: str,
        media: MediaIndex,
        names: list[str],
        read_media: Callable[[str], bytes],
    ) -> UnitResult:
        """`names`: the folder name and file stem, the key's fallback and a version's source."""
        articles = parse_articles(data, uri)
        if not articles:
            return UnitResult(empty_reason="not_an_article")
        result = UnitResult()
        notices = []
        for index, parsed in enumerate(articles):
            fallback = names[0] if len(articles) == 1 else f"{names[0]}-a{index + 1}"
            if parsed.notice:
                notices.append(parsed.notice)
            akey = article_key(parsed.meta.pmcid, parsed.meta.doi, fallback)
            for target in parsed.retracts:
                notice = {"retracts": target, "notice_key": akey, "source_uri": uri}
                result.extra.setdefault(NOTICES, []).append(notice)
            base = new_record(
                FIGURE_SCHEMA,
                source_kind="jats",
                source_uri=uri,
                **_meta_fields(parsed.meta, names),
            )
            self._article_records(parsed, akey, base, uri, media, read_media, result)
        if not result.records and not result.drops:
            result.empty_reason = f"notice:{notices[0]}" if notices else "no_figures"
        return result

    def _article_records(
        self,
        parsed: ParsedArticle,
        akey: str,
        base: dict,
        uri: str,
        media: MediaIndex,
        read_media: Callable[[str], bytes],
        result: UnitResult,
    ) -> None:
        # every figure of the article starts from `base`: copying it costs less than
        # building each from keywords
        pdf = PdfFallback(media, uri, read_media, self.config.pdf_config())
        seen: set[str] = set()
        # figures take their keys first: a graphic-less <fig> repeating an id is the `-dup`
        keys = [unique_key(figure_key(akey, cand.fig_id), seen) for cand in parsed.figures]
        for fig_id in parsed.without_graphic:
            result.drops.append(Drop(unique_key(figure_key(akey, fig_id), seen), "no_graphic", uri))
        for cand, key in zip(parsed.figures, keys, strict=True):
            record = self._figure_record(cand, key, base, uri, media, read_media, pdf)
            if isinstance(record, Drop):
                result.drops.append(record)
            else:
                result.records.append(record)

    def _figure_record(
        self,
        cand: FigureCandidate,
        key: str,
        base: dict,
        uri: str,
        media: MediaIndex,
        read_media: Callable[[str], bytes],
        pdf: PdfFallback,
    ) -> dict | Drop:
        # no files beside the XML (caption-only runs): nothing to look up
        path = next(filter(None, map(media.resolve, cand.hrefs)), None) if media.by_name else None
        fields = base.copy()
        fields.update(
            key=key,
            fig_id=cand.fig_id,
            label=cand.caption.label,
            caption_title=cand.caption.title,
            caption=cand.caption.text,
            captions_other=[
                {"lang": c.lang, "text": c.text} for c in cand.captions_other if c.text
            ],
            mentions=cand.mentions,
        )
        if cand.caption.undeclared_entity:
            fields["field_sources"] = [{"field": "caption", "source": "jats:undeclared_entity"}]
        if len(fields) != len(base):
            raise KeyError(f"fields not in the schema: {sorted(set(fields) - set(base))}")
        if path is None:
            filled = pdf.fill(fields, cand.caption.label)
            if isinstance(filled, dict):
                return new_record(FIGURE_SCHEMA, **filled)
            if not self.config.keep_missing_images:
                return Drop(key, "image_missing", uri, f"{cand.hrefs[0]}; {filled}")
            fields["image_status"] = "missing"
            return fields
        image_uri = f"{uri.split('#', 1)[0]}#{path}" if "#" in uri else path
        try:
            image = normalise_image(read_media(path), self.config.max_image_pixels)
        except ImageRejected as exc:
            if exc.reason == "image_truncated" and self.config.keep_missing_images:
                # caption-only mode keeps the text, without the broken image
                fields.update(image_status="truncated", image_uri=image_uri)
                return fields
            return Drop(key, exc.reason, uri, f"{path}: {exc.detail}")
        except StageError as exc:  # a link out of the root, or over --max-media-bytes
            reason = OUTSIDE_ROOT if exc.error_type == OUTSIDE_ROOT else "image_too_large"
            return Drop(key, reason, uri, f"{path}: {exc}")
        except OSError as exc:
            return Drop(key, "image_unreadable", uri, f"{path}: {exc}")
        stem = posixpath.splitext(posixpath.basename(path))[0]
        return new_record(FIGURE_SCHEMA, **{**fields, **image_fields(image, stem, image_uri)})
