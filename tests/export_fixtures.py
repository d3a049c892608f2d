"""Deduped records made on the fly for the export tests, and a plain-Python export run.

`export_folder` does what the Beam stage does, in one process: the pool pass, the unit per
record, then per split the shards (crc32 of the key, as pipeline/sinks.py), each in its
seeded order, through the writers. The Beam stage must produce the same files.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from PIL import Image

from pipeline.sinks import shard_of
from schemas.records import DEDUPED_SCHEMA, EXPORT_SCHEMA, new_record
from transforms.export.order import table_in_shard_order
from transforms.export.parquet import ByteBoundedParquetWriter, metadata_writer
from transforms.export.paths import metadata_path, parquet_path, sizes_path, tar_name, tar_path
from transforms.export.plan import ExportConfig, ExportPlan, ExportPlanCombine
from transforms.export.summary import sizes_json
from transforms.export.unit import ExportRecord
from transforms.export.wds import WdsShardWriter
from transforms.ledger import Drop, Ledger

PREAMBLE = "Figure 1. Imaging of the liver in patients with cirrhosis."
SUBCAPTIONS = [
    "Axial CT shows a hypodense lesion in segment VI.",
    "Ultrasound of the same lesion, which is hyperechoic.",
    "Histology confirms hepatocellular carcinoma (H&E, x200).",
]


def image_bytes(width: int, height: int, fmt: str, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 255, size=(height, width, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="JPEG" if fmt == "jpeg" else "PNG")
    return out.getvalue()


def deduped_record(key: str, **fields: Any) -> dict[str, Any]:
    article, figure = key.split("/")[0], "/".join(key.split("/")[:2])
    fmt = fields.pop("image_format", "jpeg")
    width, height = fields.pop("size", (96, 80))
    seed = sum(key.encode())
    values: dict[str, Any] = {
        "pmcid": article if article.startswith("PMC") else None,
        "license": "CC BY 4.0",
        "license_url": "https://creativecommons.org/licenses/by/4.0/",
        "authors": ["Ada Lovelace", "Alan Turing"],
        "citation": "Lovelace A, Turing A. Liver imaging. J Test. 2024.",
        "language": "en",
        "caption": f"{PREAMBLE} (A) {SUBCAPTIONS[0]} (B) {SUBCAPTIONS[1]}",
        "caption_preamble": PREAMBLE,
        "subcaption": SUBCAPTIONS[seed % 3],
        "is_compound": True,
        "parent_key": figure,
        "panel_label": "A",
        "bbox": [0, 0, width, height],
        "image": {"bytes": image_bytes(width, height, fmt, seed), "path": f"{seed}.{fmt}"},
        "image_format": fmt,
        "width": width,
        "height": height,
        "image_status": "ok",
        "source_uri": f"mem://{article}.xml",
        "concepts": [
            {
                "cui": "C0023884",
                "name": "Liver",
                "start": 13,
                "end": 18,
                "semtypes": ["T023"],
                "semgroup": "ANAT",
                "negated": False,
            },
        ],
        "modalities": ["radiology/ct"],
        "entries": ["C0023884"],
        "keep_prob": 0.5,
    }
    values.update(fields)
    return new_record(DEDUPED_SCHEMA, key=key, **values)


def corpus(articles: int = 14) -> list[dict[str, Any]]:
    """Articles with two figures of 1-3 panels, keys with dots and slashes among them."""
    records = []
    for a in range(articles):
        article = f"PMC{1000 + a}" if a % 5 else f"doi-10.1000-j.x.{a}"
        if a == 3:  # a key past the 100 characters of a plain tar header
            article = "doi-10.1000-" + "very.long.suffix-" * 8
        for f in (1, 2):
            panels = 1 + (a + f) % 3
            for p in range(panels):
                fig = f"F{f}" if a % 4 else f"F{f}.{a}"  # a dotted figure id
                records.append(
                    deduped_record(
                        f"{article}/{fig}/p{p}",
                        image_format="png" if p == 1 else "jpeg",
                        is_compound=panels > 1,
                        panel_index=p,
                    )
                )
    return records


def plan_of(records: list[dict[str, Any]], config: ExportConfig) -> ExportPlan:
    """The pool pass, merged from two accumulators as two workers would make it."""
    combine = ExportPlanCombine(config)
    accs = []
    for part in (records[::2], records[1::2]):
        acc = combine.create_accumulator()
        for record in part:
            acc = combine.add_input(acc, record)
        accs.append(acc)
    return combine.extract_output(combine.merge_accumulators(accs))


def _write(out: Path, relative: str, writer: Any, table: pa.Table) -> None:
    path = out / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        writer.write(table, handle)


def export_folder(
    records: list[dict[str, Any]],
    config: ExportConfig,
    out: Path,
    unit: ExportRecord,
    row_group_bytes: int = 60_000,
) -> tuple[ExportPlan, Ledger, list[dict[str, Any]], list[Drop]]:
    """Pool, units, shards and writers in one process; (plan, ledger, kept, drops)."""
    plan = plan_of(records, config)
    ledger, kept, drops = Ledger(), [], []
    for record in records:
        result = unit(record, plan)
        ledger = ledger.merge(Ledger.of(result))
        kept += result.records
        drops += result.drops
    rps = config.shard_samples
    parquet, tars = ByteBoundedParquetWriter(row_group_bytes=row_group_bytes), WdsShardWriter()
    for split in ("train", "validation"):
        rows = [r for r in kept if r["split"] == split]
        total = max(1, math.ceil(len(rows) / rps))
        sizes = {}
        for index in range(total):
            members = [r for r in rows if shard_of(r["key"], total) == index]
            table = pa.Table.from_pylist(members, schema=EXPORT_SCHEMA)
            table = table_in_shard_order(table, config.order_seed)
            _write(out, parquet_path(split, index, total), parquet, table)
            _write(out, tar_path(split, index, total), tars, table)
            sizes[tar_name(index)] = len(members)
        (out / sizes_path(split)).write_text(sizes_json(sizes))
    total = max(1, math.ceil(len(kept) / rps))
    for index in range(total):
        members = [r for r in kept if shard_of(r["key"], total) == index]
        table = pa.Table.from_pylist(members, schema=EXPORT_SCHEMA)
        table = table_in_shard_order(table, config.order_seed)
        _write(out, metadata_path("", index, total), metadata_writer(), table)
    return plan, ledger, kept, drops
