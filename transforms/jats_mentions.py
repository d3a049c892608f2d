"""`mentions`: the sentences of an article's running text that cite each figure.

One text serialisation per `<body>` (libxml2 does it in C) instead of one per paragraph:
the paragraphs that cite a figure are bracketed with private-use marks, each figure xref
gets a mark that carries its index, and the Python side only splits strings. Floats
(figures, tables, videos, attached files, footnotes) are stripped from the bodies first,
so a caption's own text or a table never becomes part of a sentence, and an xref inside
another figure's caption is not a mention. Mutates the tree: call it after the captions
are read.
"""

from __future__ import annotations

from collections.abc import Iterator

from lxml import etree

from transforms.jats_text import nearest_ancestor
from transforms.sentences import sentences_at

PARAGRAPHS = frozenset({"p", "title", "td", "li"})
BODY = frozenset({"body"})
FLOATS = (
    "fig",
    "fig-group",
    "table-wrap",
    "table-wrap-group",
    "supplementary-material",
    "media",  # eLife videos sit inside paragraphs, with captions
    "chem-struct-wrap",
    "fn",
)
MAX_MENTIONS = 20
MAX_MENTION_CHARS = 1000
# private-use characters, never in real text
START, END, MARK = "\ue001", "\ue002", "\ue000"
INDEX_BASE = 0xF0000  # plane 15: one code point per xref index


def fig_mentions(
    bodies: list[etree._Element], fig_xrefs: list[etree._Element]
) -> dict[str, list[str]]:
    """fig id (an xref's rid) -> the citing sentences, in document order, deduplicated."""
    for body in bodies:
        etree.strip_elements(body, *FLOATS, with_tail=False)
    marked_rids: list[str] = []
    in_body: dict[etree._Element, bool] = {}
    cited_bodies: dict[etree._Element, None] = {}
    for xref in fig_xrefs:
        para = nearest_ancestor(xref, PARAGRAPHS)
        if para is None:
            continue
        if para not in in_body:
            body = nearest_ancestor(para, BODY)
            in_body[para] = body is not None
            if body is None:
                continue  # stripped with a float, or in back matter
            cited_bodies[body] = None
            para.text = START + (para.text or "")
            para.tail = END + (para.tail or "")
        if in_body[para]:
            xref.text = MARK + chr(INDEX_BASE + len(marked_rids)) + (xref.text or "")
            marked_rids.append(xref.get("rid") or "")
    mentions: dict[str, list[str]] = {}
    for body in cited_bodies:
        text = etree.tostring(body, method="text", encoding=str, with_tail=False)
        for chunk in _marked_paragraphs(text):
            _add_sentences(chunk, marked_rids, mentions)
    return mentions


def _marked_paragraphs(text: str) -> Iterator[str]:
    """Each START's text up to its END or the next START (a cited paragraph nested inside)."""
    # find and slice: splitting would copy the whole body's text
    start = text.find(START)
    while start >= 0:
        following = text.find(START, start + 1)
        bound = len(text) if following < 0 else following
        end = text.find(END, start + 1, bound)
        yield text[start + 1 : bound if end < 0 else end]
        start = following


def _add_sentences(chunk: str, marked_rids: list[str], mentions: dict[str, list[str]]) -> None:
    pieces = chunk.split(MARK)
    clean = [pieces[0]]
    offsets: list[int] = []
    rids: list[str] = []
    position = len(pieces[0])
    for piece in pieces[1:]:
        rids.append(marked_rids[ord(piece[0]) - INDEX_BASE])
        offsets.append(position)
        clean.append(piece[1:])
        position += len(piece) - 1
    for rid_list, sentence in zip(rids, sentences_at("".join(clean), offsets), strict=True):
        sentence = sentence[:MAX_MENTION_CHARS]
        for rid in rid_list.split():
            found = mentions.setdefault(rid, [])
            if sentence not in found and len(found) < MAX_MENTIONS:
                found.append(sentence)
