"""The yardstick for generic mentions: the word classes issue 12 names, for measuring only.

The tagger never reads this list (it withholds words by lexicon evidence,
`transforms/tag/generic.py`); the benchmark counts how many concept mentions are still
a bare generic word by it. Each class holds the issue's examples and their obvious kin.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict

WORD_CLASSES: dict[str, str] = {
    "position": "left right upper lower top bottom middle anterior posterior superior "
    "inferior medial lateral proximal distal central peripheral front back side above below "
    "inner outer internal external horizontal vertical transverse",
    "colour": "red green blue yellow black white brown orange purple pink grey gray violet "
    "color colour",
    "size_amount": "single multiple high low increased decreased reduced elevated large small "
    "big giant tiny huge few several many numerous extensive mild moderate severe maximum "
    "minimum",
    "count_ordinal": "one two three four five six seven eight nine ten first second third "
    "fourth fifth double triple half number",
    "figure_furniture": "arrow arrowhead asterisk star panel image picture view scale bar "
    "section figure inset box circle dot label marker magnification",
    "study": "patient case control group sample result finding treatment study subject "
    "participant cohort trial",
    "time": "minute hour day week month year time period",
    "generic_adjective": "normal abnormal new old early late positive negative typical "
    "possible complete specific direct clinical",
    "place": "area region level plane line point site zone space part portion surface",
    "reporting": "seen shown visible present absence evidence sign change type note appearance "
    "observed revealed",
    "statistics": "data mean value total average median range standard deviation error rate "
    "ratio percentage index",
    "comparison": "same different similar compared versus",
}
GENERIC: frozenset[str] = frozenset(w for words in WORD_CLASSES.values() for w in words.split())
_TOKEN = re.compile(r"[^\W_]+")


def _singular(word: str) -> str:
    return word[:-1] if word.endswith("s") and word[:-1] in GENERIC else word


def is_bare_generic(span: str) -> bool:
    """Whether a mention's text is only generic words ("right", "Arrows", "scale bar")."""
    words = _TOKEN.findall(span.lower())
    return bool(words) and all(_singular(w) in GENERIC for w in words)


def explaining_strings(entries: list[tuple[str, set[str]]], firm: float = 0.7) -> dict[str, str]:
    """ROCO CUI -> the caption word or word pair that explains it in `entries` (caption,
    CUIs): the one with the best Dice overlap of the captions carrying each, kept when it
    occurs in at least `firm` of the CUI's captions. ROCO gives no spans, so this is how a
    CUI's words are read off its captions (as `metadata/learn_words.py` does)."""
    n_cui: Counter = Counter()
    n_gram: Counter = Counter()
    together: dict[str, Counter] = defaultdict(Counter)
    for caption, cuis in entries:
        words = _TOKEN.findall(caption.lower())
        grams = set(words) | {f"{a} {b}" for a, b in zip(words, words[1:], strict=False)}
        n_gram.update(grams)
        for cui in cuis:
            n_cui[cui] += 1
            together[cui].update(grams)
    found = {}
    for cui, n in n_cui.items():
        if not together[cui]:
            continue
        gram, hits = max(
            together[cui].items(), key=lambda g: (2 * g[1] / (n + n_gram[g[0]]), -len(g[0]), g[0])
        )
        if hits / n >= firm:
            found[cui] = gram
    return found
