"""Article metadata from JATS front matter: ids, title, journal, year, licence, authors."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lxml import etree

from transforms.extract.jats_text import element_text, first_child, squash
from transforms.keys import split_pmc_version

XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
NOTICE_TYPES = frozenset(
    {"retraction", "correction", "expression-of-concern", "erratum", "retraction-notice"}
)
_CC_URL = re.compile(
    r"creativecommons\.org/(licenses|publicdomain)/([a-z-]+)/(\d(?:\.\d)?)", re.IGNORECASE
)


@dataclass
class ArticleMeta:
    pmcid: str | None = None
    pmid: str | None = None
    doi: str | None = None
    # the article's version, from `pmcid-ver` (`PMC1234567.2`) or `<article-version>`
    version: int | None = None
    title: str | None = None
    journal: str | None = None
    year: int | None = None
    article_type: str | None = None
    language: str | None = None
    license: str | None = None
    license_url: str | None = None
    authors: list[str] = field(default_factory=list)
    citation: str | None = None


# JATS elements are un-namespaced (parse_xml strips a default namespace), so plain names
# find them.


def descendants(el: etree._Element, name: str) -> list[etree._Element]:
    return list(el.iter(name, "{*}" + name))


def _children_by_tag(el: etree._Element | None) -> dict[str, list[etree._Element]]:
    found: dict[str, list[etree._Element]] = {}
    for child in () if el is None else el:
        tag = child.tag
        if type(tag) is str:
            found.setdefault(tag, []).append(child)
    return found


def plain_text(el: etree._Element | None) -> str:
    """Text of a small element without math (names, ids, years)."""
    return "" if el is None else squash("".join(el.itertext()))


def normalise_license(url: str | None, text: str | None) -> str | None:
    """'https://creativecommons.org/licenses/by-nc/3.0/' -> 'CC BY-NC 3.0'."""
    for candidate in (url or "", text or ""):
        m = _CC_URL.search(candidate)
        if m:
            kind, code, version = m.group(1).lower(), m.group(2).lower(), m.group(3)
            if kind == "publicdomain":
                return f"CC0 {version}" if code == "zero" else f"Public Domain Mark {version}"
            return f"CC {code.upper()} {version}"
    lowered = (text or "").lower()
    if "creative commons" in lowered:
        if "public domain" in lowered:
            return "CC0"
        variants = [("noncommercial", "NC"), ("no derivative", "ND"), ("share alike", "SA")]
        suffix = "".join(f"-{code}" for words, code in variants if words in lowered)
        if "attribution" in lowered:
            return f"CC BY{suffix}"
    if "public domain" in lowered:
        return "Public Domain"
    return None


def _license(perms: etree._Element | None) -> tuple[str | None, str | None]:
    if perms is None:
        return None, None
    for lic in descendants(perms, "license"):
        url = lic.get(XLINK_HREF) or lic.get("href")
        for ref in descendants(lic, "license_ref"):
            url = url or squash("".join(ref.itertext()))
        for link in descendants(lic, "ext-link"):
            href = link.get(XLINK_HREF) or ""
            if "creativecommons" in href and not url:
                url = href
        text = element_text(lic)
        name = normalise_license(url, text)
        if name or url:
            return name, url or None
    return None, None


def version_number(text: str) -> int | None:
    """A version that is a whole number ('2', 'v2'); None for 'VoR', '1.2', '' or too large."""
    digits = text.strip().lower().removeprefix("v")
    if not digits.isascii() or not digits.isdigit() or len(digits) > 9:
        return None
    return int(digits)


def _article_version(kids: dict[str, list[etree._Element]]) -> int | None:
    """JATS 1.2+ `<article-version>`, alone or among `<article-version-alternatives>`."""
    versions = list(kids.get("article-version", ()))
    for group in kids.get("article-version-alternatives", ()):
        versions.extend(descendants(group, "article-version"))
    numbers = [n for n in (version_number(plain_text(v)) for v in versions) if n is not None]
    return max(numbers) if numbers else None


def _year(dates: list[etree._Element]) -> int | None:
    order = ("epub", "ppub", "pub", "collection", "epub-ppub", "")

    def rank(d: etree._Element) -> int:
        kind = d.get("pub-type") or d.get("date-type") or ""
        return order.index(kind) if kind in order else len(order)

    for date in sorted(dates, key=rank):
        year = first_child(date, "year")
        if year is not None and (year.text or "").strip().isdigit():
            return int(year.text.strip())
    return None


# one C-level pass: given names and surname of each author, or the group name
_AUTHOR_NAMES = etree.XPath(
    "contrib-group/contrib[not(@contrib-type) or @contrib-type='author']"
    "/*[self::name or self::collab or self::string-name][1]"
)


def _given_and_surname(name: etree._Element) -> str:
    """'given surname' from a `<name>`, in one pass over its children."""
    given = surname = None
    for child in name:
        tag = child.tag
        if tag == "given-names" and given is None:
            given = child.text or ""
        elif tag == "surname" and surname is None:
            surname = child.text or ""
    return f"{given or ''} {surname or ''}"


def _authors(meta_el: etree._Element | None) -> list[str]:
    if meta_el is None:
        return []
    authors = []
    for el in _AUTHOR_NAMES(meta_el):
        if el.tag == "name":
            full = _given_and_surname(el)
        else:
            full = "".join(el.itertext())
        full = squash(full)
        if full:
            authors.append(full)
    return authors


def citation(meta: ArticleMeta) -> str | None:
    """A short attribution line: CC BY requires one."""
    if not (meta.title or meta.doi):
        return None
    names = meta.authors[:3]
    who = ", ".join(names) + (" et al." if len(meta.authors) > 3 else "")
    parts = [who or None, f"({meta.year})" if meta.year else None, meta.title, meta.journal]
    text = ". ".join(p.rstrip(".") for p in parts if p)
    if meta.doi:
        text += f". https://doi.org/{meta.doi}"
    return text


def article_meta(article: etree._Element) -> ArticleMeta:
    """Metadata of an `<article>` (or `<sub-article>`, from its front-stub)."""
    front = first_child(article, "front")
    if front is not None:
        meta_el = first_child(front, "article-meta")
        journal_el = first_child(front, "journal-meta")
    else:
        meta_el, journal_el = first_child(article, "front-stub"), None
    meta = ArticleMeta(article_type=article.get("article-type"))
    lang = article.get(XML_LANG)
    meta.language = lang.lower() if lang else None
    # one pass over article-meta's children, which can be many, instead of a search a field
    kids = _children_by_tag(meta_el)
    if meta_el is not None:
        for aid in kids.get("article-id", ()):
            kind = (aid.get("pub-id-type") or "").lower()
            value = squash("".join(aid.itertext()))
            if kind in ("pmc", "pmcid") and value and not meta.pmcid:
                meta.pmcid = value if value.upper().startswith("PMC") else f"PMC{value}"
            elif kind == "pmid" and value:
                meta.pmid = value
            elif kind == "doi" and value:
                meta.doi = value
            elif kind == "pmcid-ver" and value and meta.version is None:
                meta.version = split_pmc_version(value)[1]
        if meta.version is None:
            meta.version = _article_version(kids)
        groups = kids.get("title-group")
        meta.title = element_text(groups and first_child(groups[0], "article-title")) or None
    if journal_el is not None:
        journal = _children_by_tag(journal_el)
        groups = journal.get("journal-title-group")
        title = groups and first_child(groups[0], "journal-title")
        title = title if title is not None else journal.get("journal-title", [None])[0]
        meta.journal = element_text(title) or None
        if not meta.journal:
            ids = journal.get("journal-id")
            meta.journal = squash("".join(ids[0].itertext())) if ids else None
    meta.year = _year(kids.get("pub-date", []))
    meta.license, meta.license_url = _license(kids.get("permissions", [None])[0])
    meta.authors = _authors(meta_el)
    meta.citation = citation(meta)
    return meta
