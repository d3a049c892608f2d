"""The dedup stage on the real Beam runner, and its option checks."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from dedup_variants import VARIANTS, encode, record, skimage_images

from pipeline.cli import build_parser
from pipeline.runner import run
from pipeline.stages.dedup import DEDUP
from schemas.records import BALANCED_SCHEMA
from transforms.shards import ParquetShardWriter

BEAM_ARGS = ["--direct_num_workers=2"]


def write_balanced(folder, records) -> None:
    folder.mkdir(parents=True)
    table = pa.Table.from_pylist(records, schema=BALANCED_SCHEMA)
    with open(folder / "data-00000-of-00001.parquet", "wb") as handle:
        ParquetShardWriter(BALANCED_SCHEMA).write(table, handle)


def rows(folder, prefix: str) -> list[dict]:
    return [
        r for p in sorted(folder.glob(f"{prefix}-*.parquet")) for r in pq.read_table(p).to_pylist()
    ]


def parse(*argv: str):
    return build_parser().parse_args(["dedup", *argv])


@pytest.mark.beam
def test_dedup_stage_runs_on_the_real_runner(tmp_path) -> None:
    photos = skimage_images()
    records = [
        record("PMC1/F1", encode(photos["coffee"]), "A cup of coffee."),
        record("PMC1/F2", VARIANTS["jpeg70"](photos["coffee"]), "Coffee, again."),
        record("PMC2/F1", encode(photos["coins"]), "Representative images are shown."),
        record("PMC3/F1", encode(photos["moon"]), "Representative images are shown."),
        record("PMC4/F1", None, "Representative images are shown"),
        record("PMC5/F1", encode(photos["camera"]), "A cameraman."),
    ]
    write_balanced(tmp_path / "balanced", records)
    out = tmp_path / "deduped"
    args = parse("--input", str(tmp_path / "balanced"), "--output", str(out), "--embed", "none")
    args.force, args.quiet = True, True
    stats = run([DEDUP], args, BEAM_ARGS, chain=False)["dedup"]
    assert stats["ledger_ok"] and stats["in"] == 6
    assert stats["out"] == 4 and stats["dropped"] == {"duplicate": 2}
    kept = {r["key"]: r for r in rows(out, "data")}
    # the stock caption on two different images stays; the copy and the caption-only go
    assert set(kept) == {"PMC1/F1", "PMC2/F1", "PMC3/F1", "PMC5/F1"}
    assert all(len(r["image_phash"]) == 16 and r["caption_hash"] for r in kept.values())
    duplicates = sorted(rows(out, "duplicates"), key=lambda r: r["key"])
    assert [(d["key"], d["dup_of"], d["kind"]) for d in duplicates] == [
        ("PMC1/F2", "PMC1/F1", "phash"),
        ("PMC4/F1", "PMC3/F1", "caption"),  # the moon has more pixels than the coins
    ]


def test_bad_options_fail_before_the_pipeline_starts(tmp_path) -> None:
    with pytest.raises(SystemExit, match="does not exist"):
        DEDUP.make_config(parse("--input", "x", "--output", "y", "--exclude", str(tmp_path / "no")))
    with pytest.raises(SystemExit, match="not a local sentence-transformers folder"):
        DEDUP.make_config(parse("--input", "x", "--output", "y", "--embed-model", str(tmp_path)))
    config = DEDUP.make_config(
        parse("--input", "x", "--output", "y", "--embed", "none", "--dedup-accelerator", "type:t4")
    )
    assert DEDUP.resource_hints(config) == {"accelerator": "type:t4"}
