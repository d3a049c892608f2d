"""Write `default_src/caption_words.txt`: UMLS concepts that PMC captions name with common
words, learned from ROCO's annotations: `python -m metadata.learn_words [CAPTIONS_DIR]`.

ROCO (Pelka et al. 2018) annotated each caption with the UMLS CUIs of its words, every CUI
a string maps to ("arrow" has four). Only the 612 non-radiology test captions are read
(the radiology ones are the held-out target). A CUI is kept when one caption string
explains it: the string occurs in at least 70% of the captions carrying the CUI and at
least 60% of the captions with the string carry it, the CUI occurs in 3 captions or more
(2 when its semantic type is certain), the string is a content word or two and the CUI is
not in a hand-written module. The semantic type is the one every caption carrying the CUI
lists when there is one such type (certain); otherwise the rarest type they all list
(checked against the hand-typed concepts, the figure printed). A concept's name is the
caption string it was learned from, not UMLS's preferred name.

No concept of a Concepts & Ideas type (`QUALIFIER_TYPES`) is learned. A bare word (a
one-word string) is learned only when the evidence for it is firm: ROCO's annotator gave
it fewer than `AMBIGUOUS_SENSES` CUIs (it lists every sense UMLS has: "arrow" four,
"right" three, "section" two), its type is not a loose one (`LOOSE`), and it is the head
noun of some MeSH 2015 descriptor name (27,455 names, public domain, in `vocab/` beside
the captions: "Injections", "Heart Valves", "Colon, Transverse" read as "Transverse
Colon"), so adjectives that only qualify ("anterior", "transverse", "single") are not.
"""

from __future__ import annotations

import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

from metadata.mesh import natural_order
from metadata.semgroups import QUALIFIER_TYPES, TYPE_GROUP
from metadata.words import AMBIGUOUS_SHORT_FORMS, STOPWORDS
from metadata.write_default import HAND_MODULES, SOURCES, build

DEFAULT_CAPTIONS = Path(__file__).resolve().parents[2] / "shared" / "testdata" / "captions"
OUTPUT = SOURCES / "caption_words.txt"
MESH_NAMES = "dhimmel_mesh2015_terms.tsv"
AMBIGUOUS_SENSES = 2
# Finding (UMLS's type for adjectives read as observations: "present", "typical") and the
# Concepts & Ideas types: too loose to make a bare word a concept on a guess
LOOSE = QUALIFIER_TYPES | {"T033"}
TUI = re.compile(r"T\d{3}")
WORD = re.compile(r"[^\W_]+")


def read(captions: Path, kind: str) -> dict[str, list[str]]:
    rows = (captions / f"ROCO_test_nonradiology_{kind}.txt").read_text("utf-8").splitlines()
    return {r.split("\t")[0]: [x for x in r.split("\t")[1:] if x.strip()] for r in rows}


def content(gram: str) -> bool:
    words = gram.split()
    if any(w in STOPWORDS or w.isdigit() or w.upper() in AMBIGUOUS_SHORT_FORMS for w in words):
        return False
    return len(gram) >= 4


def mesh_heads(captions: Path) -> set[str]:
    """The head nouns of MeSH 2015's descriptor names: each name's last word in natural
    order ("Colon, Transverse" is "Transverse Colon": colon), plurals also singular."""
    rows = (captions.parent / "vocab" / MESH_NAMES).read_text("utf-8").splitlines()[1:]
    heads = set()
    for row in rows:
        name = row.partition("\t")[2]
        words = WORD.findall((natural_order(name) or name).lower())
        if words:
            heads.add(words[-1])
    return heads | {w[:-1] for w in heads if w.endswith("s")}


def firm(row: tuple[str, str, str], senses: Counter, heads: set[str]) -> bool:
    """Whether a learned (string, CUI, type) may stand: never a Concepts & Ideas type; a
    bare word only with fewer than AMBIGUOUS_SENSES senses, a type that is not loose, and
    as a head noun of MeSH."""
    gram, _, tui = row
    if tui in QUALIFIER_TYPES:
        return False  # names no thing ("universal testing")
    if " " in gram:
        return True
    return senses[gram] < AMBIGUOUS_SENSES and tui not in LOOSE and gram in heads


def learn(captions: Path) -> tuple[list[str], str]:
    texts, cuis = read(captions, "captions"), read(captions, "cuis")
    semtypes = read(captions, "semtypes")
    hand_lexicon = build(HAND_MODULES).concepts
    hand = {c.cui: set(c.semtypes) for c in hand_lexicon}
    heads = mesh_heads(captions)
    n_cui, n_gram, together = Counter(), Counter(), defaultdict(Counter)
    common: dict[str, set[str]] = {}
    type_count = Counter()
    for key, parts in texts.items():
        words = WORD.findall(" ".join(parts).lower())
        grams = set(words) | {f"{a} {b}" for a, b in zip(words, words[1:], strict=False)}
        types = {t for t in semtypes.get(key, []) if TUI.fullmatch(t)}
        type_count.update(types)
        n_gram.update(grams)
        for cui in set(cuis.get(key, [])):
            n_cui[cui] += 1
            common[cui] = types if cui not in common else common[cui] & types
            together[cui].update(grams)

    def semtype(cui: str) -> str | None:
        known = [t for t in common[cui] if t in TYPE_GROUP]
        return min(known, key=lambda t: (type_count[t], t)) if known else None

    checked = [c for c in hand if n_cui[c] >= 2 and semtype(c)]
    right = sum(semtype(c) in hand[c] for c in checked)
    check = f"rarest-type rule on the hand-typed concepts: {right}/{len(checked)} exact"
    candidates = []
    for cui, n in sorted(n_cui.items()):
        if cui in hand or n < 2 or not semtype(cui):
            continue
        gram, hits = max(
            together[cui].items(), key=lambda g: (2 * g[1] / (n + n_gram[g[0]]), len(g[0]), g[0])
        )
        certain = len(common[cui]) == 1
        if hits / n < 0.7 or hits / n_gram[gram] < 0.6 or not content(gram):
            continue
        if n < 3 and not certain:
            continue
        candidates.append((gram, cui, semtype(cui)))
    senses = Counter(gram for gram, _, _ in candidates)
    rows = [row for row in candidates if firm(row, senses, heads)]
    lines = [f"{cui}|{tui}||{gram.capitalize()}|{gram}" for gram, cui, tui in sorted(rows)]
    return lines, check


def render(lines: list[str], check: str) -> str:
    header = [f"# {line}" if line else "#" for line in __doc__.strip().splitlines()]
    header += [f"# {check}", "# CUI|TUIs|modality|Name|synonym;synonym"]
    return "\n".join(header + lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    lines, check = learn(Path(args[0]) if args else DEFAULT_CAPTIONS)
    OUTPUT.write_text(render(lines, check), encoding="utf-8")
    print(f"wrote {OUTPUT}: {len(lines)} concepts; {check}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
