"""Derived word forms learned from the lexicon's own names: a concept that lists both
"duodenum" and "duodenal", "tomography" and "tomographic", "tomogram" and "tomography"
teaches a suffix rewrite (um -> al, y -> ic, m -> phy). A rewrite that the names of at
least `MIN_CONCEPTS` concepts of one semantic group show is applied to the one-word terms
of every concept of that group that lacks the form ("jejunum" -> "jejunal",
"ultrasonography" -> "ultrasonogram"). A rewrite that `MIN_CONCEPTS` concepts of any groups
show is applied too, in the groups that learned rewrites of their own, when the form it
makes is a word the lexicon's longer names use ("mesentery" -> "mesenteric", as in
"Mesenteric cyst"; "atrophy" -> "atrophic").

A concept also teaches the adjective it names itself with: the first word of one of its
longer terms that is a form of one of its one-word terms ("thoracic cavity" of the Chest,
"thorax": "thoracic"; "arterial wall" of Arteries, "artery": "arterial"), as QuickUMLS-style
annotators such as ROCO's match these adjectives to the concept.

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
from transforms.tag.normalise import key_of, plural_forms

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


def _rewrites_seen(concepts: list[Concept]) -> dict[tuple[str, str, str], set[int]]:
    """(semantic group, old ending, new ending) -> the concepts whose bare words show it."""
    seen: dict[tuple[str, str, str], set[int]] = defaultdict(set)
    for index, concept in enumerate(concepts):
        words = sorted({w for w in map(bare_word, concept.terms) if w and w.isalpha()})
        for a in words:
            for b in words:
                rule = _rewrite(a, b) if a != b else None
                if rule:
                    seen[(concept.semgroup, *rule)].add(index)
    return seen


def learn_rewrites(concepts: list[Concept]) -> dict[str, list[tuple[str, str]]]:
    """semantic group -> the suffix rewrites at least MIN_CONCEPTS of its concepts show."""
    rules: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for (group, old, new), indices in sorted(_rewrites_seen(concepts).items()):
        if len(indices) >= MIN_CONCEPTS:
            rules[group].append((old, new))
    return dict(rules)


def learn_shared_rewrites(concepts: list[Concept]) -> list[tuple[str, str]]:
    """The suffix rewrites at least MIN_CONCEPTS concepts show, whatever their group."""
    pooled: dict[tuple[str, str], set[int]] = defaultdict(set)
    for (_, old, new), indices in _rewrites_seen(concepts).items():
        pooled[(old, new)] |= indices
    return sorted(rule for rule, indices in pooled.items() if len(indices) >= MIN_CONCEPTS)


def named_forms(concept: Concept) -> list[str]:
    """The adjectives a concept names itself with: the first word of one of its longer
    terms that is a form of one of its bare words by a suffix rewrite ("thoracic cavity"
    of the Chest, whose bare word is "thorax", teaches "thoracic"; "arterial wall" of
    artery, "arterial"; "surgical procedure" of surgery, "surgical"). A word the bare word
    starts with is its root, not its form ("pineal" of pinealoma, "schwann" of schwannoma)."""
    bare = [w for w in map(bare_word, concept.terms) if w and w.isalpha()]
    forms = []
    for term in concept.terms:
        words = key_of(term).split()
        first = words[0]
        if len(words) < 2 or not first.isalpha() or first in bare:
            continue
        if any(_rewrite(word, first) and not word.startswith(first) for word in bare):
            forms.append(first)
    return list(dict.fromkeys(forms))


def derived_forms(
    concepts: list[Concept], withheld: Callable[[str, int], bool]
) -> dict[int, list[str]]:
    """concept index -> the derived one-word keys to match it under."""
    rules = learn_rewrites(concepts)
    shared = learn_shared_rewrites(concepts)
    known = {w for c in concepts for w in map(bare_word, c.terms) if w}
    # the words of the lexicon's longer names: a form written there is a word
    written = {w for c in concepts for t in c.terms for w in key_of(t).split()[:-1]}
    out: dict[int, list[str]] = {}
    for index, concept in enumerate(concepts):
        forms = [f for f in named_forms(concept) if f not in known and not withheld(f, index)]
        own = rules.get(concept.semgroup, ())
        for word in dict.fromkeys(filter(None, map(bare_word, concept.terms))):
            for old, new in [*own, *(r for r in shared if own and r not in own)]:
                if not word.endswith(old) or len(word) - len(old) < MIN_STEM:
                    continue
                form = word[: len(word) - len(old)] + new
                if (old, new) not in own and form not in written:
                    continue
                if form not in known and not withheld(form, index):
                    forms.append(form)
        if forms:
            out[index] = list(dict.fromkeys(forms))
    return out
