"""Modality tags per panel: a two-level taxonomy modelled on BIOMEDICA's and UniMed's.

Top levels are `radiology`, `microscopy`, `photography`, `ophthalmology`, `endoscopy`,
`chart`, `molecular` (blots, gels, sequences, structures), `illustration` and `other`;
a tag is "top/sub" (e.g. "radiology/ct"). Tags come from the concepts matched in the
text (a concept may carry a modality) and from wording cues (`modality_cues`): radiology
captions often name no modality ("Axial T2-weighted image", "hypodense lesion").
Overlapping cues resolve to the longest ("fluorescein angiography" beats "angiography"),
weak cues count only when nothing strong was found, and "top/other" is dropped when a
specific sub of the same top is present. Negated concepts do not count.
`within` limits the tags to concepts and cues inside some spans of the text (a panel's own
words in its parent's caption).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from functools import lru_cache
from itertools import accumulate
from operator import itemgetter
from typing import NamedTuple

import ahocorasick

from transforms.tag.concepts import Analysis
from transforms.tag.modality_cues import STRONG, WEAK
from transforms.tag.normalise import term_keys


def _phrases(table: dict[str, str], strong: bool) -> list[tuple[str, str, bool]]:
    return [
        (phrase.strip(), tag, strong)
        for tag, text in table.items()
        for phrase in text.replace("\n", " ").split(";")
        if phrase.strip()
    ]


@lru_cache(maxsize=1)
def _cue_automaton() -> tuple[ahocorasick.Automaton, list[tuple[int, int, str, bool]]]:
    """One automaton for every cue key; value -> (token count, key length, tag, strong)."""
    automaton = ahocorasick.Automaton(ahocorasick.STORE_INTS)
    values: list[tuple[int, int, str, bool]] = []
    seen: set[str] = set()
    for phrase, tag, strong in _phrases(STRONG, True) + _phrases(WEAK, False):
        for key in term_keys(phrase):
            if key in seen:
                continue
            seen.add(key)
            automaton.add_word(f" {key} ", len(values))
            values.append((key.count(" ") + 1, len(key) + 2, tag, strong))
    automaton.make_automaton()
    return automaton, values


class SpanCover:
    """Spans to test containment against in O(log n): a panel's own text can be thousands
    of pieces (an inline-style caption names its panel once a sentence), and testing every
    match against every piece would be quadratic in the caption's length."""

    def __init__(self, spans: Sequence[tuple[int, int]]) -> None:
        ordered = sorted(spans)
        self.starts = [start for start, _ in ordered]
        self.reach = list(accumulate((end for _, end in ordered), max))  # furthest end so far

    def covers(self, start: int, end: int) -> bool:
        """Whether [start, end) lies within one of the spans."""
        index = bisect_right(self.starts, start)
        return index > 0 and self.reach[index - 1] >= end


_LONGEST_FIRST = itemgetter(0, 1)


class Cue(NamedTuple):
    """A modality found in the text: by a concept or a wording cue, over tokens [first, last)."""

    tag: str
    first: int
    last: int
    strong: bool
    by_concept: bool


def modality_cues(analysis: Analysis, within: Sequence[tuple[int, int]] | None = None) -> list[Cue]:
    """The modality hits that count for one text (only those inside `within`, spans of the
    analysed text, when given): longest first, overlaps dropped, weak ones only when no
    strong one was found."""
    tokens = analysis.tokens
    if not tokens.words:
        return []
    cover = None if within is None else SpanCover(within)
    # plain tuples (minus length, first, tag, last, strong, by concept) until kept: cheap
    hits = [
        (m.first - m.last, m.first, m.concept.modality, m.last, True, True)
        for m in analysis.matches
        if m.concept.modality
        and not m.negated
        and not m.nested
        and (cover is None or cover.covers(m.start, m.end))
    ]
    automaton, values = _cue_automaton()
    word_at = tokens.word_finder()
    for end, value in automaton.iter(tokens.joined):
        ntok, length, tag, strong = values[value]
        first = word_at(end - length + 2)
        if cover is not None:
            spans = tokens.spans
            if not cover.covers(spans[first][0], spans[first + ntok - 1][1]):
                continue
        hits.append((-ntok, first, tag, first + ntok, strong, False))
    if not hits:
        return []
    hits.sort(key=_LONGEST_FIRST)
    taken = bytearray(len(tokens.words))
    kept = []
    for _, first, tag, last, strong, by_concept in hits:
        if any(taken[first:last]):
            continue
        taken[first:last] = b"\x01" * (last - first)
        kept.append(Cue(tag, first, last, strong, by_concept))
    strong_ones = [cue for cue in kept if cue.strong]
    return strong_ones or kept


def modality_tags(analysis: Analysis, within: Sequence[tuple[int, int]] | None = None) -> list[str]:
    """Sorted "top/sub" tags for one text, from its concepts and wording (only those
    inside `within`, spans of the analysed text, when given)."""
    return tags_of(modality_cues(analysis, within))


def tags_of(cues: list[Cue]) -> list[str]:
    return list(_prune(frozenset([cue.tag for cue in cues]))) if cues else []


@lru_cache(maxsize=4096)  # few tag sets recur: captions name one or two modalities
def _prune(tags: frozenset[str]) -> tuple[str, ...]:
    """Drop "top/other" where a specific "top/sub" is present."""
    specific = {tag.split("/")[0] for tag in tags if not tag.endswith("/other")}
    return tuple(
        sorted(t for t in tags if not (t.endswith("/other") and t.split("/")[0] in specific))
    )
