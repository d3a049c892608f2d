"""Article sources: what the extract stage takes as one input unit.

Given a listing of files, group them into units: an XML with the media files of
its folder (the PMC Cloud per-article layout, or loose XML), a legacy `.tar.gz`
package, or a PDF that has no XML beside it.
"""

from __future__ import annotations

import posixpath
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

XML_SUFFIXES = (".xml", ".nxml")
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz")
PDF_SUFFIXES = (".pdf",)
LIST_SUFFIXES = (".txt", ".lst", ".list")
# XML files in article folders that are package metadata, not articles
NON_ARTICLE_XML = {"manifest.xml"}
# a listed file that is a link leading out of the input root: never read
OUTSIDE_ROOT = "link_outside_root"


@dataclass(frozen=True)
class ArticleSource:
    # "xml", "targz" or "pdf"; "missing" for a listed path that does not exist;
    # "link_outside_root" for an article file that is a link out of the input root
    kind: str
    uri: str
    media: tuple[str, ...] = ()  # other files of the article's folder
    # the folder name stands in as key when the folder holds one article file
    folder_key: str | None = None
    # media files that are links out of the input root: they resolve hrefs, never get read
    outside_root: tuple[str, ...] = ()


def is_within(path: str, root: str) -> bool:
    """Whether a resolved path lies in a resolved root folder (both absolute, normalised)."""
    root = root.rstrip("/") or "/"
    return path == root or path.startswith(root if root == "/" else root + "/")


def suffix_of(path: str) -> str:
    lower = path.lower()
    for suffix in ARCHIVE_SUFFIXES:
        if lower.endswith(suffix):
            return suffix
    return posixpath.splitext(lower)[1]


def parent_of(uri: str) -> str:
    return uri.rstrip("/").rsplit("/", 1)[0] if "/" in uri.rstrip("/") else ""


def sources_in_folder(
    folder: str, files: Iterable[str], outside_root: frozenset[str] = frozenset()
) -> list[ArticleSource]:
    """The article sources among the files directly inside one folder; `outside_root`: those
    of them that are links out of the input root."""
    files = sorted(files)
    # an article file linked out of the root is a unit that fails unread; a PDF beside an
    # XML is its media, refused when the XML's figures ask for it
    has_xml = any(suffix_of(f) in XML_SUFFIXES and f not in outside_root for f in files)
    refused = [
        f
        for f in files
        if f in outside_root
        and posixpath.basename(f).lower() not in NON_ARTICLE_XML
        and (
            suffix_of(f) in XML_SUFFIXES + ARCHIVE_SUFFIXES
            or suffix_of(f) in PDF_SUFFIXES
            and not has_xml
        )
    ]
    files = [f for f in files if f not in refused]
    xmls = [
        f
        for f in files
        if suffix_of(f) in XML_SUFFIXES and posixpath.basename(f).lower() not in NON_ARTICLE_XML
    ]
    archives = [f for f in files if suffix_of(f) in ARCHIVE_SUFFIXES]
    pdfs = [f for f in files if suffix_of(f) in PDF_SUFFIXES]
    media = tuple(
        f
        for f in files
        if suffix_of(f) not in XML_SUFFIXES + ARCHIVE_SUFFIXES + LIST_SUFFIXES
        and posixpath.basename(f).lower() not in NON_ARTICLE_XML
    )
    folder_name = posixpath.basename(folder.rstrip("/")) or None
    linked_out = tuple(f for f in media if f in outside_root)
    sources = [ArticleSource(kind=OUTSIDE_ROOT, uri=f) for f in refused]
    for xml in xmls:
        sources.append(
            ArticleSource(
                kind="xml",
                uri=xml,
                media=media,
                folder_key=folder_name if len(xmls) == 1 else None,
                outside_root=linked_out,
            )
        )
    sources.extend(ArticleSource(kind="targz", uri=a) for a in archives)
    if not xmls:
        sources.extend(ArticleSource(kind="pdf", uri=p, folder_key=None) for p in pdfs)
    return sources


@dataclass(frozen=True)
class FolderListing:
    """What the listing made of one folder's files: every file is an article file (a unit),
    a media file of one, or unrecognised (with a reason)."""

    sources: list[ArticleSource]
    media_files: int
    unrecognised: list[tuple[str, str]]

    @property
    def article_files(self) -> int:
        return len(self.sources)


def classify_folder(
    folder: str, files: Iterable[str], outside_root: frozenset[str] = frozenset()
) -> FolderListing:
    files = sorted(set(files))
    sources = sources_in_folder(folder, files, outside_root)
    used = {s.uri for s in sources}
    media = {m for s in sources for m in s.media} - used
    unrecognised = []
    for path in files:
        if path in used or path in media:
            continue
        if posixpath.basename(path).lower() in NON_ARTICLE_XML:
            reason = "package_metadata"
        elif not sources:
            reason = "no_article_file_in_folder"
        else:
            reason = "not_article_or_media"
        unrecognised.append((path, reason))
    return FolderListing(sources, len(media), unrecognised)


def group_sources(
    paths: Iterable[str], outside_root: frozenset[str] = frozenset()
) -> list[ArticleSource]:
    """Group a flat listing of files into article sources, folder by folder."""
    by_folder: dict[str, list[str]] = defaultdict(list)
    for path in paths:
        by_folder[parent_of(path)].append(path)
    sources: list[ArticleSource] = []
    for folder in sorted(by_folder):
        sources.extend(sources_in_folder(folder, by_folder[folder], outside_root))
    return sources


def parse_file_list(text: str) -> list[str]:
    """One path or URI a line; blank lines and `#` comments are skipped."""
    return [
        line.strip()
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
