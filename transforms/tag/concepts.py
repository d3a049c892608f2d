"""Dictionary concept matching: an Aho-Corasick automaton over normalised caption text.

Keys are whole-token phrases (see `normalise`), so matching is case-, punctuation-,
hyphen- and plural-insensitive while every match maps back to exact `caption` offsets.
Overlaps resolve to the longest match (then the leftmost); the concepts named inside a
chosen match are kept too, marked `nested` ("pleural effusion" also names Effusion, "CT scan"
Scanning, "chest radiograph" Chest), as QuickUMLS-style annotators such as ROCO's list them.
Matches that cross a chosen one's edge are dropped. A string that names several
concepts (UMLS homonyms such as "renal calculi": Kidney Calculi and Nephrolithiasis) yields
one match per concept, all with the same span. Abbreviations are matched
conservatively: only as whole tokens in their written case ("CT", not "ct" or "Ct"),
never when they are on the ambiguous stop-list, and two-letter ones only when allowed.
Word forms derived by suffix rewrites the lexicon's own names teach (`variants`:
"jejunal", "ultrasonogram") match too. Bare words the lexicon's own evidence marks as
generic (`generic`: "right", "arrow") are withheld alone and still match inside longer
names ("right ventricle").
"""

from __future__ import annotations

import pickle
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

import ahocorasick

from metadata.lexicon import Concept, Lexicon
from metadata.words import AMBIGUOUS_SHORT_FORMS, STOPWORDS, TWO_LETTER_ALLOWED
from transforms.tag.generic import GenericWords, find_generic_words, is_abbreviation
from transforms.tag.negation import negated_flags
from transforms.tag.normalise import TOKEN, Tokens, key_of, term_keys, tokenize
from transforms.tag.variants import derived_forms

FORMAT_VERSION = 4
DIAGNOSTIC_PROCEDURE = "T060"

Plain = tuple[int, ...] | None


def abbreviation_allowed(form: str) -> bool:
    letters = form.replace(" ", "")
    if form.upper() in AMBIGUOUS_SHORT_FORMS or letters.upper() in AMBIGUOUS_SHORT_FORMS:
        return False
    return len(letters) > 2 or letters in TWO_LETTER_ALLOWED


class Match(NamedTuple):  # a tuple: built per match, so cheap to make
    concept: Concept
    start: int  # caption offsets
    end: int
    first: int  # token range [first, last)
    last: int
    negated: bool
    nested: bool = False  # inside a longer chosen match (modality tags ignore these)

    def as_struct(self) -> dict[str, Any]:
        c = self.concept
        return {
            "cui": c.cui,
            "name": c.name,
            "start": self.start,
            "end": self.end,
            "semtypes": list(c.semtypes),
            "semgroup": c.semgroup,
            "negated": self.negated,
        }


@dataclass(frozen=True)
class Analysis:
    tokens: Tokens
    matches: list[Match]


class ConceptMatcher:
    """A compiled lexicon. Build once (or load a cached artefact) and share per worker."""

    def __init__(
        self,
        lexicon: Lexicon,
        stop_words: Iterable[str] = (),
        languages: tuple[str, ...] = ("en",),
    ) -> None:
        self.name = lexicon.name
        self.languages = languages  # the caption languages its names are written in
        self.concepts: list[Concept] = list(lexicon.concepts)
        self.generic: GenericWords = find_generic_words(self.concepts, stop_words)
        table: dict[str, list[tuple[int, int, str | None]]] = {}
        for index, concept in enumerate(self.concepts):
            preferred = key_of(concept.name)
            for term in concept.terms:
                if not is_abbreviation(term) and self.generic.withheld(key_of(term), index):
                    continue
                for key, form in _keys_of(term):
                    rank = 0 if key == preferred else 1
                    table.setdefault(key, []).append((rank, index, form))
        for index, forms in derived_forms(self.concepts, self.generic.withheld).items():
            for form in forms:
                for key in term_keys(form):
                    table.setdefault(key, []).append((2, index, None))
        self.modality_concepts = modality_concepts(self.concepts)
        self.automaton = ahocorasick.Automaton(ahocorasick.STORE_INTS)
        # key id -> (token count, char length of " key ", candidates (concept, case form),
        # the concepts to emit when no candidate has a case form, else None)
        self.keys: list[tuple[int, int, tuple[tuple[int, str | None], ...], Plain]] = []
        for key, candidates in table.items():
            ordered = sorted(dict.fromkeys(candidates))
            unique = tuple(dict.fromkeys((index, form) for _, index, form in ordered))
            self.automaton.add_word(f" {key} ", len(self.keys))
            plain = None if any(form for _, form in unique) else tuple(i for i, _ in unique)
            self.keys.append((key.count(" ") + 1, len(key) + 2, unique, plain))
        if self.keys:
            self.automaton.make_automaton()

    def __len__(self) -> int:
        return len(self.keys)

    def analyse(self, text: str | None) -> Analysis:
        tokens = tokenize(text or "")
        if not tokens.words or not self.keys:
            return Analysis(tokens, [])
        found, keys, word_at = [], self.keys, tokens.word_finder()
        for end, key_id in self.automaton.iter(tokens.joined):
            ntok, length, candidates, plain = keys[key_id]
            first = word_at(end - length + 2)
            indices = plain or _pick(candidates, tokens, first, first + ntok)
            if indices:
                found.append((-ntok, first, indices))
        found.sort()
        taken = bytearray(len(tokens.words))
        chosen, overlapping = [], []
        for negative_len, first, indices in found:
            last = first - negative_len
            if any(taken[first:last]):
                overlapping.append((first, last, indices))
                continue
            taken[first:last] = b"\x01" * (last - first)
            chosen.append((first, last, indices))
        chosen.sort()
        flags = negated_flags(tokens, [(f, lst) for f, lst, _ in chosen])
        spans, concepts = tokens.spans, self.concepts
        inner = _nested_in(chosen, overlapping) if overlapping else None
        if not inner:
            matches = [
                Match(concepts[index], spans[first][0], spans[last - 1][1], first, last, negated)
                for (first, last, indices), negated in zip(chosen, flags, strict=True)
                for index in indices
            ]
            return Analysis(tokens, matches)
        return Analysis(tokens, _with_nested(chosen, flags, inner, concepts, spans))

    def concepts_of(self, text: str | None) -> list[dict[str, Any]]:
        return [m.as_struct() for m in self.analyse(text).matches]

    def to_bytes(self) -> bytes:
        state = (self.name, self.languages, self.concepts, self.generic, self.keys, self.automaton)
        state += (self.modality_concepts,)
        return pickle.dumps((FORMAT_VERSION, *state))

    @classmethod
    def from_bytes(cls, data: bytes) -> ConceptMatcher:
        version, *state = pickle.loads(data)  # noqa: S301 - own artefact
        if version != FORMAT_VERSION:
            raise ValueError(f"matcher artefact format {version}, expected {FORMAT_VERSION}")
        matcher = cls.__new__(cls)
        matcher.name, matcher.languages, matcher.concepts, matcher.generic = state[:4]
        matcher.keys, matcher.automaton, matcher.modality_concepts = state[4:]
        return matcher


def modality_concepts(concepts: list[Concept]) -> dict[str, int]:
    """modality tag -> the concept that names that modality itself, for the specific tags
    ("radiology/ct", not "radiology/other") the lexicon has concepts for: the only concept
    with the tag, or the one broader than each of the others, broader meaning a term of it
    is inside a term of the other ("angiography" in "coronary angiography", "ultrasound" in
    "cardiac ultrasound"), directly or through another; none when no one is.
    Only diagnostic procedures (T060: imaging done on a patient, which its wording implies)
    count; a laboratory procedure's wording names a preparation ("stained", "scale bar")."""
    by_tag: dict[str, list[int]] = {}
    for index, concept in enumerate(concepts):
        tag = concept.modality
        if tag and not tag.endswith("/other") and DIAGNOSTIC_PROCEDURE in concept.semtypes:
            by_tag.setdefault(concept.modality, []).append(index)
    found = {}
    for tag, indices in by_tag.items():
        keys = {i: [f" {key_of(t)} " for t in concepts[i].terms] for i in indices}
        # i is broader than j when a term of i is inside a term of j; then transitively
        # (ultrasonography > echocardiography > transesophageal echocardiography)
        narrower = {
            i: {j for j in indices if j != i and any(k in o for k in keys[i] for o in keys[j])}
            for i in indices
        }
        for _ in indices:
            for i in indices:
                narrower[i] |= {k for j in narrower[i] for k in narrower[j]} - {i}
        broad = [i for i in indices if len(narrower[i]) == len(indices) - 1]
        if len(broad) == 1:
            found[tag] = broad[0]
    return found


def _keys_of(term: str) -> list[tuple[str, str | None]]:
    """(key, case form) pairs a term is matched under; none for stop-listed terms."""
    if is_abbreviation(term):
        form = " ".join(TOKEN.findall(term))
        return [(key_of(term), form)] if abbreviation_allowed(form) else []
    key = key_of(term)
    if len(key) < 3 or key in STOPWORDS or key.isdigit():
        return []
    return [(k, None) for k in term_keys(term)]


def _nested_in(
    chosen: list[tuple[int, int, tuple[int, ...]]],
    overlapping: list[tuple[int, int, tuple[int, ...]]],
) -> dict[int, list[tuple[int, int, tuple[int, ...]]]]:
    """chosen match's position in `chosen` -> the overlapping matches inside it; those that
    cross a chosen one's edge are in none."""
    starts = [first for first, _, _ in chosen]
    inner: dict[int, list[tuple[int, int, tuple[int, ...]]]] = {}
    for first, last, indices in overlapping:
        holder = bisect_right(starts, first) - 1
        if holder >= 0 and last <= chosen[holder][1]:
            inner.setdefault(holder, []).append((first, last, indices))
    return inner


def _with_nested(
    chosen: list[tuple[int, int, tuple[int, ...]]],
    flags: list[bool],
    inner: dict[int, list[tuple[int, int, tuple[int, ...]]]],
    concepts: list[Concept],
    spans: list[tuple[int, int]],
) -> list[Match]:
    """The chosen matches, each (all its homonyms) followed by the matches inside it (in
    text order, each concept once, none the chosen match itself names; they share its
    negation)."""
    out: list[Match] = []
    append = out.append
    for holder, ((first, last, indices), negated) in enumerate(zip(chosen, flags, strict=True)):
        start, end = spans[first][0], spans[last - 1][1]
        for index in indices:
            append(Match(concepts[index], start, end, first, last, negated))
        if holder not in inner:
            continue
        seen = set(indices)
        for start_token, stop, inside in sorted(inner[holder]):
            for index in inside:
                if index not in seen:
                    seen.add(index)
                    start, end = spans[start_token][0], spans[stop - 1][1]
                    append(Match(concepts[index], start, end, start_token, stop, negated, True))
    return out


def _pick(
    candidates: tuple[tuple[int, str | None], ...], tokens: Tokens, first: int, last: int
) -> tuple[int, ...]:
    """The candidate concepts that fit what the caption wrote: those whose case form is
    exactly the written text if there are any ("TOE" is the echocardiography), else those
    matched in any case ("toe", the digit)."""
    text, spans = tokens.text, tokens.spans
    written = " ".join(text[s:e] for s, e in spans[first:last])
    exact = tuple(index for index, form in candidates if form is not None and form == written)
    return exact or tuple(index for index, form in candidates if form is None)
