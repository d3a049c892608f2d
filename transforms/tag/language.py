"""Whether a caption is written in a language the lexicon's names are in.

The bundled lexicon is English; SciELO captions without an English version are Portuguese
or Spanish. A caption counts as another language when its function words say so: more
Portuguese/Spanish function words than English ones, and at least `MIN_MARKERS` of them.
"""

from __future__ import annotations

from transforms.tag.normalise import Tokens

MIN_MARKERS = 2
ENGLISH = frozenset(
    "the of and with in on at is are was were an by for from to this that showing shows "
    "after before under which".split()
)
# function words of Portuguese, Spanish and French (accents folded, as tokens are)
OTHER = {
    "pt": frozenset("de e da do das dos em com para uma um os nao sao pela pelo na no ao".split()),
    "es": frozenset("de del los las el con para una un y en por la se que".split()),
    "fr": frozenset("de du des le les une un et avec dans est sur au aux d l".split()),
}


def caption_language(tokens: Tokens) -> str:
    """ "en", "pt", "es" or "fr" by function words; "en" when unsure."""
    english = sum(w in ENGLISH for w in tokens.words)
    counts = {lang: sum(w in words for w in tokens.words) for lang, words in OTHER.items()}
    lang, best = max(counts.items(), key=lambda item: (item[1], item[0]))
    return lang if best >= MIN_MARKERS and best > english else "en"
