"""The balance stage on the real runner: ledger, entry-count table, and the same output
with 1 and 2 workers."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.cli import main
from schemas import TAGGED_SCHEMA, new_record
from transforms.shards import ParquetShardWriter

T = 20


def concept(cui: str, negated: bool = False) -> dict:
    return {
        "cui": cui,
        "name": f"name of {cui}",
        "start": 0,
        "end": 1,
        "semtypes": ["T061"],
        "semgroup": "PROC",
        "negated": negated,
    }


def write_tagged(folder: Path) -> list[dict]:
    """400 records: a head CUI in over 300 of them, 40 rarer ones, 20 with no entry."""
    generator = random.Random(1)
    records = []
    for i in range(400):
        if i < 20:
            concepts = [concept("C0000001", negated=True)] if i % 2 else []
        else:
            cuis = ["C0000100"] if i < 320 else []
            cuis += [f"C00002{generator.randrange(40):02d}"] if generator.random() < 0.3 else []
            concepts = [concept(c) for c in cuis] or [concept("C0000100")]
        records.append(
            new_record(
                TAGGED_SCHEMA,
                key=f"PMC{i}/F1",
                source_uri=f"/in/PMC{i}.xml",
                caption=f"Figure {i}.",
                concepts=concepts,
                modalities=[],
            )
        )
    folder.mkdir(parents=True)
    for index, part in enumerate((records[:200], records[200:])):
        with open(folder / f"data-0000{index}-of-00002.parquet", "wb") as handle:
            ParquetShardWriter(TAGGED_SCHEMA).write(
                pa.Table.from_pylist(part, schema=TAGGED_SCHEMA), handle
            )
    return records


def rows(folder: Path, prefix: str) -> list[dict]:
    paths = sorted(folder.glob(f"{prefix}-*.parquet"))
    return [r for p in paths for r in pq.read_table(p).to_pylist()]


def run_balance(tagged: Path, out: Path, workers: int) -> dict:
    argv = ["balance", "--input", str(tagged), "--output", str(out), "--t", str(T)]
    assert (
        main([*argv, "--quiet", "--records-per-shard", "100", f"--direct_num_workers={workers}"])
        == 0
    )
    return json.loads((out / "stats.json").read_text())


@pytest.mark.beam
def test_balance_stage_caps_the_head_keeps_the_tail_and_is_worker_independent(
    tmp_path: Path,
) -> None:
    records = write_tagged(tmp_path / "tagged")
    stats = run_balance(tmp_path / "tagged", tmp_path / "one", workers=1)
    assert stats["ledger_ok"] and stats["in"] == stats["found"] == 400
    assert stats["found"] == stats["out"] + sum(stats["dropped"].values())
    assert stats["dropped"]["no_entries"] == 20 and stats["dropped"]["not_sampled"] > 200
    kept = rows(tmp_path / "one", "data")
    assert {r["key"] for r in kept} <= {r["key"] for r in records}
    # the table's after column is what the written records hold
    table = {r["entry"]: r for r in rows(tmp_path / "one", "entry_counts")}
    written = Counter(e for r in kept for e in r["entries"])
    assert {e: r["count_after"] for e, r in table.items() if r["count_after"]} == dict(written)
    head = table["C0000100"]
    holding = sum(any(c["cui"] == "C0000100" for c in r["concepts"]) for r in records)
    assert head["count_before"] == holding > 300 and head["name"] == "name of C0000100"
    assert head["count_after"] < 120  # ~20 drawn plus the records a tail entry kept
    tail = [r for r in table.values() if r["count_before"] <= T]
    assert tail and all(r["count_after"] == r["count_before"] for r in tail)
    # the head/tail statistics, the t used and the plot beside stats.json
    assert stats["t"] == T and stats["head_entries"] == sum(
        r["count_before"] > T for r in table.values()
    )
    assert stats["head_pair_share_after"] < stats["head_pair_share_before"]
    assert stats["top_entries"][0]["entry"] == "C0000100"
    assert (tmp_path / "one" / "entry_counts.png").read_bytes().startswith(b"\x89PNG")
    # the same bytes with two workers
    run_balance(tmp_path / "tagged", tmp_path / "two", workers=2)
    for pattern in ("*.parquet", "*.png"):
        one = {p.name: p.read_bytes() for p in (tmp_path / "one").glob(pattern)}
        two = {p.name: p.read_bytes() for p in (tmp_path / "two").glob(pattern)}
        assert one and one == two, pattern


def test_bad_balance_options_fail_before_any_work(tmp_path: Path) -> None:
    from pipeline.cli import build_parser
    from pipeline.stages.balance import make_config

    def config(*options: str):
        argv = ["balance", "--input", str(tmp_path), "--output", str(tmp_path / "out")]
        return make_config(build_parser().parse_known_args([*argv, *options])[0])

    assert config("--t", "7", "--balance-modalities").balance.t == 7
    assert config("--target-size", "100").balance.target_size == 100
    broken = tmp_path / "metadata.json"
    broken.write_text('["ct", 3]', encoding="utf-8")
    for options, message in (
        (("--t", "5", "--target-size", "10"), "not both"),
        (("--t", "0"), "must be positive"),
        (("--balance-no-concepts",), "needs modalities or an entry list"),
        (("--entry-list", str(broken)), "item 1 is int"),
        (("--entry-list", str(tmp_path / "none.txt")), "none.txt"),
    ):
        with pytest.raises(SystemExit, match=message):
            config(*options)
