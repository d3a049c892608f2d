"""Write the bundled default lexicon: `python -m metadata.write_default [--check]`.

The sources are `metadata/default_src/*.txt`, one concept a line:
`CUI|TUIs|modality|Name|synonym;synonym` (TUIs comma-separated, modality a "top/sub" tag
or empty; `#` starts a comment). The CUIs are UMLS concept ids. This checks the rows (CUI
form, known semantic types, modality tags from the taxonomy, no CUI twice) and writes
`metadata/data/default_lexicon.tsv`, which is what the tagger loads.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import replace
from pathlib import Path

from metadata.lexicon import DEFAULT_LEXICON, Lexicon, make_concept, write_tsv
from metadata.modalities import TAXONOMY
from metadata.semgroups import TYPE_GROUP

CUI = re.compile(r"C\d{7}")
SOURCES = Path(__file__).resolve().parent / "default_src"
# the order concepts are written in (and, for equal keys, preferred in)
HAND_MODULES = (
    "imaging", "anatomy", "diseases", "findings", "cells", "organisms", "chemicals", "procedures",
    "phenotypes",
)  # fmt: skip
# caption_words is learned (metadata/learn_words.py), so it comes last: hand rows win
MODULES = (*HAND_MODULES, "caption_words")


def parse_rows(module: str, text: str) -> list:
    concepts = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        where = f"default_src/{module}.txt:{number}"
        parts = [p.strip() for p in line.split("|")]
        if len(parts) != 5:
            raise ValueError(f"{where}: expected 5 fields: {line!r}")
        cui, types, modality, name, terms = parts
        semtypes = tuple(types.split(","))
        if not CUI.fullmatch(cui):
            raise ValueError(f"{where}: not a CUI: {cui!r}")
        unknown = [t for t in semtypes if t not in TYPE_GROUP]
        if unknown:
            raise ValueError(f"{where}: unknown semantic types {unknown}")
        if modality:
            top, _, sub = modality.partition("/")
            if sub not in TAXONOMY.get(top, ()):
                raise ValueError(f"{where}: modality {modality!r} is not in the taxonomy")
        synonyms = [t for t in terms.split(";") if t.strip()]
        if not synonyms:
            raise ValueError(f"{where}: no terms")
        concepts.append(make_concept(cui, name, semtypes, synonyms, modality, name_is_term=False))
    return concepts


def build(modules: tuple[str, ...] = MODULES) -> Lexicon:
    concepts, seen = [], {}
    hand_terms: set[str] = set()
    for module in modules:
        rows = (SOURCES / f"{module}.txt").read_text(encoding="utf-8")
        for concept in parse_rows(module, rows):
            if concept.cui in seen:
                raise ValueError(f"{concept.cui} is in both {seen[concept.cui]} and {module}")
            if module in HAND_MODULES:
                hand_terms.update(t.lower() for t in concept.terms)
            else:
                # a learned sense never rides on a string a hand-written concept owns:
                # ROCO's extra senses there are its noise ("abdomen" as a chemical)
                terms = tuple(t for t in concept.terms if t.lower() not in hand_terms)
                if not terms:
                    continue
                concept = replace(concept, terms=terms)
            seen[concept.cui] = module
            concepts.append(concept)
    return Lexicon("default", concepts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the TSV is out of date")
    args = parser.parse_args(argv)
    text = write_tsv(build())
    if args.check:
        current = DEFAULT_LEXICON.read_text(encoding="utf-8") if DEFAULT_LEXICON.exists() else ""
        if current != text:
            print(f"{DEFAULT_LEXICON} is out of date: run python -m metadata.write_default")
            return 1
        return 0
    DEFAULT_LEXICON.parent.mkdir(parents=True, exist_ok=True)
    DEFAULT_LEXICON.write_text(text, encoding="utf-8")
    print(f"wrote {DEFAULT_LEXICON}: {text.count(chr(10)) - 1} concepts")
    return 0


if __name__ == "__main__":
    sys.exit(main())
