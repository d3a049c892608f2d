"""NegEx-style negation: a concept is negated when a negation cue precedes it within the
same clause ("no evidence of tumour") or follows it closely ("metastases were absent").
The concept is kept and flagged; nothing is removed."""

from __future__ import annotations

import re
from itertools import accumulate
from operator import or_

from transforms.tag.normalise import Tokens

PRE_CUES = (
    "no",
    "not",
    "without",
    "neither",
    "nor",
    "absence of",
    "absent",
    "negative for",
    "free of",
    "lack of",
    "lacking",
    "ruled out",
    "rule out",
    "exclusion of",
    "resolution of",
    "disappearance of",
)
POST_CUES = (
    "absent",
    "excluded",
    "ruled out",
    "not seen",
    "not visible",
    "not detected",
    "not observed",
    "not identified",
    "not present",
    "negative",
    "resolved",
    "disappeared",
)
# "not only", "no change" and the like are not negations of what follows
PSEUDO = ("not only", "no change", "no significant change", "not necessarily", "no longer")
TERMINATORS = frozenset(
    "but however although though except whereas while which who apart aside yet".split()
)
PRE_WINDOW = 8
POST_WINDOW = 3
_CLAUSE_BREAK = re.compile(r"[.;:!?]")
_CUE_WORDS = frozenset(w for cue in PRE_CUES + POST_CUES for w in cue.split()[:1])


def _pattern(cues: tuple[str, ...]) -> re.Pattern[str]:
    """Whole-token occurrences of the cues in `Tokens.joined`. No two cues of one tuple
    start at one token, and none starts inside another, so one scan finds them all."""
    longest_first = sorted(cues, key=len, reverse=True)
    return re.compile("(?<= )(?:" + "|".join(map(re.escape, longest_first)) + ")(?= )")


_PSEUDO, _PRE, _POST = _pattern(PSEUDO), _pattern(PRE_CUES), _pattern(POST_CUES)


def _find(tokens: Tokens, cues: re.Pattern[str]) -> list[tuple[int, int]]:
    """(first, last) token ranges where a cue phrase occurs."""
    word_at = tokens.word_finder()
    found = []
    for m in cues.finditer(tokens.joined):
        first = word_at(m.start())
        found.append((first, first + m.group().count(" ") + 1))
    return found


def _clauses(tokens: Tokens) -> list[int]:
    """A clause number per token: sentence punctuation before a token and terminator words
    start a new one (counted in C: a running sum of one flag per token)."""
    breaks = map(bool, map(_CLAUSE_BREAK.search, tokens.gaps))
    starts = map(or_, breaks, map(TERMINATORS.__contains__, tokens.words))
    return list(accumulate(starts, initial=0))[1:]


def negated_flags(tokens: Tokens, ranges: list[tuple[int, int]]) -> list[bool]:
    """One flag per concept token range."""
    words = tokens.words
    if not ranges or _CUE_WORDS.isdisjoint(words):
        return [False] * len(ranges)
    pseudo = {i for first, last in _find(tokens, _PSEUDO) for i in range(first, last)}
    # cue firsts by the token a pre cue ends at, and post cue firsts: each concept looks
    # only at the few tokens of its window, so a text of many cues and concepts stays linear
    pre_firsts_by_last: dict[int, list[int]] = {}
    for cue_first, cue_last in _find(tokens, _PRE):
        if cue_first not in pseudo:
            pre_firsts_by_last.setdefault(cue_last, []).append(cue_first)
    post_firsts = {f for f, _ in _find(tokens, _POST) if f not in pseudo}
    clause = _clauses(tokens)
    flags = []
    for first, last in ranges:
        negated = any(
            clause[cue_first] == clause[first]
            for cue_last in range(max(0, first - PRE_WINDOW + 1), first + 1)
            for cue_first in pre_firsts_by_last.get(cue_last, ())
        ) or any(
            cue_first in post_firsts and clause[cue_first] == clause[last - 1]
            for cue_first in range(last, last + POST_WINDOW)
        )
        flags.append(negated)
    return flags
