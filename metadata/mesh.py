"""Load MeSH descriptors (public domain) into a Lexicon: the descriptor XML
(`descYYYY.xml`) or a names TSV with a tree-numbers TSV. Concept ids are the descriptor
UIs with a prefix ("MESH:D003937"), since MeSH carries no CUIs; groups come from the
concepts' semantic types when the XML has them, otherwise from the tree numbers.
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path

from lxml import etree

from metadata.lexicon import Concept, Lexicon
from metadata.semgroups import group_of

log = logging.getLogger(__name__)
PREFIX = "MESH:"

# MeSH tree categories -> semantic group; longer prefixes win
TREE_GROUPS: dict[str, str] = {
    "A": "ANAT", "B": "LIVB", "C": "DISO", "D": "CHEM", "E": "PROC", "E07": "DEVI",
    "F01": "ACTI", "F02": "PHYS", "F03": "DISO", "F04": "OCCU", "G": "PHYS", "G01": "PHEN",
    "G02": "PHEN", "H": "OCCU", "I": "CONC", "J": "OBJC", "K": "CONC", "L": "CONC",
    "M": "LIVB", "N": "CONC", "N02": "ORGA", "V": "CONC", "Z": "GEOG",
}  # fmt: skip


class MeshFormatError(ValueError):
    """A MeSH file that does not parse, with the file and line in the message."""


def tree_group(tree_numbers: list[str]) -> str:
    for tree in tree_numbers:
        for prefix in (tree[:3], tree[:1]):
            if prefix in TREE_GROUPS:
                return TREE_GROUPS[prefix]
    return ""


def natural_order(name: str) -> str | None:
    """ "Abdomen, Acute" -> "Acute Abdomen" (MeSH inverts many headings)."""
    head, sep, tail = name.partition(", ")
    if not sep or "," in tail:
        return None
    return f"{tail} {head}"


def _concept(ui: str, name: str, trees: list[str], semtypes: list[str], terms: list[str]):
    semtypes_t = tuple(dict.fromkeys(semtypes))
    group = group_of(semtypes_t) or tree_group(trees)
    extra = [natural_order(t) for t in [name, *terms]]
    unique = tuple(dict.fromkeys([name, *terms, *(t for t in extra if t)]))
    return Concept(PREFIX + ui, name, semtypes_t, group, "", unique)


def load_mesh_xml(path: str | Path, recover: bool = False) -> Lexicon:
    """Descriptors of a MeSH XML file. A malformed or truncated file raises
    MeshFormatError naming the file and line; with `recover`, the descriptors read
    before the damage are kept and the damage is logged."""
    path = Path(path)
    concepts: list[Concept] = []
    context = etree.iterparse(
        str(path),
        events=("end",),
        tag="DescriptorRecord",
        load_dtd=False,
        no_network=True,
        resolve_entities=False,
        huge_tree=True,
    )
    try:
        for _, record in context:
            ui = record.findtext("DescriptorUI", "").strip()
            name = record.findtext("DescriptorName/String", "").strip()
            trees = [t.text.strip() for t in record.iterfind("TreeNumberList/TreeNumber")]
            semtypes = [
                t.text.strip()
                for t in record.iterfind(".//SemanticTypeList/SemanticType/SemanticTypeUI")
            ]
            terms = [t.text.strip() for t in record.iterfind(".//TermList/Term/String")]
            if ui and name:
                concepts.append(_concept(ui, name, trees, semtypes, terms))
            record.clear()
    except etree.XMLSyntaxError as exc:
        line = exc.position[0] if exc.position else "?"
        message = f"{path}: line {line}: malformed or truncated MeSH XML ({exc.msg})"
        if not recover:
            raise MeshFormatError(message) from exc
        log.warning("%s; kept the %d descriptors before it", message, len(concepts))
    return Lexicon(f"mesh:{path.stem}", concepts)


def load_mesh_tsv(terms_path: str | Path, tree_numbers_path: str | Path | None = None) -> Lexicon:
    """Descriptor names (`mesh_id<TAB>mesh_name` with a header) and optionally their
    tree numbers (`mesh_id, mesh_name, mesh_tree_number`)."""
    trees: dict[str, list[str]] = {}
    if tree_numbers_path:
        with open(tree_numbers_path, encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle, delimiter="\t"):
                trees.setdefault(row["mesh_id"], []).append(row["mesh_tree_number"])
    concepts = []
    with open(terms_path, encoding="utf-8", newline="") as handle:
        for number, row in enumerate(csv.DictReader(handle, delimiter="\t"), 2):
            ui, name = row.get("mesh_id"), row.get("mesh_name")
            if not ui or not name:
                raise MeshFormatError(f"{terms_path}: line {number}: missing mesh_id or mesh_name")
            concepts.append(_concept(ui, name, trees.get(ui, []), [], []))
    return Lexicon(f"mesh:{Path(terms_path).stem}", concepts)
