"""Split a figure caption into a shared preamble and the panels' own sub-captions.

Marker styles of real captions:
- leading markers that open a panel's text: "(A) …", "A, …", "A. …", "a) …", Nature's
  "a Schematic …", with groups and ranges "(A and B)", "(A–C)", "a, b", and sub-labels "B1";
- positional openers: "Left: …", "Top panels …", "Middle row: …";
- inline references that close a phrase: "… Brain CT (A) and MR images (B, C) showing …".

Leading markers must form an increasing run that starts at "a"/"A"; a marker at a
sentence start outweighs one inside a sentence, so a title such as "Vertebra A, FMNH …"
does not steal the run. Inline references are used only when there are no leading markers.

Every part and the preamble are kept as spans, the pieces of the caption they are made of
(positions in the caption as given, before whitespace is collapsed), so a later stage can
tell exactly which words of the caption belong to which panel; their text is derived.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from transforms.segment.caption_spans import CollapsedCaption, Span
from transforms.segment.marker_chain import Marker, best_chain, label_order

_LABEL = r"[A-Za-z](?:[0-9]{1,2})?(?![A-Za-z0-9])"
# "&" joins labels only between spaces: "H&E" and "R&D" are words, not "H and E"
_SEP = r"\s*(?:,\s*(?:and\s+|&\s*)?|and|(?<=\s)&(?=\s)|to|[-–—−~])\s*"
# a group names at most 40 labels: unbounded, a run of "a - b - c …" that never closes is
# matched again from each of its labels, quadratic in its length
_GROUP = rf"{_LABEL}(?:{_SEP}{_LABEL}){{0,39}}"
_LABEL_RE = re.compile(r"([A-Za-z])([0-9]{1,2})?")
_RANGE_RE = re.compile(r"[-–—−~]|\bto\b")
# a bare marker: the group and what closes it (". , : )" or, Nature style, a space)
_BARE_RE = re.compile(rf"(?<![\w(\-–—−&])({_GROUP})(?:([.,:)])|(?= [A-Z0-9]))")
# "(A)", "(A–C)", and "(C)-(E)" / "(C) and (D)" as one marker
_PAREN_RE = re.compile(rf"(?<!\w)\(({_GROUP})\)(?:({_SEP})\(({_GROUP})\))?")
_POSITION_RE = re.compile(
    r"(top|bottom|upper|lower|left|right|middle|centre|center)"
    r"(?:[ -](left|right|middle|centre|center))?"
    r"(?:\s+(?:panels?|rows?|columns?|images?|graphs?|plots?))?\s*[:,]?\s",
    re.IGNORECASE,
)
_STOPS = ".;:!?"  # what ends a sentence before a marker
_FORWARD_CUE = re.compile(
    r"\b(?:in|of|for|from|at|on|with|by|to|under|after|before|between|shows?|showing)\s*$", re.I
)
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z*\d])")
# sentences after the last panel's text that speak for the whole figure
_SHARED_START = re.compile(
    r"(scale bars?|error bars?|bars?,|data (are|represent|shown)|values (are|represent)|"
    r"results (are|represent)|all (images|panels|data|scale)|\*|n\s*=|abbreviations|"
    r"see also|source data|statistical|arrows?|arrowheads?|asterisks?)",
    re.IGNORECASE,
)
_STRIP = " ,;:.-–"
_LEADING_WORDS = re.compile(r"(?:and|or|while|whereas)\s+", re.IGNORECASE)


@dataclass(frozen=True)
class SubCaption:
    labels: tuple[str, ...]  # the panel labels the text names, e.g. ("c", "d", "e") or ("top",)
    text: str  # the spans' text, whitespace collapsed, joined by single spaces
    spans: tuple[Span, ...] = ()


@dataclass(frozen=True)
class CaptionSplit:
    preamble: str
    parts: tuple[SubCaption, ...]
    style: str  # "leading", "position", "inline" or "none"
    # the text that speaks for every panel: before the first marker, the shared sentences
    # after the last panel's text, and (inline style) the sentences that name no panel
    preamble_spans: tuple[Span, ...] = ()

    @property
    def labels(self) -> list[str]:
        """Every label named, in caption order, without repeats."""
        seen: dict[str, None] = {}
        for part in self.parts:
            for label in part.labels:
                seen.setdefault(label, None)
        return list(seen)

    def text_for(self, label: str) -> str | None:
        """The sub-caption of one label (case-insensitive); parts naming it are joined."""
        key = label.lower()
        texts = [p.text for p in self.parts if key in (x.lower() for x in p.labels)]
        return " ".join(texts) if texts else None

    def spans_for(self, label: str) -> tuple[Span, ...] | None:
        """The caption pieces of one label's sub-caption, in the order `text_for` joins them."""
        key = label.lower()
        parts = [p for p in self.parts if key in (x.lower() for x in p.labels)]
        return tuple(span for p in parts for span in p.spans) if parts else None


@dataclass(frozen=True)
class _Part:
    """A part while splitting: its spans index the whitespace-collapsed text."""

    labels: tuple[str, ...]
    spans: tuple[Span, ...]


def expand_group(group: str) -> tuple[str, ...]:
    """'A–C' -> (A, B, C); 'a, b and d' -> (a, b, d); 'B1-B3' -> (B1, B2, B3)."""
    labels: list[str] = []
    pieces = re.split(rf"({_SEP})", group)
    for index in range(0, len(pieces), 2):
        label = pieces[index].strip()
        sep = pieces[index - 1] if index else ""
        if labels and _RANGE_RE.search(sep):
            labels.extend(_range(labels[-1], label)[1:])
        else:
            labels.append(label)
    return tuple(dict.fromkeys(labels))


def _range(lo: str, hi: str) -> list[str]:
    a, b = _LABEL_RE.fullmatch(lo), _LABEL_RE.fullmatch(hi)
    if a is None or b is None or len(lo) > 3 or len(hi) > 3:
        return [lo, hi]
    if a.group(2) and b.group(2) and a.group(1) == b.group(1):
        lo_n, hi_n = int(a.group(2)), int(b.group(2))
        if 0 < hi_n - lo_n <= 20:
            return [f"{a.group(1)}{n}" for n in range(lo_n, hi_n + 1)]
    if not a.group(2) and not b.group(2) and 0 < ord(hi[0]) - ord(lo[0]) <= 25:
        return [chr(c) for c in range(ord(lo[0]), ord(hi[0]) + 1)]
    return [lo, hi]


def _paren_labels(m: re.Match) -> tuple[str, ...]:
    if m.group(3) is None:
        return expand_group(m.group(1))
    return expand_group(f"{m.group(1)}{m.group(2)}{m.group(3)}")


def _at_sentence_start(text: str, pos: int, title_end: int = -1) -> bool:
    """Whether `pos` follows a sentence end: the text start, ". ; : ! ?" (maybe with ")"),
    or "; and" / ", and". Looks back over the few characters before `pos` only, so finding
    every marker of a caption stays linear in its length."""
    if pos == title_end:
        return True
    end = _skip_space_back(text, pos)
    if end == 0:
        return True
    last = text[end - 1]
    if last in _STOPS or last == ")" and end > 1 and text[end - 2] in _STOPS:
        return True
    if text.startswith("and", end - 3, end):
        before = _skip_space_back(text, end - 3)
        return before > 0 and text[before - 1] in ";,"
    return False


def _skip_space_back(text: str, pos: int) -> int:
    while pos > 0 and text[pos - 1].isspace():
        pos -= 1
    return pos


def _leading_candidates(text: str, title_end: int = -1) -> list[Marker]:
    found: dict[int, Marker] = {}
    opened, closed, counted = 0, 0, 0  # parentheses before `counted`, counted as we go
    for m in _PAREN_RE.finditer(text):
        after = text[m.end() : m.end() + 5]
        at_start = _at_sentence_start(text, m.start(), title_end)
        if at_start and not re.match(r"\s*(?:,|and\b|or\b)", after):
            strong = after.strip()[:1].isupper()
            found[m.start()] = Marker(m.start(), m.end(), _paren_labels(m), 3, strong)
        elif re.match(r" [A-Z][a-z]", after):  # "… supplement 1A (B) TCR MC and …"
            found[m.start()] = Marker(m.start(), m.end(), _paren_labels(m), 1)
    for m in _BARE_RE.finditer(text):
        if m.start() in found or m.start() > 0 and text[m.start() - 1] == "(":
            continue
        opened += text.count("(", counted, m.start())
        closed += text.count(")", counted, m.start())
        counted = m.start()
        if opened > closed:
            continue  # inside parentheses: "(A, B, C)" is not three markers
        closer = m.group(2) or " "
        after = text[m.end() : m.end() + 2].strip()[:1]
        if _at_sentence_start(text, m.start(), title_end):
            weight = 3
        elif closer == ")":
            weight = 2  # "b) …" without an opening parenthesis is a marker, not prose
        elif closer in ".:" and after[:1].isupper():
            weight = 1
        else:
            continue
        if closer == " " and len(m.group(1)) == 1 and m.group(1).isupper() and weight == 3:
            # "A Western blot …" is English; "A Schematic" style needs a following "B …"
            weight = 2
        strong = weight == 3 and closer in ".)" and after[:1].isupper()
        found[m.start()] = Marker(m.start(), m.end(), expand_group(m.group(1)), weight, strong)
    return [found[k] for k in sorted(found)]


def _trim(text: str, start: int, end: int, chars: str = " ") -> Span:
    """The span without the given characters at either end (`str.strip` on a span)."""
    while start < end and text[start] in chars:
        start += 1
    while end > start and text[end - 1] in chars:
        end -= 1
    return start, end


def _clean(text: str, start: int, end: int) -> Span:
    """The span without edge punctuation and a dangling "and"/"or" at either end."""
    start, end = _trim(text, start, end, _STRIP)
    leading = _LEADING_WORDS.match(text, start, end)
    if leading:
        start = leading.end()
    end = _without_trailing_conjunction(text, start, end)
    return _trim(text, start, end, _STRIP)


def _without_trailing_conjunction(text: str, start: int, end: int) -> int:
    """The end of a span without a trailing "and"/"or" and the spaces, commas and
    semicolons before it (scanning back, where a regex search would retry every start)."""
    for word in ("and", "or"):
        if end - start > len(word) and text[end - len(word) : end].lower() == word:
            cut = end - len(word)
            while cut > start and (text[cut - 1].isspace() or text[cut - 1] in ",;"):
                cut -= 1
            return cut if cut < end - len(word) else end
    return end


def _sentences(text: str, start: int, end: int) -> list[Span]:
    pieces, at = [], start
    for m in _SENTENCE_SPLIT.finditer(text[start:end]):
        pieces.append((at, start + m.start()))
        at = start + m.end()
    return pieces + [(at, end)]


def _split_shared_tail(text: str, start: int, end: int) -> tuple[Span, Span]:
    """Cut the last panel's text where sentences about the whole figure begin."""
    sentences = _sentences(text, start, end)
    for index in range(1, len(sentences)):
        s, e = sentences[index]
        if _SHARED_START.match(text, s, e):
            return (start, sentences[index - 1][1]), (s, end)
    return (start, end), (end, end)


def _with_inline(labels: tuple[str, ...], body: str, named: set[str]) -> tuple[str, ...]:
    """Add the labels a part refers to inline ("cuvettes (B)") that no marker opens, of the
    markers' case and within their range (so "(E)-α-bergamotene" after "(C)" is not one)."""
    top = max(label_order(lab) for lab in named)
    upper = labels[0][0].isupper()
    extra = [
        lab
        for m in _PAREN_RE.finditer(body)
        for lab in _paren_labels(m)
        if lab not in named and label_order(lab) < top and lab[0].isupper() == upper
    ]
    return tuple(dict.fromkeys(labels + tuple(extra)))


_Split = tuple[list[Span], list[_Part], str]  # preamble spans, parts, style


def _from_chain(text: str, chain: list[Marker]) -> _Split:
    named = {lab for m in chain for lab in m.labels}
    parts = []
    tail = (len(text), len(text))
    for index, marker in enumerate(chain):
        stop = chain[index + 1].start if index + 1 < len(chain) else len(text)
        body = _trim(text, marker.end, stop)
        if index + 1 == len(chain):
            body, tail = _split_shared_tail(text, *body)
        labels = _with_inline(marker.labels, text[body[0] : body[1]], named)
        named.update(labels)
        parts.append(_Part(labels, (_clean(text, *body),)))
    return [_trim(text, 0, chain[0].start), _trim(text, *tail)], parts, "leading"


def _from_positions(text: str) -> _Split | None:
    starts = [
        m
        for m in _POSITION_RE.finditer(text)
        if _at_sentence_start(text, m.start())
        and (m.group(0).rstrip()[-1:] in ":," or " " in m.group(0).strip())
    ]
    if len(starts) < 2:
        return None
    parts = []
    for index, m in enumerate(starts):
        stop = starts[index + 1].start() if index + 1 < len(starts) else len(text)
        word = " ".join(w.lower() for w in m.groups() if w)
        opens = m.start() if not m.group(0).rstrip().endswith((":", ",")) else m.end()
        parts.append(_Part((word,), (_clean(text, opens, stop),)))
    body, tail = _split_shared_tail(text, *parts[-1].spans[0])
    parts[-1] = _Part(parts[-1].labels, (body,))
    return [_trim(text, 0, starts[0].start()), tail], parts, "position"


def _from_inline(text: str) -> _Split | None:
    spans: dict[tuple[str, ...], list[Span]] = {}
    shared: list[Span] = []
    for start, end in _sentences(text, 0, len(text)):
        sentence = text[start:end]
        refs = list(_PAREN_RE.finditer(sentence))
        if not refs:
            shared.append((start, end))
            continue
        head = _trim(text, start, start + refs[0].start())
        forward = bool(_FORWARD_CUE.search(sentence[: refs[0].start()]))  # "in (A) liver"
        # the words after the last reference speak for every panel of the sentence
        tail_start, tail_end = _trim(text, start + refs[-1].end(), end)
        while tail_end > tail_start and text[tail_end - 1] == ".":
            tail_end -= 1
        tail = _trim(text, tail_start, tail_end)
        for index, m in enumerate(refs):
            if forward:
                stop = refs[index + 1].start() if index + 1 < len(refs) else len(sentence)
                pieces = [head, _clean(text, start + m.end(), start + stop)]
            else:
                opens = start + (refs[index - 1].end() if index else 0)
                pieces = [_clean(text, opens, start + m.start()), tail]
            spans.setdefault(_paren_labels(m), []).extend(pieces)
    if len({lab for labels in spans for lab in labels}) < 2:
        return None
    parts = [_Part(labels, tuple(s)) for labels, s in spans.items()]
    return shared, parts, "inline"


def split_caption(caption: str | None, title: str | None = None) -> CaptionSplit:
    """The preamble and the per-panel parts of one caption (style "none" when unmarked).

    `title`: the caption's title when `caption` starts with it; a marker right after it
    opens a panel even without a full stop between ("… Genes (A) Dendrogram …")."""
    caption_text = CollapsedCaption(caption or "")
    text = caption_text.text
    title = re.sub(r"\s+", " ", title or "").strip()
    title_end = len(title) + 1 if title and text.startswith(title + " ") else -1
    chain = best_chain(_leading_candidates(text, title_end))
    found = (
        _from_chain(text, chain)
        if chain
        else _from_positions(text) or _from_inline(text) or ([(0, len(text))], [], "none")
    )
    preamble, parts, style = found
    preamble_text, preamble_spans = caption_text.pieces(preamble)
    subcaptions = tuple(SubCaption(p.labels, *caption_text.pieces(p.spans)) for p in parts)
    return CaptionSplit(preamble_text, subcaptions, style, preamble_spans)
