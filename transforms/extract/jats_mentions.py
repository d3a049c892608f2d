"""`mentions`: the sentences of an article's running text that cite each figure.

Each paragraph that cites a figure is serialised once, by libxml2 in C, and the Python side
only splits strings: the paragraph's text starts with a private-use mark, a nested one's
tail with another (so its span can be cut out of the outer paragraph's text: each
paragraph's sentences are its own), and each figure xref's text starts with a mark and two
characters that carry its index. All marks are in the Basic Multilingual Plane, so they
never widen the text to four bytes a character.

Running text is a `<body>` outside floats: an xref or paragraph inside a figure, table,
video, attached file or footnote is not a mention, and floats inside a cited paragraph are
stripped before it is serialised, so a caption's text never becomes part of a sentence.
Mutates the tree: call it after the captions are read.
"""

from __future__ import annotations

import re

from lxml import etree

from transforms.extract.sentences import sentences_at

PARAGRAPHS = frozenset({"p", "title", "td", "li"})
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
FLOAT_TAGS = frozenset(FLOATS)
MAX_MENTIONS = 20
MAX_MENTION_CHARS = 1000
# private-use characters, never in real text
MARK, START, END = "\ue000", "\ue001", "\ue002"
_NESTING = re.compile(f"[{START}{END}]")
INDEX_BASE, INDEX_RADIX = 0xE100, 0x1700  # two digits: up to 34M xrefs an article


def fig_mentions(
    fig_xrefs: list[etree._Element], floats: list[etree._Element]
) -> dict[str, list[str]]:
    """fig id (an xref's rid) -> the citing sentences, in document order, deduplicated.

    `floats` are the article's float elements, so that only the cited paragraphs that hold
    one are stripped (strip_elements builds its tag matcher on every call)."""
    in_running_text: dict[etree._Element, bool] = {}
    cited: list[etree._Element] = []
    marked_rids: list[str] = []
    nested = False
    for xref in fig_xrefs:
        para = xref.getparent()
        if para is not None and para.tag not in PARAGRAPHS:  # most xrefs sit in one
            para = _paragraph_of(para)
        if para is None:
            continue
        verdict = in_running_text.get(para)
        if verdict is None:
            verdict, inside_paragraph = _running_text(para)
            in_running_text[para] = verdict
            if verdict:
                cited.append(para)
                para.text = START + (para.text or "")
                if inside_paragraph:
                    nested = True
                    para.tail = END + (para.tail or "")
        if verdict:
            high, low = divmod(len(marked_rids), INDEX_RADIX)
            xref.text = MARK + chr(INDEX_BASE + high) + chr(INDEX_BASE + low) + (xref.text or "")
            marked_rids.append(xref.get("rid") or "")
    if nested:  # a nested paragraph can be cited first: take paragraphs in document order
        cited = _in_document_order(cited)
    for para in _holding_floats(floats, set(cited)):
        etree.strip_elements(para, *FLOATS, with_tail=False)
    mentions: dict[str, list[str]] = {}
    for para in cited:
        text = etree.tostring(para, method="text", encoding=str, with_tail=False)
        _add_sentences(_own_text(text) if nested else text[1:], marked_rids, mentions)
    return mentions


def _own_text(text: str) -> str:
    """A cited paragraph's text without the cited paragraphs nested in it."""
    kept = []
    depth, pos = 0, 1
    for mark in _NESTING.finditer(text, 1):
        if mark.group() == START:
            if depth == 0:
                kept.append(text[pos : mark.start()])
            depth += 1
        elif depth:
            depth -= 1
            pos = mark.end()
    kept.append(text[pos:] if depth == 0 else "")
    return "".join(kept)


def _paragraph_of(node: etree._Element | None) -> etree._Element | None:
    """The nearest paragraph from `node` up, or None when a float or nothing comes first."""
    while node is not None:
        tag = node.tag
        if tag in PARAGRAPHS:
            return node
        if tag in FLOAT_TAGS:
            return None
        node = node.getparent()
    return None


def _running_text(para: etree._Element) -> tuple[bool, bool]:
    """(whether the paragraph is in a body outside floats, whether it is in a paragraph)."""
    inside_paragraph = False
    node = para.getparent()
    while node is not None:
        tag = node.tag
        if tag == "body":
            return True, inside_paragraph
        if tag in FLOAT_TAGS:
            return False, inside_paragraph
        inside_paragraph = inside_paragraph or tag in PARAGRAPHS
        node = node.getparent()
    return False, inside_paragraph


def _holding_floats(
    floats: list[etree._Element], cited: set[etree._Element]
) -> dict[etree._Element, None]:
    """The cited paragraphs with a float somewhere inside."""
    holding: dict[etree._Element, None] = {}
    for el in floats:
        node = el.getparent()
        while node is not None and node.tag != "body":
            if node in cited:
                holding[node] = None
            node = node.getparent()
    return holding


def _in_document_order(paras: list[etree._Element]) -> list[etree._Element]:
    wanted = set(paras)
    root = paras[0].getroottree().getroot()
    return [el for el in root.iter(*PARAGRAPHS) if el in wanted]


def _add_sentences(chunk: str, marked_rids: list[str], mentions: dict[str, list[str]]) -> None:
    pieces = chunk.split(MARK)
    if len(pieces) == 1:
        return
    clean = [pieces[0]]
    offsets: list[int] = []
    rids: list[str] = []
    position = len(pieces[0])
    for piece in pieces[1:]:
        rids.append(
            marked_rids[(ord(piece[0]) - INDEX_BASE) * INDEX_RADIX + ord(piece[1]) - INDEX_BASE]
        )
        offsets.append(position)
        clean.append(piece[2:])
        position += len(piece) - 2
    for rid_list, sentence in zip(rids, sentences_at("".join(clean), offsets), strict=True):
        if len(sentence) > MAX_MENTION_CHARS:
            sentence = sentence[:MAX_MENTION_CHARS]
        for rid in rid_list.split():
            found = mentions.get(rid)
            if found is None:
                mentions[rid] = [sentence]
            elif len(found) < MAX_MENTIONS and sentence not in found:
                found.append(sentence)
