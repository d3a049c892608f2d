"""The segment stage end to end through a real Beam pipeline, and the contact sheet CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from pipeline.stages import STAGES
from schemas import FIGURE_SCHEMA, new_record
from transforms.segment.panel_synth import figure_record, synthetic_set

ROOT = Path(__file__).resolve().parents[1]


def test_segment_is_registered_after_extract() -> None:
    names = list(STAGES)
    assert names.index("segment") == names.index("extract") + 1
    spec = STAGES["segment"]
    assert (spec.input_kind, spec.output_kind) == ("figures", "panels")


def write_figures(folder: Path) -> list[dict]:
    figures = synthetic_set(seed=4, count=6)
    records = [
        figure_record(
            fig.image.convert("RGB"),
            f"PMC9/F{index}",
            "Views. (A) One. (B) Two. (C) Three." if index % 2 else None,
            source_uri=f"mem://{index}",
        )
        for index, fig in enumerate(figures)
    ]
    records.append(
        new_record(FIGURE_SCHEMA, key="PMC9/F9", caption="Text only.", image_status="missing")
    )
    bad = dict(records[0], key="PMC9/F8", image={"bytes": b"broken", "path": "x.jpeg"})
    records.append(bad)
    folder.mkdir(parents=True)
    pq.write_table(
        pa.Table.from_pylist(records, schema=FIGURE_SCHEMA), folder / "data-00000-of-00001.parquet"
    )
    return records


@pytest.mark.beam
def test_stage_writes_panels_and_a_balanced_ledger(tmp_path: Path) -> None:
    write_figures(tmp_path / "figures")
    cmd = [
        sys.executable, "-m", "pipeline", "segment",
        "--input", str(tmp_path / "figures"), "--output", str(tmp_path / "panels"),
        "--direct_num_workers=1",
    ]  # fmt: skip
    subprocess.run(cmd, check=True, cwd=ROOT, capture_output=True)
    stats = json.loads((tmp_path / "panels" / "stats.json").read_text())
    assert stats["ledger_ok"] and stats["in"] == 8
    assert stats["errors"] == {"image_unreadable": 1}
    table = pq.read_table(sorted((tmp_path / "panels").glob("data-*.parquet")))
    rows = table.to_pylist()
    assert stats["out"] == len(rows) > 8
    assert {r["parent_key"] for r in rows} == {f"PMC9/F{i}" for i in (0, 1, 2, 3, 4, 5, 9)}
    no_image = [r for r in rows if r["parent_key"] == "PMC9/F9"]
    assert no_image[0]["seg_method"] == "no_image"

    sheet = tmp_path / "sheet.png"
    subprocess.run(
        [sys.executable, "-m", "pipeline.contact_sheet", str(tmp_path / "panels"), str(sheet)],
        check=True,
        cwd=ROOT,
        capture_output=True,
    )
    img = Image.open(sheet)
    assert img.width > 400 and img.height > 200
