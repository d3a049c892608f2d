"""Caption normalisation that keeps offsets: case and accents folded char for char,
tokens are runs of letters and digits, so punctuation and hyphens become token breaks.

Matching runs over " tok tok tok " (tokens joined by single spaces), so a dictionary key
" a b " can only match whole tokens. Plural variants are generated on the lexicon side,
never by rewriting the caption, which keeps every match mapped to exact caption offsets.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left
from collections.abc import Callable
from functools import partial
from itertools import accumulate

TOKEN = re.compile(r"[^\W_]+")
# a token with what precedes it: split, a text is [gap, token, gap, token, ..., gap]
_TOKEN_SPLIT = re.compile(r"([^\W_]+)")
COUNT_WORDS_UP_TO = 2048  # chars of `Tokens.joined`: see `Tokens.word_finder`


def _accent_table() -> dict[int, str]:
    """Latin letters with diacritics -> their base letter (one char to one char)."""
    table = {}
    for code in range(0xC0, 0x250):
        base = "".join(
            c for c in unicodedata.normalize("NFKD", chr(code)) if not unicodedata.combining(c)
        )
        if len(base) == 1 and base.isascii() and base.isalpha():
            table[code] = base
    return table


_FOLD = _accent_table()
# any char `_FOLD` changes: most non-ASCII captions have none ("×", "μm", "–"), and
# `str.translate` looks every char up
_ACCENTED = re.compile(f"[{re.escape(''.join(map(chr, sorted(_FOLD))))}]")


def fold_lower(text: str) -> str:
    """Lower-cased, accent-folded text of exactly the same length as `text`."""
    if text.isascii():
        return text.lower()
    folded = text.translate(_FOLD) if _ACCENTED.search(text) else text
    lowered = folded.lower()
    if len(lowered) == len(text):
        return lowered
    # a few characters (e.g. U+0130) lower-case to two; keep those as they are
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in folded)


class Tokens:
    """A text's tokens, the space-joined matching string, and (on demand) their spans."""

    __slots__ = ("text", "words", "joined", "folded", "_parts", "_spans", "_offsets")

    def __init__(self, text: str, folded: str, parts: list[str]) -> None:
        self.text = text
        # `text` folded and lower-cased, as the words were found in
        self.folded = folded
        self._parts = parts  # `folded` split: [gap, word, gap, word, ..., gap]
        self.words: list[str] = parts[1::2]
        self.joined = " " + " ".join(self.words) + " "  # " w0 w1 ... wn "
        self._spans: list[tuple[int, int]] | None = None
        self._offsets: list[int] | None = None

    @property
    def spans(self) -> list[tuple[int, int]]:
        """Each word's (start, end) in `text`: the running lengths of the split's pieces."""
        if self._spans is None:
            ends = list(accumulate(map(len, self._parts)))
            self._spans = list(zip(ends[0:-1:2], ends[1::2], strict=True))
        return self._spans

    @property
    def gaps(self) -> list[str]:
        """The text before each word, since the word before it (case and accents folded)."""
        return self._parts[0:-1:2]

    @property
    def offsets(self) -> list[int]:
        """The position in `joined` of each word's first char."""
        if self._offsets is None:
            self._offsets = list(accumulate([len(w) + 1 for w in self.words], initial=1))
        return self._offsets

    def word_at(self, position: int) -> int:
        """The index of the word whose first char is at `position` in `joined`."""
        return self.word_finder()(position)

    def word_finder(self) -> Callable[[int], int]:
        """`word_at` as one C call, for the matchers' hot loops: a short text counts the
        spaces before the position (no offsets table to build), a long one bisects its
        offsets (counting would be quadratic in its length)."""
        if len(self.joined) <= COUNT_WORDS_UP_TO:
            return partial(self.joined.count, " ", 1)
        return partial(bisect_left, self.offsets)


def tokenize(text: str) -> Tokens:
    folded = fold_lower(text)
    return Tokens(text, folded, _TOKEN_SPLIT.split(folded))


def key_of(term: str) -> str:
    """The matching key of a term: its folded tokens joined by single spaces."""
    return " ".join(TOKEN.findall(fold_lower(term)))


_PLURAL_RULES: list[tuple[str, tuple[str, ...]]] = [
    # (singular ending, plural endings that replace it); first rule that fits wins
    ("sis", ("ses",)),
    ("xis", ("xes",)),
    ("us", ("i", "uses")),
    ("um", ("a", "ums")),
    ("on", ("a", "ons")),
    ("ix", ("ices", "ixes")),
    ("ex", ("ices", "exes")),
    ("ax", ("aces", "axes")),
    ("a", ("ae", "as")),
    ("y", ("ies",)),
    ("s", ("ses",)),
    ("x", ("xes",)),
    ("z", ("zes",)),
    ("ch", ("ches",)),
    ("sh", ("shes",)),
    ("", ("s",)),
]
_IRREGULAR = {
    "tooth": "teeth",
    "foot": "feet",
    "mouse": "mice",
    "louse": "lice",
    "child": "children",
    "woman": "women",
    "man": "men",
    "leaf": "leaves",
    "calf": "calves",
    "ovum": "ova",
}


def plural_forms(word: str) -> list[str]:
    """English and Latin plural forms of a lower-case word (over-generation is harmless:
    a form that is not a word never occurs in a caption)."""
    if len(word) < 3 or not word.isalpha():
        return []
    if word in _IRREGULAR:
        return [_IRREGULAR[word]]
    for ending, plurals in _PLURAL_RULES:
        if word.endswith(ending):
            stem = word[: len(word) - len(ending)] if ending else word
            if ending == "y" and stem[-1] in "aeiou":
                return [word + "s"]
            return [stem + plural for plural in plurals]
    return []


def term_keys(term: str) -> list[str]:
    """Every key a term is matched under: as written, with its last word pluralised,
    and with hyphenated parts also written closed up ("x-ray" -> "x ray", "xray")."""
    base = key_of(term)
    if not base:
        return []
    variants = [base]
    closed = key_of(re.sub(r"(?<=\w)-(?=\w)", "", term))
    if closed != base:
        variants.append(closed)
    keys: list[str] = []
    for variant in variants:
        keys.append(variant)
        head, _, last = variant.rpartition(" ")
        for plural in plural_forms(last):
            keys.append(f"{head} {plural}" if head else plural)
    return list(dict.fromkeys(keys))
