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


_LONGEST_ABBREVIATION = 16  # with its opening marks: a longer word ends a sentence


def ends_sentence(text: str, stop: int) -> bool:
    """Whether the stop at `stop` ends a sentence: not after an abbreviation or initial.

    Looks back a bounded number of characters: a word longer than any abbreviation (and
    its opening marks) is never one, so a text without spaces costs no scan to its start."""
    lo = max(0, stop - _LONGEST_ABBREVIATION)
    cut = max(text.rfind(" ", lo, stop), text.rfind("\n", lo, stop))
    if cut < 0 and lo > 0:
        return True
    word = text[cut + 1 : stop].lower().lstrip("([{\"'").rstrip(".")
    return not (word in ABBREVIATIONS or (len(word) == 1 and word.isalpha()))


class _SentenceEnds:
    """Which candidate stops end a sentence, decided once each, and for any stop the
    nearest real end at or before it and at or after it. Runs of stops that end nothing
    ("e.g. Fig. 2 vs. Fig. 3") are walked once: every stop a walk crosses remembers where
    it led, so many offsets among them cost no more than one."""

    def __init__(self, text: str, spans: list[tuple[int, int]]) -> None:
        self.text, self.spans = text, spans
        self.real: list[bool | None] = [None] * len(spans)
        self.back: dict[int, int] = {}  # stop -> nearest real stop at or before it (or -1)
        self.ahead: dict[int, int] = {}  # stop -> nearest real stop at or after it (or count)

    def _is_real(self, index: int) -> bool:
        real = self.real[index]
        if real is None:
            real = self.real[index] = ends_sentence(self.text, self.spans[index][0])
        return real

    def at_or_before(self, index: int) -> int:
        crossed = []
        while index >= 0 and index not in self.back and not self._is_real(index):
            crossed.append(index)
            index -= 1
        found = self.back.get(index, index)
        for stop in crossed:
            self.back[stop] = found
        return found

    def at_or_after(self, index: int) -> int:
        count = len(self.spans)
        crossed = []
        while index < count and index not in self.ahead and not self._is_real(index):
            crossed.append(index)
            index += 1
        found = self.ahead.get(index, index)
        for stop in crossed:
            self.ahead[stop] = found
        return found


def sentences_at(text: str, offsets: list[int]) -> list[str]:
    """The sentence around each offset, deciding only the stops next to one."""
    spans = stop_spans(text)
    count = len(spans)
    ends = [end for _, end in spans]
    real_ends = _SentenceEnds(text, spans)
    sentences: dict[tuple[int, int], str] = {}  # offsets share sentences
    found = []
    for offset in offsets:
        after = bisect.bisect_right(ends, offset)
        before = real_ends.at_or_before(after - 1)
        after = real_ends.at_or_after(after)
        span = (ends[before] if before >= 0 else 0, ends[after] if after < count else len(text))
        sentence = sentences.get(span)
        if sentence is None:
            sentence = sentences[span] = squash(text[span[0] : span[1]])
        found.append(sentence)
    return found
