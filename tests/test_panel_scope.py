"""A compound panel's concepts and modalities are its own: the preamble and its sub-caption.

Panels come from the real segment unit on a synthetic three-panel strip, so the spans the
tagger scopes by are the ones the segment stage writes.
"""

from __future__ import annotations

import pytest

from metadata.lexicon import load_default
from transforms.segment.panel_synth import figure_record, synthetic_set
from transforms.segment.segmenter import Segmenter, SegmentStageConfig
from transforms.tag.concepts import ConceptMatcher
from transforms.tag.tagger import Tagger

# "pneumonia" is in the preamble; "CT", "Fundus" and "biopsy" each in one sub-caption
CAPTION = (
    "Figure 3. Imaging of a patient with pneumonia. (A) Axial CT of the chest. "
    "(B) Fundus photograph of the left eye. (C) Lung biopsy stained with H&E. "
    "Scale bars, 50 µm."
)
OWN_WORDS = [
    {"pneumonia", "CT", "chest"},
    {"pneumonia", "Fundus", "eye"},
    {"pneumonia", "Lung", "biopsy"},
]


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return Tagger(ConceptMatcher(load_default()))


@pytest.fixture(scope="module")
def strip():
    figures = synthetic_set(seed=2, count=12)
    return next(f for f in figures if f.layout == "strip" and len(f.boxes) == 3).image


def segment(strip, caption: str | None, keep_parent: bool = False) -> list[dict]:
    record = figure_record(strip.convert("RGB"), "PMC1/F3", caption, "png", pmcid="PMC1")
    return Segmenter(SegmentStageConfig(keep_parent=keep_parent))(record).records


def tag(tagger: Tagger, records: list[dict]) -> list[dict]:
    return [tagger(record).records[0] for record in records]


def words(record: dict) -> set[str]:
    """The caption text under each concept's offsets."""
    return {record["caption"][c["start"] : c["end"]] for c in record["concepts"]}


def spans(record: dict) -> list[tuple[int, int]]:
    return [(s["start"], s["end"]) for s in record["subcaption_spans"]]


def test_each_panel_carries_the_spans_of_its_own_subcaption(strip) -> None:
    panels = segment(strip, CAPTION)
    assert [p["is_compound"] for p in panels] == [True] * 3
    assert [p["subcaption"] for p in panels] == [
        "Axial CT of the chest",
        "Fundus photograph of the left eye",
        "Lung biopsy stained with H&E",
    ]
    for panel in panels:
        assert [CAPTION[s:e] for s, e in spans(panel)] == [panel["subcaption"]]


def test_a_concept_of_one_subcaption_is_on_that_panel_only(strip, tagger: Tagger) -> None:
    tagged = tag(tagger, segment(strip, CAPTION))
    assert [words(t) for t in tagged] == OWN_WORDS
    # the preamble's concept is on every panel, at its one place in the caption
    starts = {c["start"] for t in tagged for c in t["concepts"] if c["name"] == "Pneumonia"}
    assert starts == {CAPTION.index("pneumonia")}
    assert [t["modalities"] for t in tagged][:2] == [["radiology/ct"], ["ophthalmology/fundus"]]


def test_offsets_index_the_caption_as_written(strip, tagger: Tagger) -> None:
    messy = CAPTION.replace(". (", ".\n  (").replace("Fundus photograph", "Fundus \t photograph")
    panels = segment(strip, messy)
    second = panels[1]
    assert [messy[s:e] for s, e in spans(second)] == ["Fundus \t photograph of the left eye"]
    assert second["subcaption"] == "Fundus photograph of the left eye"
    tagged = tag(tagger, panels)
    # `words` reads each concept's offsets in the caption as written
    assert [words(t) for t in tagged] == OWN_WORDS
    (fundus,) = [c for c in tagged[1]["concepts"] if c["name"] == "Fundus"]
    assert messy.index("Fundus") == fundus["start"] != CAPTION.index("Fundus")


def test_grouped_subcaptions_give_a_panel_several_pieces(strip, tagger: Tagger) -> None:
    caption = (
        "Figure 4. Findings in a patient with diabetes. (A and B) Brain MRI, axial. "
        "(B) Fundus photograph. (C) Chest radiograph."
    )
    panels = segment(strip, caption)
    assert [[caption[s:e] for s, e in spans(p)] for p in panels] == [
        ["Brain MRI, axial"],
        ["Brain MRI, axial", "Fundus photograph"],
        ["Chest radiograph"],
    ]
    tagged = tag(tagger, panels)
    assert [words(t) for t in tagged] == [
        {"diabetes", "Brain", "MRI"},
        {"diabetes", "Brain", "MRI", "Fundus"},
        {"diabetes", "Chest radiograph", "Chest", "radiograph"},
    ]
    assert [t["modalities"] for t in tagged] == [
        ["radiology/mri"],
        ["ophthalmology/fundus", "radiology/mri"],
        ["radiology/xray"],
    ]


def test_modalities_fall_back_to_the_preamble_never_to_a_sibling(strip, tagger: Tagger) -> None:
    caption = "Chest CT of a patient. (A) The mass. (B) Fundus photograph. (C) The lesion."
    assert [t["modalities"] for t in tag(tagger, segment(strip, caption))] == [
        ["radiology/ct"],
        ["ophthalmology/fundus"],
        ["radiology/ct"],
    ]
    caption = "Follow-up. (A) Fundus photograph. (B) Axial CT. (C) The lesion (arrow)."
    assert tag(tagger, segment(strip, caption))[2]["modalities"] == []


def test_a_panel_without_its_own_subcaption_keeps_every_concept(strip, tagger: Tagger) -> None:
    everything = set().union(*OWN_WORDS)
    # four sub-captions for three panels: fewer panels than named are kept, unmatched (more
    # would be grouped into as many as named), and each panel has the caption
    four = (
        "Figure 3. Imaging of a patient with pneumonia. (A) Axial CT of the chest. (B) Lung. "
        "(C) Chest. (D) Eye."
    )
    unaligned = segment(strip, four)
    assert len(unaligned) == 3
    assert {p["align_status"] for p in unaligned} == {"unaligned"}
    assert all(spans(p) == [(0, len(four))] for p in unaligned)
    assert [words(t) for t in tag(tagger, unaligned)] == [
        {"pneumonia", "CT", "chest", "Lung", "Chest", "Eye"}
    ] * 3
    # a caption that names no panels
    plain = "Imaging of a patient with pneumonia: axial CT of the chest, fundus of the eye."
    unmarked = tag(tagger, segment(strip, plain))
    assert [t["align_status"] for t in unmarked] == ["unmarked"] * 3
    assert all(words(t) == {"pneumonia", "CT", "chest", "fundus", "eye"} for t in unmarked)
    # the figure left whole beside its panels
    parent, *panels = tag(tagger, segment(strip, CAPTION, keep_parent=True))
    assert parent["seg_method"] == "parent" and words(parent) == everything
    assert [words(t) for t in panels] == OWN_WORDS
