"""Load a licensed UMLS installation (the META folder of RRF files) into a Lexicon.

MRCONSO.RRF gives the strings, kept by language, source vocabulary (SAB) and suppress
flag; MRSTY.RRF gives each concept's semantic types; the semantic group comes from the
bundled facts or from a SemGroups.txt. Files are streamed, never read whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from metadata.lexicon import Concept, Lexicon
from metadata.semgroups import TYPE_GROUP, group_of, read_semgroups

# MRCONSO columns (MRFILES.RRF): CUI,LAT,TS,LUI,STT,SUI,ISPREF,AUI,SAUI,SCUI,SDUI,SAB,TTY,
# CODE,STR,SRL,SUPPRESS,CVF
CONSO_FIELDS = 18
CUI, LAT, TS, STT, ISPREF, SAB, STR, SUPPRESS = 0, 1, 2, 4, 6, 11, 14, 16
# MRSTY columns: CUI,TUI,STN,STY,ATUI,CVF
STY_FIELDS = 6
# O: obsolete, E: suppressed by the editors, Y: suppressed by the source
SUPPRESSED = frozenset("OEY")


def _rows(path: Path, fields: int) -> Iterator[list[str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        for number, line in enumerate(handle, 1):
            line = line.rstrip("\r\n")
            if not line:
                continue
            parts = line.split("|")
            if parts[-1] == "":
                parts.pop()  # every RRF line ends with a "|"
            if len(parts) != fields:
                raise ValueError(f"{path}:{number}: expected {fields} fields, found {len(parts)}")
            yield parts


def read_semantic_types(path: Path) -> dict[str, list[str]]:
    types: dict[str, list[str]] = {}
    for row in _rows(path, STY_FIELDS):
        types.setdefault(row[0], []).append(row[1])
    return types


def load_umls(
    meta_dir: str | Path,
    languages: tuple[str, ...] = ("ENG",),
    sources: tuple[str, ...] = (),
    keep_suppressed: bool = False,
    semgroups_file: str | Path | None = None,
) -> Lexicon:
    """Concepts with their kept strings; the preferred English string names a concept."""
    meta = Path(meta_dir)
    conso, sty = meta / "MRCONSO.RRF", meta / "MRSTY.RRF"
    for path in (conso, sty):
        if not path.is_file():
            raise FileNotFoundError(f"UMLS file not found: {path}")
    mapping = read_semgroups(semgroups_file) if semgroups_file else TYPE_GROUP
    types = read_semantic_types(sty)
    strings: dict[str, list[str]] = {}
    preferred: dict[str, str] = {}
    wanted_sources = set(sources)
    for row in _rows(conso, CONSO_FIELDS):
        if row[LAT] not in languages or (wanted_sources and row[SAB] not in wanted_sources):
            continue
        if not keep_suppressed and row[SUPPRESS] in SUPPRESSED:
            continue
        cui, text = row[CUI], row[STR]
        strings.setdefault(cui, []).append(text)
        if row[TS] == "P" and row[STT] == "PF" and row[ISPREF] == "Y":
            preferred.setdefault(cui, text)
    concepts = []
    for cui, texts in strings.items():
        semtypes = tuple(types.get(cui, ()))
        name = preferred.get(cui, texts[0])
        terms = tuple(dict.fromkeys([name, *texts]))
        concepts.append(Concept(cui, name, semtypes, group_of(semtypes, mapping), "", terms))
    return Lexicon(f"umls:{meta.name}", concepts)
