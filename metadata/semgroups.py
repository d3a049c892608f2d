"""UMLS semantic groups (McCray et al. 2001) as facts: 15 groups and type -> group.

The mapping follows NLM's SemGroups.txt, including the types that later UMLS releases
merged away (T110, T111, T115, T118, T119, T124), so older installations map too.
"""

from __future__ import annotations

from pathlib import Path

GROUP_NAMES: dict[str, str] = {
    "ACTI": "Activities & Behaviors",
    "ANAT": "Anatomy",
    "CHEM": "Chemicals & Drugs",
    "CONC": "Concepts & Ideas",
    "DEVI": "Devices",
    "DISO": "Disorders",
    "GENE": "Genes & Molecular Sequences",
    "GEOG": "Geographic Areas",
    "LIVB": "Living Beings",
    "OBJC": "Objects",
    "OCCU": "Occupations",
    "ORGA": "Organizations",
    "PHEN": "Phenomena",
    "PHYS": "Physiology",
    "PROC": "Procedures",
}

_GROUP_TYPES: dict[str, str] = {
    "ACTI": "T051 T052 T053 T054 T055 T056 T057 T064 T066",
    "ANAT": "T017 T018 T021 T022 T023 T024 T025 T026 T029 T030 T031",
    "CHEM": "T103 T104 T109 T110 T111 T114 T115 T116 T118 T119 T120 T121 T122 T123 T124 "
    "T125 T126 T127 T129 T130 T131 T192 T195 T196 T197 T200",
    "CONC": "T077 T078 T079 T080 T081 T082 T089 T102 T169 T170 T171 T185",
    "DEVI": "T074 T075 T203",
    "DISO": "T019 T020 T033 T037 T046 T047 T048 T049 T050 T184 T190 T191",
    "GENE": "T028 T085 T086 T087 T088",
    "GEOG": "T083",
    "LIVB": "T001 T002 T004 T005 T007 T008 T010 T011 T012 T013 T014 T015 T016 T096 T097 "
    "T098 T099 T100 T101 T194 T204",
    "OBJC": "T071 T072 T073 T167 T168",
    "OCCU": "T090 T091",
    "ORGA": "T092 T093 T094 T095",
    "PHEN": "T034 T038 T067 T068 T069 T070",
    "PHYS": "T032 T039 T040 T041 T042 T043 T044 T045 T201",
    "PROC": "T058 T059 T060 T061 T062 T063 T065",
}

TYPE_GROUP: dict[str, str] = {
    tui: group for group, tuis in _GROUP_TYPES.items() for tui in tuis.split()
}

# the Concepts & Ideas group (temporal, qualitative, quantitative, spatial and functional
# concepts, intellectual products, classifications ...): the types MetaMap and QuickUMLS
# users leave out, since a word typed only so ("right", "normal", "image") names no thing
QUALIFIER_TYPES: frozenset[str] = frozenset(_GROUP_TYPES["CONC"].split())


def group_of(semtypes: list[str] | tuple[str, ...], mapping: dict[str, str] | None = None) -> str:
    """The group of a concept: that of its first semantic type with a known group."""
    mapping = TYPE_GROUP if mapping is None else mapping
    for tui in semtypes:
        group = mapping.get(tui)
        if group:
            return group
    return ""


def read_semgroups(path: str | Path) -> dict[str, str]:
    """type -> group from a SemGroups.txt (GROUP|Group name|TUI|Type name per line)."""
    mapping: dict[str, str] = {}
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            line = line.strip()
            if not line:
                continue
            parts = line.split("|")
            if len(parts) != 4 or not parts[2].startswith("T"):
                raise ValueError(f"{path}:{number}: not a SemGroups line: {line[:80]!r}")
            mapping[parts[2]] = parts[0]
    return mapping
