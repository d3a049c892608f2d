"""Which bare words a lexicon should not match on their own, decided from the lexicon itself.

A bare word is a one-token term that is not a short form ("right", "arrow", "contrast").
Inside a longer name ("right ventricle", "contrast medium", "light microscopy") it always
matches; alone it is withheld when the whole lexicon's evidence says it is no concept:

- `semtype`: the concept it names has only qualifier types (`QUALIFIER_TYPES`: temporal,
  qualitative, quantitative, spatial, functional concepts, intellectual products,
  classifications ...), the types MetaMap and QuickUMLS users filter out. Per sense:
  a word keeps its other senses.
- `ambiguous`: it names `AMBIGUOUS_SENSES` or more concepts, so no one sense can be chosen
  (MetaMap's ambiguity; annotators that list every sense of a word, as ROCO's QuickUMLS
  run did for "arrow", give such words several CUIs).
- `stop_list`: the user's own list of words and phrases (a phrase is withheld as a whole
  term: "scale bar" stops the term "scale bar", not "bar").

The evidence is the lexicon's names and types, so it holds for any lexicon (UMLS, MeSH,
a TSV); the default lexicon's result is printed by `python -m transforms.tag.generic`.
Types guessed rather than given (the default lexicon's learned words) are checked where
they are learned (`metadata/learn_words.py`: ROCO's senses of the word, MeSH's head nouns).
"""

from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from metadata.lexicon import Concept, Lexicon, load_default, read_tsv
from metadata.semgroups import QUALIFIER_TYPES
from transforms.tag.normalise import TOKEN, fold_lower, key_of

AMBIGUOUS_SENSES = 3


def is_abbreviation(term: str) -> bool:
    """Short forms written with capitals ("CT", "MRI", "H&E", "IgG", "pH") match by case;
    capitalised words ("Hip", "Eye") do not count as short forms."""
    chars = [c for c in term if c.isalnum()]
    upper = sum(c.isupper() for c in chars)
    if len(chars) > 6 or upper == 0:
        return False
    return upper >= 2 or (len(chars) <= 3 and not term.istitle())


@dataclass
class GenericWords:
    """Bare words withheld from matching, with the reason for each."""

    # word (or stop-listed phrase) -> reason, for terms withheld in every sense
    words: dict[str, str] = field(default_factory=dict)
    # (word, concept index) -> reason, for single senses withheld (the `semtype` rule)
    senses: dict[tuple[str, int], str] = field(default_factory=dict)

    def withheld(self, key: str, index: int) -> bool:
        """Whether the term with this key is withheld for the concept at `index`."""
        return key in self.words or (key, index) in self.senses

    def reason(self, word: str) -> str | None:
        """Why a bare word matches nothing, or None when some sense of it matches."""
        return self.words.get(word)

    def reasons(self) -> dict[str, str]:
        """Every withheld word with its reason (a word withheld in some senses only is
        listed as `semtype (some senses)`)."""
        partial = {w: f"{r} (some senses)" for (w, _), r in self.senses.items()}
        return dict(sorted({**partial, **self.words}.items()))


def bare_word(term: str) -> str | None:
    """The key of a one-token, non-short-form term, else None."""
    if is_abbreviation(term):
        return None
    key = key_of(term)
    return key if key and " " not in key else None


def find_generic_words(concepts: list[Concept], stop_words: Iterable[str] = ()) -> GenericWords:
    """The bare words of `concepts` to withhold, by the rules above."""
    senses: dict[str, set[int]] = defaultdict(set)
    for index, concept in enumerate(concepts):
        for term in concept.terms:
            word = bare_word(term)
            if word:
                senses[word].add(index)
    found = GenericWords()
    for word in sorted(set(stop_words)):
        found.words[word] = "stop_list"
    for word, indices in sorted(senses.items()):
        if word in found.words:
            continue
        qualifier = [i for i in indices if _only_qualifier_types(concepts[i])]
        if len(qualifier) == len(indices):
            found.words[word] = "semtype"
        elif len(indices) >= AMBIGUOUS_SENSES:
            found.words[word] = "ambiguous"
        else:
            found.senses.update(((word, i), "semtype") for i in qualifier)
    return found


def _only_qualifier_types(concept: Concept) -> bool:
    return bool(concept.semtypes) and all(t in QUALIFIER_TYPES for t in concept.semtypes)


def read_stop_words(path: str) -> frozenset[str]:
    """A user's stop list: a word or phrase a line, `#` comments; folded as captions are."""
    with open(path, encoding="utf-8") as handle:
        lines = [line.split("#", 1)[0].strip() for line in handle]
    return frozenset(" ".join(TOKEN.findall(fold_lower(line))) for line in lines if line)


def main(argv: list[str] | None = None) -> int:
    """Print the withheld words of the bundled lexicon (or of a lexicon TSV given)."""
    args = sys.argv[1:] if argv is None else argv
    lexicon: Lexicon = read_tsv(args[0]) if args else load_default()
    found = find_generic_words(lexicon.concepts)
    for word, reason in found.reasons().items():
        print(f"{word}\t{reason}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
