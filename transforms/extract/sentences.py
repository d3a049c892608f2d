"""The sentence around a place in a text, for mentions.

A sentence ends at a stop (. ! ?), any closing quotes or brackets, and white space before
a capital, a digit or an opening mark, unless the word before the stop is an abbreviation
('Fig.', 'et al.', 'e.g.') or an initial.
"""

from __future__ import annotations

import bisect
import re

from transforms.extract.jats_text import squash

ABBREVIATIONS = frozenset(
    "fig figs eq eqs ref refs al e.g i.e vs approx no nos ca cf etc resp sp spp suppl "
    "dr mr ms st vol pp ed eds ext inc ltd co jr sr mol wt min max avg".split()
)
_AFTER_STOP = r"[.!?]*[\"')\]]*\s+(?=[A-Z0-9(\[\"'])"
# A literal first character lets re look for it in a tight C loop, three times faster than
# a character class: '.' stops are found that way, and '!' and '?' only in the texts that
# have one (most have neither).
_DOT_STOP = re.compile(r"\." + _AFTER_STOP)
_OTHER_STOP = re.compile(r"[!?]" + _AFTER_STOP)


def stop_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each candidate stop, in order: the matches of [.!?][.!?]*… ."""
    spans = [m.span() for m in _DOT_STOP.finditer(text)]
    if "!" in text or "?" in text:
        # a run like "?." is found twice, ending at one place: keep its first character
        first_start: dict[int, int] = {}
        for start, end in sorted(spans + [m.span() for m in _OTHER_STOP.finditer(text)]):
            first_start.setdefault(end, start)
        spans = sorted((start, end) for end, start in first_start.items())
    return spans


def ends_sentence(text: str, stop: int) -> bool:
    """Whether the stop at `stop` ends a sentence: not after an abbreviation or initial."""
    cut = text.rfind(" ", 0, stop)
    cut = max(cut, text.rfind("\n", cut + 1, stop))  # bounded: no scan back to the start
    word = text[cut + 1 : stop].lower().lstrip("([{\"'").rstrip(".")
    return not (word in ABBREVIATIONS or (len(word) == 1 and word.isalpha()))


def sentences_at(text: str, offsets: list[int]) -> list[str]:
    """The sentence around each offset, deciding only the stops next to one."""
    spans = stop_spans(text)
    count = len(spans)
    ends = [end for _, end in spans]
    decided: list[bool | None] = [None] * count  # offsets share stops and sentences
    sentences: dict[tuple[int, int], str] = {}
    found = []
    for offset in offsets:
        after = bisect.bisect_right(ends, offset)
        before = after - 1
        while before >= 0:
            real = decided[before]
            if real is None:
                real = decided[before] = ends_sentence(text, spans[before][0])
            if real:
                break
            before -= 1
        while after < count:
            real = decided[after]
            if real is None:
                real = decided[after] = ends_sentence(text, spans[after][0])
            if real:
                break
            after += 1
        span = (ends[before] if before >= 0 else 0, ends[after] if after < count else len(text))
        sentence = sentences.get(span)
        if sentence is None:
            sentence = sentences[span] = squash(text[span[0] : span[1]])
        found.append(sentence)
    return found
