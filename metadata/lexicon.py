"""The lexicon every loader produces: concepts with ids, semantic types, a group,
an optional modality tag and their terms. Stored as a plain TSV (one concept a line)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from metadata.semgroups import group_of

DEFAULT_LEXICON = Path(__file__).resolve().parent / "data" / "default_lexicon.tsv"
TSV_FIELDS = ("cui", "name", "semtypes", "semgroup", "modality", "terms")


@dataclass(frozen=True)
class Concept:
    cui: str  # a UMLS CUI, or a prefixed source id such as "MESH:D003937"
    name: str
    semtypes: tuple[str, ...]
    semgroup: str
    # "top/sub" when the concept itself names a figure modality, e.g. "radiology/ct"
    modality: str = ""
    # synonyms, the preferred name first
    terms: tuple[str, ...] = ()


@dataclass
class Lexicon:
    name: str
    concepts: list[Concept] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.concepts)

    def term_count(self) -> int:
        return sum(len(c.terms) for c in self.concepts)


def make_concept(
    cui: str,
    name: str,
    semtypes: tuple[str, ...],
    terms: list[str],
    modality: str = "",
    name_is_term: bool = True,
) -> Concept:
    """A concept with its group from its types and unique terms (the name first, unless
    the name is too ambiguous to match on its own, e.g. "Radius")."""
    listed = [name, *terms] if name_is_term else terms
    unique = list(dict.fromkeys(t.strip() for t in listed if t and t.strip()))
    return Concept(cui, name, tuple(semtypes), group_of(semtypes), modality, tuple(unique))


def write_tsv(lexicon: Lexicon) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_NONE)
    writer.writerow(TSV_FIELDS)
    for c in lexicon.concepts:
        writer.writerow(
            [c.cui, c.name, ",".join(c.semtypes), c.semgroup, c.modality, "|".join(c.terms)]
        )
    return out.getvalue()


def read_tsv(path: str | Path, name: str | None = None) -> Lexicon:
    """A lexicon TSV as written by `write_tsv`; a malformed line raises naming it."""
    path = Path(path)
    concepts = []
    with open(path, encoding="utf-8", newline="") as handle:
        header = handle.readline().rstrip("\n").split("\t")
        if tuple(header) != TSV_FIELDS:
            raise ValueError(f"{path}:1: expected lexicon header {TSV_FIELDS}, got {header}")
        for number, line in enumerate(handle, 2):
            parts = line.rstrip("\n").split("\t")
            if len(parts) != len(TSV_FIELDS) or not parts[0] or not parts[5]:
                raise ValueError(f"{path}:{number}: malformed lexicon line {line[:80]!r}")
            cui, cname, types, group, modality, terms = parts
            semtypes = tuple(t for t in types.split(",") if t)
            concepts.append(Concept(cui, cname, semtypes, group, modality, tuple(terms.split("|"))))
    return Lexicon(name or path.stem, concepts)


def load_default() -> Lexicon:
    return read_tsv(DEFAULT_LEXICON, "default")
