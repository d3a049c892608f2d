"""What the tag unit finds beyond the longest matches, on real ROCO captions: the concepts
inside a chosen match (nested), word forms the lexicon's own names teach, and the modality
concept that wording alone names. Each is checked against ROCO's own CUIs where it has them."""

from __future__ import annotations

from pathlib import Path

import pytest

from metadata.lexicon import Lexicon, load_default, make_concept
from transforms.tag.concepts import ConceptMatcher
from transforms.tag.tagger import Tagger
from transforms.tag.variants import derived_forms, learn_rewrites, named_forms


@pytest.fixture(scope="module")
def matcher() -> ConceptMatcher:
    return ConceptMatcher(load_default())


def roco(testdata: Path, key: str) -> tuple[str, set[str]]:
    """A ROCO caption by id and ROCO's CUIs for it."""
    for split in ("radiology_dev600", "nonradiology"):
        folder = testdata / "captions"
        for line in (folder / f"ROCO_test_{split}_captions.txt").read_text("utf-8").splitlines():
            if line.startswith(f"{key}\t"):
                cuis = (folder / f"ROCO_test_{split}_cuis.txt").read_text("utf-8")
                row = next(r for r in cuis.splitlines() if r.startswith(f"{key}\t"))
                return line.split("\t", 1)[1].strip(), set(row.split("\t")[1:]) - {""}
    raise KeyError(key)


@pytest.mark.realdata
def test_concepts_inside_a_longest_match_are_kept(matcher: ConceptMatcher, testdata: Path) -> None:
    caption, cuis = roco(testdata, "ROCO_10149")
    matches = matcher.analyse(caption).matches
    found = [(caption[m.start : m.end], m.concept.cui, m.nested) for m in matches]
    assert ("CT scan", "C0040405", False) in found
    assert ("scan", "C0441633", True) in found  # Scanning, inside "CT scan"
    assert ("fibrosis", "C0016059", True) in found  # inside "pulmonary fibrosis"
    # ROCO lists both, as its annotator lists what a longer name holds
    assert {"C0441633", "C0016059"} <= cuis
    # the modality comes from the chosen match only
    assert Tagger(matcher).tag(caption, None)[1] == ["radiology/ct"]


@pytest.mark.realdata
def test_word_forms_taught_by_the_lexicon_match(matcher: ConceptMatcher, testdata: Path) -> None:
    caption, cuis = roco(testdata, "ROCO_10584")  # "A vaginal ultrasound revealed ..."
    found = {(caption[m.start : m.end], m.concept.cui) for m in matcher.analyse(caption).matches}
    assert ("vaginal", "C0042232") in found and "C0042232" in cuis  # Vagina
    caption, cuis = roco(testdata, "ROCO_10900")  # "Transrectal ultrasonogram of ..."
    found = {(caption[m.start : m.end], m.concept.cui) for m in matcher.analyse(caption).matches}
    assert ("ultrasonogram", "C0041618") in found and "C0041618" in cuis  # Ultrasonography


@pytest.mark.realdata
def test_adjectives_the_lexicon_names_concepts_with_match(
    matcher: ConceptMatcher, testdata: Path
) -> None:
    # "thoracic" from the Chest's own "thoracic cavity" (its bare word "thorax"),
    # "mesenteric" by the y -> ic rewrite other groups teach and "Mesenteric cyst" writes
    for key, word, cui in [
        ("ROCO_10553", "Thoracic", "C0817096"),  # "Thoracic computed tomography showing ..."
        ("ROCO_10513", "cerebellar", "C0007765"),  # "... a right cerebellar hypodens lesion."
        ("ROCO_12129", "Arterial", "C0003842"),  # "Arterial phase enhanced MRI; ..."
        ("ROCO_11619", "mesenteric", "C0025474"),  # "The 2nd superior mesenteric angiography"
    ]:
        caption, cuis = roco(testdata, key)
        found = {
            (caption[m.start : m.end], m.concept.cui) for m in matcher.analyse(caption).matches
        }
        assert (word, cui) in found and cui in cuis, (key, word)


def test_a_concept_teaches_its_adjective_not_its_root() -> None:
    chest = make_concept("C0817096", "Chest", ("T029",), ["chest", "thorax", "thoracic cavity"])
    assert named_forms(chest) == ["thoracic"]
    # "pineal" is what the tumour's name is built on, not a form of it
    pinealoma = make_concept(
        "C0031941", "Pinealoma", ("T191",), ["pinealoma", "pineal parenchymal cell neoplasm"]
    )
    assert named_forms(pinealoma) == []
    matcher = ConceptMatcher(Lexicon("small", [chest, pinealoma]))
    found = [c["cui"] for c in matcher.concepts_of("Thoracic CT; a pineal mass")]
    assert found == ["C0817096"]


def test_rewrites_need_three_concepts_of_a_group() -> None:
    def anat(cui: str, *terms: str):
        return make_concept(cui, terms[0], ("T023",), list(terms))

    concepts = [
        anat("C0034896", "rectum", "rectal"),
        anat("C0013303", "duodenum", "duodenal"),
        anat("C0022378", "jejunum", "jejunal"),
        anat("C0036410", "scrotum"),
        anat("C0023884", "liver"),
        make_concept("C0009424", "Medium", ("T167",), ["medium"]),
    ]
    assert learn_rewrites(concepts) == {"ANAT": [("al", "um"), ("um", "al")]}
    forms = {concepts[i].name: f for i, f in derived_forms(concepts, lambda w, i: False).items()}
    # "scrotal" is made; "medium" is no anatomy, so never "medial"; "liver" gets nothing
    assert forms == {"scrotum": ["scrotal"]}
    matcher = ConceptMatcher(Lexicon("small", concepts))
    assert [c["cui"] for c in matcher.concepts_of("Scrotal wall; medial side")] == ["C0036410"]


@pytest.mark.realdata
def test_modality_wording_stands_for_its_concept(matcher: ConceptMatcher, testdata: Path) -> None:
    caption, _ = roco(testdata, "ROCO_10512")  # "The preoperative orthopantomogram."
    assert matcher.analyse(caption).matches == []
    concepts, modalities = Tagger(matcher).tag(caption, None)
    assert [(caption[c["start"] : c["end"]], c["cui"]) for c in concepts] == [
        ("orthopantomogram", "C0043299")  # Diagnostic radiologic examination
    ]
    assert modalities == ["radiology/xray"]


@pytest.mark.realdata
def test_the_broadest_modality_concept_stands_for_the_wording(
    matcher: ConceptMatcher, testdata: Path
) -> None:
    # three ultrasound concepts; ultrasonography is broader than echocardiography ("cardiac
    # ultrasound"), which is broader than transesophageal echocardiography
    names = {matcher.concepts[i].name for i in matcher.modality_concepts.values()}
    assert "Ultrasonography" in names and "Echocardiography" not in names
    caption, _ = roco(testdata, "ROCO_10266")  # "Parasternal long view in systole ..."
    concepts, modalities = Tagger(matcher).tag(caption, None)
    assert [(caption[c["start"] : c["end"]], c["cui"]) for c in concepts] == [
        ("Parasternal", "C0041618")
    ]
    assert modalities == ["radiology/ultrasound"]


@pytest.mark.realdata
def test_laboratory_wording_stands_for_no_concept(matcher: ConceptMatcher, testdata: Path) -> None:
    # only diagnostic procedures are stood for: a stain names a preparation
    assert matcher.modality_concepts["radiology/ct"] == next(
        i for i, c in enumerate(matcher.concepts) if c.cui == "C0040405"
    )
    assert "microscopy/histology" not in matcher.modality_concepts
    # two gastrointestinal endoscopies, neither broader than the other: none stands for both
    assert "endoscopy/gastrointestinal" not in matcher.modality_concepts
    caption, _ = roco(testdata, "ROCO_87495")  # "... a cresyl violet-stained coronal section"
    concepts, modalities = Tagger(matcher).tag(caption, None)
    assert "microscopy/histology" in modalities
    assert "C0019637" not in {c["cui"] for c in concepts}  # Histology
