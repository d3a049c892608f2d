"""A small run folder with every stage's layout, made with the real schemas, for the explorer.

It holds what a run can hold: a compound figure and its panels, concepts (one negated),
modalities, a caption with markup in it, a drop, an error, a duplicate, entry counts and
an export split. Each image is a real PNG so thumbnails decode.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image, ImageDraw

from schemas import (
    BALANCED_SCHEMA,
    DEDUPED_SCHEMA,
    DROP_SCHEMA,
    DUPLICATE_SCHEMA,
    ENTRY_COUNT_SCHEMA,
    ERROR_SCHEMA,
    EXPORT_SCHEMA,
    FIGURE_SCHEMA,
    PANEL_SCHEMA,
    TAGGED_SCHEMA,
)
from schemas.records import new_record

HOSTILE = 'CT <script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'


def png(width: int, height: int, colour: str) -> bytes:
    image = Image.new("RGB", (width, height), "white")
    ImageDraw.Draw(image).rectangle([4, 4, width - 5, height - 5], outline=colour, width=6)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def concept(caption: str, cui: str, word: str, semgroup: str, negated: bool = False) -> dict:
    start = caption.index(word)
    return dict(cui=cui, name=word.title(), start=start, end=start + len(word), semtypes=[],
                semgroup=semgroup, negated=negated)  # fmt: skip


CAPTION_1 = "Chest imaging. (A) CT of the lung with a nodule. (B) No effusion on X-ray."
PANELS = [  # key, figure, index, label, bbox, subcaption span, concepts, modalities, licence
    ("PMC1/F1/p0", "PMC1/F1", 0, "A", [0, 0, 100, 120], (15, 48),
     [concept(CAPTION_1, "C0024109", "lung", "ANAT"),
      concept(CAPTION_1, "C0028259", "nodule", "DISO")],
     ["radiology/ct"], "CC BY 4.0"),
    ("PMC1/F1/p1", "PMC1/F1", 1, "B", [100, 0, 200, 120], (49, 74),
     [concept(CAPTION_1, "C0013687", "effusion", "DISO", negated=True)],
     ["radiology/xray"], "CC BY 4.0"),
    ("PMC2/F1/p0", "PMC2/F1", 0, None, [0, 0, 90, 90], None,
     [concept(HOSTILE, "C0040405", "CT", "PROC")], ["microscopy/light"], "CC0 1.0"),
]  # fmt: skip
FIGURES = {"PMC1/F1": (CAPTION_1, 200, 120, "CC BY 4.0"), "PMC2/F1": (HOSTILE, 90, 90, "CC0 1.0")}


def figure_records() -> list[dict]:
    return [
        new_record(FIGURE_SCHEMA, key=key, pmcid=key.split("/")[0] + "000", caption=caption,
                   license=licence, width=w, height=h, image_status="ok",
                   image={"bytes": png(w, h, "navy"), "path": None}, source_uri=f"{key}.xml")
        for key, (caption, w, h, licence) in FIGURES.items()
    ]  # fmt: skip


def panel_records(schema: pa.Schema) -> list[dict]:
    records = []
    for key, parent, index, label, bbox, span, concepts, modalities, licence in PANELS:
        caption = FIGURES[parent][0]
        values = dict(
            key=key, parent_key=parent, pmcid=key.split("/")[0] + "000", caption=caption,
            license=licence, panel_index=index, panel_label=label, bbox=bbox,
            is_compound=label is not None, seg_method="xycut", seg_score=0.75,
            subcaption=caption[span[0]:span[1]] if span else None,
            subcaption_spans=[{"start": span[0], "end": span[1]}] if span else [],
            image={"bytes": png(bbox[2] - bbox[0], bbox[3] - bbox[1], "red"), "path": None},
        )  # fmt: skip
        if "concepts" in schema.names:
            values |= dict(concepts=concepts, modalities=modalities)
        if "entries" in schema.names:
            values |= dict(entries=[c["cui"] for c in concepts], keep_prob=1.0)
        records.append(new_record(schema, **values))
    return records


def write(folder: Path, name: str, schema: pa.Schema, rows: list[dict]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), folder / name)


def drop(stage: str, key: str, reason: str, detail: str = "") -> dict:
    return dict(stage=stage, key=key, source_uri=f"{key}.xml", reason=reason, detail=detail)


def make_run(root: Path) -> Path:
    """Write the run under `root` and return it."""
    write(root / "figures", "data-00000-of-00001.parquet", FIGURE_SCHEMA, figure_records())
    unreadable = drop("extract", "PMC3/F1", "image_unreadable", "cannot identify image file")
    write(root / "figures", "dropped-00000-of-00001.parquet", DROP_SCHEMA, [unreadable])
    panels = panel_records(PANEL_SCHEMA)
    write(root / "panels", "data-00000-of-00001.parquet", PANEL_SCHEMA, panels)
    tagged = panel_records(TAGGED_SCHEMA)
    write(root / "tagged", "data-00000-of-00001.parquet", TAGGED_SCHEMA, tagged)
    write(root / "tagged", "errors-00000-of-00001.parquet", ERROR_SCHEMA,
          [dict(stage="tag", key="PMC9/F1/p0", source_uri="PMC9.xml",
                error_type="ValueError", message="<b>bad</b> offsets")])  # fmt: skip
    balanced = panel_records(BALANCED_SCHEMA)
    write(root / "balanced", "data-00000-of-00001.parquet", BALANCED_SCHEMA, balanced[:2])
    write(root / "balanced", "dropped-00000-of-00001.parquet", DROP_SCHEMA,
          [drop("balance", "PMC2/F1/p0", "not_sampled", "keep_prob 0.2")])  # fmt: skip
    write(root / "balanced", "entry_counts-00000-of-00001.parquet", ENTRY_COUNT_SCHEMA,
          [{"entry": e, "name": e, "count_before": 1, "count_after": int(e != "C0040405")}
           for e in ("C0024109", "C0028259", "C0013687", "C0040405")])  # fmt: skip
    deduped = [r | {"caption_hash": "h"} for r in panel_records(DEDUPED_SCHEMA)[:1]]
    write(root / "deduped", "data-00000-of-00001.parquet", DEDUPED_SCHEMA, deduped)
    write(root / "deduped", "dropped-00000-of-00001.parquet", DROP_SCHEMA,
          [drop("dedup", "PMC1/F1/p1", "duplicate", "phash of PMC1/F1/p0")])  # fmt: skip
    write(root / "deduped", "duplicates-00000-of-00001.parquet", DUPLICATE_SCHEMA,
          [dict(key="PMC1/F1/p1", dup_of="PMC1/F1/p0", kind="phash", score=3.0)])  # fmt: skip
    exported = [r | {"text": r["subcaption"], "split": "train"} for r in deduped]
    exported = [new_record(EXPORT_SCHEMA, **r) for r in exported]
    write(root / "export" / "parquet", "train-00000-of-00001.parquet", EXPORT_SCHEMA, exported)
    stats = {"figures": (2, 2), "panels": (2, 3), "tagged": (4, 3), "balanced": (3, 2),
             "deduped": (2, 1), "export": (1, 1)}  # fmt: skip
    for stage, (n_in, n_out) in stats.items():
        (root / stage / "stats.json").write_text(
            json.dumps({"stage": stage, "in": n_in, "out": n_out, "ledger_ok": True})
        )
    return root
