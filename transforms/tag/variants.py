"""Derived word forms learned from the lexicon's own names: a concept that lists both
"duodenum" and "duodenal", "tomography" and "tomographic", "tomogram" and "tomography"
teaches a suffix rewrite (um -> al, y -> ic, m -> phy). A rewrite that the names of at
least `MIN_CONCEPTS` concepts of one semantic group show is applied to the one-word terms
of every concept of that group that lacks the form ("jejunum" -> "jejunal",
"ultrasonography" -> "ultrasonogram", "atrophy" -> "atrophic").

A derived form is dropped when the lexicon already has it as a term (of any concept: it
then means what the lexicon says), when it is a withheld generic word, or when its stem
is short (under `MIN_STEM` letters), where a rewrite most often makes another word.
Plurals are not rewrites here (`normalise.plural_forms` makes them).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from os.path import commonprefix

from metadata.lexicon import Concept
from transforms.tag.generic import bare_word
from transforms.tag.normalise import plural_forms

MIN_CONCEPTS = 3
MIN_STEM = 4
MAX_SUFFIX = 5  # letters either side of a rewrite


def _rewrite(a: str, b: str) -> tuple[str, str] | None:
    """The suffix rewrite a -> b of two forms of one word, if they are that."""
    stem = len(commonprefix([a, b]))
    if stem < MIN_STEM or len(a) - stem > MAX_SUFFIX or len(b) - stem > MAX_SUFFIX:
        return None
    if b in plural_forms(a) or a in plural_forms(b):
        return None
    if stem == len(a) or stem == len(b):
        stem -= 1  # a bare ending ("a" -> "al") keeps the letter it follows
    return a[stem:], b[stem:]


def learn_rewrites(concepts: list[Concept]) -> dict[str, list[tuple[str, str]]]:
    """semantic group -> the suffix rewrites at least MIN_CONCEPTS of its concepts show."""
    seen: dict[tuple[str, str, str], set[int]] = defaultdict(set)
    for index, concept in enumerate(concepts):
        words = sorted({w for w in map(bare_word, concept.terms) if w and w.isalpha()})
        for a in words:
            for b in words:
                rule = _rewrite(a, b) if a != b else None
                if rule:
                    seen[(concept.semgroup, *rule)].add(index)
    rules: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for (group, old, new), indices in sorted(seen.items()):
        if len(indices) >= MIN_CONCEPTS:
            rules[group].append((old, new))
    return dict(rules)


def derived_forms(
    concepts: list[Concept], withheld: Callable[[str, int], bool]
) -> dict[int, list[str]]:
    """concept index -> the derived one-word keys to match it under."""
    rules = learn_rewrites(concepts)
    known = {w for c in concepts for w in map(bare_word, c.terms) if w}
    out: dict[int, list[str]] = {}
    for index, concept in enumerate(concepts):
        forms = []
        for word in dict.fromkeys(filter(None, map(bare_word, concept.terms))):
            for old, new in rules.get(concept.semgroup, ()):
                if not word.endswith(old) or len(word) - len(old) < MIN_STEM:
                    continue
                form = word[: len(word) - len(old)] + new
                if form not in known and not withheld(form, index):
                    forms.append(form)
        if forms:
            out[index] = list(dict.fromkeys(forms))
    return out
