"""The tag stage: one panel record -> one tagged record, and a real Beam run."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from metadata.lexicon import load_default
from pipeline.cli import main
from schemas import PANEL_SCHEMA, TAGGED_SCHEMA, new_record, to_table
from transforms.tag.concepts import ConceptMatcher
from transforms.tag.tagger import Tagger

CAPTION = (
    "Figure 2. (A) Axial contrast-enhanced CT shows a hypodense liver lesion. "
    "(B) H&E staining of the biopsy shows no evidence of malignancy."
)


def panel(key: str, caption: str | None, subcaption: str | None, **extra) -> dict:
    return new_record(
        PANEL_SCHEMA,
        key=key,
        parent_key=key.rsplit("/", 1)[0],
        caption=caption,
        subcaption=subcaption,
        source_uri=f"file:///{key}.xml",
        **extra,
    )


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return Tagger(ConceptMatcher(load_default()))


def test_one_panel_in_one_tagged_record_out(tagger: Tagger) -> None:
    record = panel("PMC1/F2/p1", CAPTION, "H&E staining of the biopsy", panel_index=1)
    result = tagger(record)
    assert result.error is None and result.drops == []
    (tagged,) = result.records
    assert list(tagged) == TAGGED_SCHEMA.names
    assert tagged["key"] == "PMC1/F2/p1" and tagged["panel_index"] == 1
    # the sub-caption decides this panel's modality
    assert tagged["modalities"] == ["microscopy/histology"]
    # concepts index into the full caption
    for concept in tagged["concepts"]:
        assert CAPTION[concept["start"] : concept["end"]]
    names = {CAPTION[c["start"] : c["end"]]: c for c in tagged["concepts"]}
    assert names["CT"]["cui"] == "C0040405"
    assert names["liver"]["semgroup"] == "ANAT"
    assert names["malignancy"]["negated"] is True
    to_table(TAGGED_SCHEMA, [tagged])  # the record fits the Parquet schema


def test_subcaption_without_modality_falls_back_to_caption(tagger: Tagger) -> None:
    (tagged,) = tagger(panel("PMC1/F2/p0", CAPTION, "(A) the lesion (arrow)")).records
    assert tagged["modalities"] == ["microscopy/histology", "radiology/ct"]


def test_caption_only_record_is_tagged_by_text(tagger: Tagger) -> None:
    record = panel(
        "PMC2/F1/p0",
        "Chest radiograph showing a right pleural effusion.",
        None,
        image=None,
        image_status="missing",
        seg_method="no_image",
    )
    (tagged,) = tagger(record).records
    assert tagged["image"] is None and tagged["seg_method"] == "no_image"
    assert tagged["modalities"] == ["radiology/xray"]
    # a bare "right" is no concept (ROCO gave it three guessed senses); the radiograph and
    # the effusion are, each followed by the concepts inside it
    found = [(c["cui"], c["start"], c["end"]) for c in tagged["concepts"]]
    assert found == [
        ("C0039985", 0, 16),  # Plain chest X-ray
        ("C0817096", 0, 5),  # Chest
        ("C0043299", 6, 16),  # radiograph
        ("C0032227", 33, 49),  # Pleural effusion
        ("C0032225", 33, 40),  # Pleura
        ("C0013687", 41, 49),  # Effusion
    ]
    assert tagged["concepts_empty_reason"] is None


def test_no_caption_gives_empty_tags(tagger: Tagger) -> None:
    (tagged,) = tagger(panel("PMC3/F1/p0", None, None)).records
    assert tagged["concepts"] == [] and tagged["modalities"] == []
    assert tagged["concepts_empty_reason"] == "no_text"


def test_a_record_with_unknown_fields_is_an_error(tagger: Tagger) -> None:
    from transforms.ledger import run_unit

    record = {**panel("PMC4/F1/p0", "CT", None), "surprise": 1}
    result = run_unit(tagger, record, "PMC4/F1/p0", "")
    assert result.error is not None and result.error.error_type == "KeyError"


@pytest.mark.beam
def test_tag_stage_end_to_end(tmp_path: Path) -> None:
    panels = tmp_path / "panels"
    panels.mkdir()
    records = [
        panel("PMC1/F1/p0", CAPTION, "(A) Axial contrast-enhanced CT", panel_index=0),
        panel("PMC1/F1/p1", CAPTION, "(B) H&E staining", panel_index=1),
        panel("PMC2/F1/p0", "Fundus photograph of the right eye.", None, seg_method="no_image"),
    ]
    pq.write_table(to_table(PANEL_SCHEMA, records), panels / "data-00000-of-00001.parquet")
    out = tmp_path / "tagged"
    assert main(["tag", "--input", str(panels), "--output", str(out), "--quiet"]) == 0
    stats = json.loads((out / "stats.json").read_text())
    assert stats["ledger_ok"] and stats["in"] == 3 and stats["out"] == 3
    assert stats["errors"] == {} and stats["dropped"] == {}
    rows = []
    for path in sorted(out.glob("data-*.parquet")):
        rows.extend(pq.read_table(path).to_pylist())
    by_key = {r["key"]: r for r in rows}
    assert by_key["PMC1/F1/p0"]["modalities"] == ["radiology/ct"]
    assert by_key["PMC1/F1/p1"]["modalities"] == ["microscopy/histology"]
    assert by_key["PMC2/F1/p0"]["modalities"] == ["ophthalmology/fundus"]
    assert "C0015392" in {c["cui"] for c in by_key["PMC2/F1/p0"]["concepts"]}
