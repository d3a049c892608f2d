"""JATS figures: parse articles safely, find figure–caption pairs by the extract rules.

Rules (see the extract stage in DESIGN.md and the README):
- one candidate per `<fig>` with an image: its own `<graphic>`, the best rendition in
  `<alternatives>`, or its `<fig-group>`'s graphic;
- figures whose images share an href stem are one candidate (bilingual groups,
  translations that reuse the image); the English caption leads;
- a figure with no graphic in a bilingual group lends its caption to the sibling that has one;
- inline graphics, graphics in tables or outside figures, supplementary files are not figures.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field

from lxml import etree

from transforms.extract.jats_mentions import FLOATS, MAX_MENTIONS, fig_mentions
from transforms.extract.jats_meta import (
    NOTICE_TYPES,
    XLINK_HREF,
    XML_LANG,
    ArticleMeta,
    article_meta,
)
from transforms.extract.jats_prune import prune_unread
from transforms.extract.jats_text import (
    element_text,
    has_unknown_entity,
    local,
    nearest_ancestor,
)
from transforms.extract.notices import RETRACTING_TYPES, retraction_targets
from transforms.ledger import StageError

IMAGE_EXTENSIONS = frozenset(
    ".jpg .jpeg .png .tif .tiff .gif .bmp .eps .svg .webp .jp2 .pdf .ps".split()
)
THUMBNAIL_USES = frozenset({"thumbnail", "thumb", "web-thumbnail", "icon"})


@dataclass
class Caption:
    lang: str | None
    label: str | None
    title: str | None
    text: str | None
    fig_id: str | None
    undeclared_entity: bool = False  # `text` keeps an unknown "&name;" as written


@dataclass
class FigureCandidate:
    fig_id: str
    position: int  # 1-based order of the first `<fig>` in the article
    hrefs: list[str]  # image links, most preferred first
    caption: Caption
    captions_other: list[Caption] = field(default_factory=list)
    mentions: list[str] = field(default_factory=list)
    member_ids: list[str] = field(default_factory=list)


@dataclass
class ParsedArticle:
    meta: ArticleMeta
    figures: list[FigureCandidate]
    # figures that have no graphic at all: (fig id or position, label)
    without_graphic: list[str]
    notice: str | None = None  # article type of a retraction/correction notice
    # what a retraction notice retracts: `doi:…`, `pmcid:PMC…`, `pmid:…` (notices.py)
    retracts: tuple[str, ...] = ()


def parse_xml(data: bytes, uri: str = "", prune: bool = False) -> etree._ElementTree:
    """Parse with entity resolution and network off; entity declarations are refused.

    `prune` cuts reference lists and tables out first (see jats_prune), and parses the whole
    file when the cut one does not parse."""
    if not data or data.isspace():  # strip() would copy the whole file
        raise StageError("xml_empty", f"empty file: {uri}")
    if _declares_entities(data):
        raise StageError(
            "xml_entity_declaration",
            f"{uri}: the document declares entities in its DTD (entity expansion and "
            "external entities are refused)",
        )
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_pis=True,
        remove_comments=True,
    )
    pruned = prune_unread(data) if prune else data
    try:
        tree = etree.ElementTree(etree.fromstring(pruned, parser))
    except etree.XMLSyntaxError as exc:
        if pruned is data:
            raise StageError("xml_malformed", f"{uri}: {exc}") from None
        return parse_xml(data, uri)
    root = tree.getroot()
    if isinstance(root.tag, str) and root.tag.startswith("{") and not root.tag.startswith(MATHML):
        _strip_namespaces(root, uri)
    dtd = tree.docinfo.internalDTD
    if dtd is not None and any(True for _ in dtd.iterentities()):
        raise StageError("xml_entity_declaration", f"{uri}: the DTD declares entities")
    return tree


_ENTITY_DECL = re.compile(rb"<!ENTITY", re.IGNORECASE)


def _declares_entities(data: bytes) -> bool:
    """An internal DTD subset with <!ENTITY …> (billion laughs, XXE), looked for before parsing."""
    doctype = data.find(b"<!DOCTYPE", 0, 65536)
    if doctype < 0:
        return False
    close = data.find(b">", doctype)
    bracket = data.find(b"[", doctype, close if close > 0 else None)
    if bracket < 0:
        return False  # no internal subset: only a public/system DTD id, never loaded
    end = data.find(b"]>", bracket)
    return bool(_ENTITY_DECL.search(data, bracket, end if end > 0 else len(data)))


MATHML = "{http://www.w3.org/1998/Math/MathML}"


def _strip_namespaces(root: etree._Element, uri: str) -> None:
    """JATS in a default namespace: bare names, so the rules' paths match. MathML stays."""
    for el in root.iter():
        tag = el.tag
        if isinstance(tag, str) and tag.startswith("{") and not tag.startswith(MATHML):
            try:
                el.tag = tag.rsplit("}", 1)[1]
            except ValueError:  # libxml2 let through a name lxml refuses, e.g. ":x"
                raise StageError("xml_malformed", f"{uri}: invalid element name {tag!r}") from None


def find_articles(tree: etree._ElementTree) -> list[etree._Element]:
    """`<article>` elements: the root, or the articles of a collection file."""
    root = tree.getroot()
    if local(root.tag) == "article":
        return [root]
    found = []
    for el in root.iter("article"):
        parent = el.getparent()
        while parent is not None and local(parent.tag) != "article":
            parent = parent.getparent()
        if parent is None:
            found.append(el)
    return found


def href_stem(href: str) -> str:
    """'a/b/pone.0000217.g001.tif' -> 'pone.0000217.g001' (only image extensions stripped)."""
    name = posixpath.basename(href.strip().replace("\\", "/").rstrip("/"))
    root, ext = posixpath.splitext(name)
    return (root if ext.lower() in IMAGE_EXTENSIONS else name).lower()


def _lang_of(el: etree._Element, known: dict[etree._Element, str | None]) -> str | None:
    """The nearest xml:lang, self included; `known` keeps each ancestor's, as figures share them."""
    lang = el.get(XML_LANG)
    if lang is not None:
        return lang.lower() or None
    parent = el.getparent()
    if parent is None:
        return None
    if parent not in known:
        known[parent] = _lang_of(parent, known)
    return known[parent]


@dataclass
class FigChildren:
    label: etree._Element | None = None
    caption: etree._Element | None = None
    # block graphics directly in the fig or fig-group, or in its `<alternatives>`
    graphics: list[etree._Element] = field(default_factory=list)


def fig_children(el: etree._Element) -> FigChildren:
    """A fig's or fig-group's label, caption and graphics, in one pass over its children."""
    found = FigChildren()
    for child in el:
        name = local(child.tag)
        if name == "graphic":
            found.graphics.append(child)
        elif name == "alternatives":
            found.graphics.extend(c for c in child if local(c.tag) == "graphic")
        elif name == "caption":
            found.caption = found.caption if found.caption is not None else child
        elif name == "label":
            found.label = found.label if found.label is not None else child
    return found


_DOI_LINE = re.compile(r"^DOI:?\s*\S+$", re.IGNORECASE)
_SIZED = re.compile(r"\d+x\d+")


def _is_thumbnail(graphic: etree._Element) -> bool:
    """Thumbnails and sized web renditions (SciELO's `scielo-267x140`) rank last."""
    href = (graphic.get(XLINK_HREF) or "").lower()
    use = (graphic.get("specific-use") or "").lower()
    content = (graphic.get("content-type") or "").lower()
    return (
        use in THUMBNAIL_USES
        or content in THUMBNAIL_USES
        or bool(_SIZED.search(content))
        or ".thumbnail" in href
        or "thumb" in href.rsplit("/", 1)[-1]
    )


def ordered_hrefs(graphics: list[etree._Element]) -> list[str]:
    """Full-size renditions before thumbnails; empty hrefs skipped."""
    if len(graphics) == 1:  # most figures: nothing to rank
        href = (graphics[0].get(XLINK_HREF) or graphics[0].get("href") or "").strip()
        return [href] if href else []
    hrefs = [((g.get(XLINK_HREF) or g.get("href") or "").strip(), g) for g in graphics]
    usable = [(href, g) for href, g in hrefs if href]
    if len(usable) > 1:  # most figures have one graphic: nothing to rank
        usable.sort(key=lambda pair: _is_thumbnail(pair[1]))  # stable: document order
    return [href for href, _ in usable]


def _caption_of(fig: etree._Element, children: FigChildren, lang: str | None) -> Caption:
    label = element_text(children.label) or None
    cap = children.caption
    title = None
    text = None
    if cap is not None:
        kids = [child for child in cap if type(child.tag) is str]
        parts = [element_text(child) for child in kids]
        if kids and local(kids[0].tag) == "title":
            title = parts[0] or None
        # eLife ends captions with a "DOI: http://dx.doi.org/…" paragraph: not caption text
        text = " ".join(p for p in parts if p and not _DOI_LINE.match(p)) or None
    undeclared = cap is not None and has_unknown_entity(cap)
    return Caption(lang, label, title, text, fig.get("id"), undeclared)


NOT_FIGURE_ANCESTORS = frozenset({"table-wrap", "table", "supplementary-material"})


def _prefers(candidate: Caption, current: Caption) -> bool:
    """English leads; otherwise the first seen stays."""
    return (candidate.lang or "").startswith("en") and not (current.lang or "").startswith("en")


@dataclass
class ArticleParts:
    """What the rules need, gathered in one walk of the tree."""

    figs: list[etree._Element] = field(default_factory=list)
    groups: list[etree._Element] = field(default_factory=list)
    fig_xrefs: list[etree._Element] = field(default_factory=list)
    floats: list[etree._Element] = field(default_factory=list)  # every float, figures too


def article_parts(article: etree._Element) -> ArticleParts:
    parts = ArticleParts()
    for el in article.iter("xref", *FLOATS):
        tag = el.tag
        if tag == "xref":
            if el.get("ref-type") == "fig":
                parts.fig_xrefs.append(el)
            continue
        parts.floats.append(el)
        if tag == "fig":
            if nearest_ancestor(el, NOT_FIGURE_ANCESTORS) is None:
                parts.figs.append(el)
        elif tag == "fig-group":
            parts.groups.append(el)
    return parts


def figure_candidates(figs: list[etree._Element]) -> tuple[list[FigureCandidate], list[str]]:
    by_stem: dict[str, FigureCandidate] = {}
    ordered: list[FigureCandidate] = []
    orphans: list[tuple[etree._Element, Caption, str]] = []
    owner_of: dict[int, FigureCandidate] = {}
    langs: dict[etree._Element, str | None] = {}
    for position, fig in enumerate(figs, start=1):
        parent = fig.getparent()
        in_group = parent is not None and local(parent.tag) == "fig-group"
        children = fig_children(fig)
        hrefs = ordered_hrefs(children.graphics)
        if not hrefs and in_group:
            hrefs = ordered_hrefs(fig_children(parent).graphics)
        fig_id = fig.get("id") or (parent.get("id") if in_group and parent.get("id") else None)
        fig_id = fig_id or f"fig{position}"
        caption = _caption_of(fig, children, _lang_of(fig, langs))
        if not hrefs:
            orphans.append((fig, caption, fig_id))
            continue
        stem = href_stem(hrefs[0])
        existing = by_stem.get(stem)
        if existing is None:
            cand = FigureCandidate(fig_id, position, hrefs, caption, member_ids=[fig_id])
            by_stem[stem] = cand
            ordered.append(cand)
        else:
            cand = existing
            cand.member_ids.append(fig_id)
            if _prefers(caption, cand.caption):
                cand.captions_other.append(cand.caption)
                cand.caption = caption
            else:
                cand.captions_other.append(caption)
        owner_of[id(fig)] = cand
        if fig.get("id"):
            cand.member_ids.append(fig.get("id"))
    without_graphic = []
    for fig, caption, fig_id in orphans:
        parent = fig.getparent()
        sibling_owner = None
        if parent is not None and local(parent.tag) == "fig-group":
            owners = [owner_of[id(s)] for s in parent if id(s) in owner_of]
            other_lang = [o for o in owners if o.caption.lang != caption.lang]
            sibling_owner = (other_lang or owners or [None])[0]
        if sibling_owner is None:
            without_graphic.append(fig_id)
            continue
        if _prefers(caption, sibling_owner.caption):
            sibling_owner.captions_other.append(sibling_owner.caption)
            sibling_owner.caption = caption
        else:
            sibling_owner.captions_other.append(caption)
        sibling_owner.member_ids.append(fig_id)
    return ordered, without_graphic


def parse_article(article: etree._Element) -> ParsedArticle:
    meta = article_meta(article)
    if (meta.article_type or "").lower() in NOTICE_TYPES:
        notice = meta.article_type.lower()
        retracts = retraction_targets(article) if notice in RETRACTING_TYPES else ()
        return ParsedArticle(meta, [], [], notice=notice, retracts=retracts)
    parts = article_parts(article)
    figures, without_graphic = figure_candidates(parts.figs)
    if figures:
        mentions = fig_mentions(parts.fig_xrefs, parts.floats)
        # a fig-group's id stands for its figures: the ids of the figures in each group
        group_members: dict[str, set[str]] = {}
        for group in parts.groups:
            if group.get("id"):
                member_ids = {f.get("id") for f in group}
                group_members[group.get("id")] = member_ids - {None, ""}
        for cand in figures:
            ids = list(dict.fromkeys(cand.member_ids))
            own = set(ids)
            ids += [gid for gid, members in group_members.items() if members & own]
            seen: list[str] = []
            for fid in ids:
                for sentence in mentions.get(fid, []):
                    if sentence not in seen:
                        seen.append(sentence)
            cand.mentions = seen[:MAX_MENTIONS]
    return ParsedArticle(meta, figures, without_graphic)


def parse_articles(data: bytes, uri: str = "", prune: bool = True) -> list[ParsedArticle]:
    tree = parse_xml(data, uri, prune)
    articles = find_articles(tree)
    return [parse_article(a) for a in articles]
