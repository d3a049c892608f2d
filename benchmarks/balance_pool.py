"""The two balance passes over Parquet: a synthetic tagged pool with Zipf-distributed
concepts, a direct single-process pure-Python baseline, and the same passes through
transforms/balance in one process. Used by benchmarks/balance.py.

The baseline is written from the algorithm, not from our modules: read `concepts`,
count distinct non-negated CUIs per record, then read every record again, draw each
(entry, record) pair with a blake2b hash and write the kept ones with `entries` and
`keep_prob`. Both sides read the same Parquet and write the same schema, so the ratio is
what our code costs over the plainest loop. The Beam stage runs through the CLI in its
own processes (wall time), on the same shards, with 1 and 2 workers; its start-up is
measured on a 1,000-record pool per worker count and taken off before rates per core
are compared.
"""

from __future__ import annotations

import hashlib
import json
import random
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from schemas import BALANCED_SCHEMA, TAGGED_SCHEMA
from transforms.balance.batch import TableEntryCounts, add_entries, decide_batch
from transforms.balance.entries import EntryExtractor, EntryOptions
from transforms.balance.keep import BalanceOptions
from transforms.balance.pool import EntryCountCombine

ROOT = Path(__file__).resolve().parents[1]
SHARDS = 8


def write_zipf_pool(folder: Path, records: int, concepts: int = 100_000, seed: int = 3) -> None:
    """`records` tagged records in `SHARDS` files, 1-8 concepts each drawn by rank law 1/r
    (each its own span), 1 in 10 negated."""
    generator = random.Random(seed)
    cumulative, total = [], 0.0
    for rank in range(1, concepts + 1):
        total += 1.0 / rank
        cumulative.append(total)
    ranks = range(concepts)
    folder.mkdir(parents=True, exist_ok=True)
    per_shard = -(-records // SHARDS)
    for shard in range(SHARDS):
        path = folder / f"data-{shard:05d}-of-{SHARDS:05d}.parquet"
        with pq.ParquetWriter(path, TAGGED_SCHEMA, compression="zstd") as writer:
            rows = []
            for index in range(shard * per_shard, min((shard + 1) * per_shard, records)):
                picked = generator.choices(ranks, cum_weights=cumulative, k=generator.randint(1, 8))
                rows.append(
                    {
                        "key": f"PMC{index // 4}/F{index % 4}",
                        "source_uri": f"s3://pmc/PMC{index // 4}.xml",
                        "caption": f"synthetic caption {index}",
                        "concepts": [
                            {
                                "cui": f"C{r:07d}",
                                "name": f"concept {r}",
                                "start": 2 * j,
                                "end": 2 * j + 1,
                                "semtypes": ["T061"],
                                "semgroup": "PROC",
                                "negated": generator.random() < 0.1,
                            }
                            for j, r in enumerate(picked)
                        ],
                    }
                )
            writer.write_table(pa.Table.from_pylist(rows, schema=TAGGED_SCHEMA))


def _batches(folder: Path, columns: list[str] | None = None):
    for path in sorted(folder.glob("data-*.parquet")):
        yield from pq.ParquetFile(path).iter_batches(batch_size=10_000, columns=columns)


def baseline(source: Path, target: Path, t: float, seed: int) -> int:
    """The plainest single-process implementation of both passes; returns records kept."""
    counts: Counter = Counter()
    for batch in _batches(source, ["concepts"]):
        for concepts in batch.column(0).to_pylist():
            counts.update({c["cui"] for c in concepts or () if not c["negated"]})
    kept = 0
    with pq.ParquetWriter(target, BALANCED_SCHEMA, compression="zstd") as writer:
        for batch in _batches(source):
            out = []
            for row in batch.to_pylist():
                cuis = list(
                    dict.fromkeys(c["cui"] for c in row["concepts"] or () if not c["negated"])
                )
                miss, drawn = 1.0, False
                for cui in cuis:
                    p = min(1.0, t / counts[cui])
                    miss *= 1.0 - p
                    digest = hashlib.blake2b(
                        f"{seed}\x1f{cui}\x1f{row['key']}".encode(), digest_size=8
                    ).digest()
                    drawn = drawn or int.from_bytes(digest, "big") / 2**64 < p
                if drawn:
                    out.append({**row, "entries": cuis, "keep_prob": 1.0 - miss})
            kept += len(out)
            writer.write_table(pa.Table.from_pylist(out, schema=BALANCED_SCHEMA))
    return kept


def ours(source: Path, target: Path, t: float, seed: int) -> int:
    """Both passes through transforms/balance's batched path (the stage's), one process."""
    extractor, options = EntryExtractor(EntryOptions()), BalanceOptions(t=t, seed=seed)
    counter = TableEntryCounts(EntryCountCombine())
    acc = counter.create_accumulator()
    for batch in _batches(source, ["key", "concepts"]):
        counter.add_input(acc, add_entries(batch, extractor))
    pool = counter.extract_output(acc)
    kept = 0
    with pq.ParquetWriter(target, BALANCED_SCHEMA, compression="zstd") as writer:
        for batch in _batches(source):
            out = decide_batch(add_entries(batch, extractor), pool, t, options).records
            kept += len(out)
            table = pa.Table.from_batches([out]) if isinstance(out, pa.RecordBatch) else out
            writer.write_table(table.select(BALANCED_SCHEMA.names).cast(BALANCED_SCHEMA))
    return kept


def beam_stage(source: Path, target: Path, t: float, seed: int, workers: int) -> tuple[float, int]:
    """(wall seconds, records kept) of the Beam balance stage run as the CLI runs it."""
    command = [sys.executable, "-m", "pipeline", "balance", "--input", str(source)]
    command += ["--output", str(target), "--t", str(t), "--balance-seed", str(seed), "--quiet"]
    command += ["--force", "--records-per-shard", "100000", f"--direct_num_workers={workers}"]
    start = time.perf_counter()
    subprocess.run(command, check=True, cwd=ROOT, capture_output=True)
    seconds = time.perf_counter() - start
    return seconds, json.loads((target / "stats.json").read_text())["out"]


def best(run, *args) -> tuple[float, float, int]:
    """(CPU seconds, wall seconds, result) of the faster of two runs: the machine is shared."""
    results = []
    for _ in range(2):
        cpu, wall = time.process_time(), time.perf_counter()
        value = run(*args)
        results.append((time.process_time() - cpu, time.perf_counter() - wall, value))
    return min(results, key=lambda r: r[1])


def compare(folder: Path, records: int, t: float = 50.0, seed: int = 0) -> dict:
    """Baseline, our passes in one process, and the Beam stage with 1 and 2 workers."""
    source = folder / f"tagged-{records}"
    if not source.is_dir():
        write_zipf_pool(source, records)
    startup = folder / "tagged-startup"
    if not startup.is_dir():
        write_zipf_pool(startup, 1000)
    base_cpu, base_wall, kept = best(baseline, source, folder / "baseline.parquet", t, seed)
    ours_cpu, ours_wall, ours_kept = best(ours, source, folder / "ours.parquet", t, seed)
    same = pq.read_table(folder / "baseline.parquet").equals(pq.read_table(folder / "ours.parquet"))
    result = {
        "records": records,
        "t": t,
        "kept": kept,
        "baseline_records_per_cpu_s": round(records / base_cpu),
        "baseline_records_per_wall_s": round(records / base_wall),
        "ours_in_process_records_per_cpu_s": round(records / ours_cpu),
        "ours_over_baseline_cpu": round(base_cpu / ours_cpu, 2),
        "identical_output": same and ours_kept == kept,
    }
    for workers in (1, 2):
        startup_s = min(
            beam_stage(startup, folder / "startup", t, seed, workers)[0] for _ in range(2)
        )
        result[f"beam_{workers}w_startup_s"] = round(startup_s, 1)
        wall, beam_kept = min(
            beam_stage(source, folder / f"beam{workers}", t, seed, workers) for _ in range(2)
        )
        net = max(wall - startup_s, 1e-9)
        result[f"beam_{workers}w_wall_s"] = round(wall, 1)
        result[f"beam_{workers}w_records_per_s_per_core"] = round(records / net / workers)
        result[f"beam_{workers}w_over_baseline_per_core"] = round(base_wall / net / workers, 2)
        result[f"beam_{workers}w_same_kept"] = beam_kept == kept
    result["beam_2w_faster_than_1w"] = result["beam_2w_wall_s"] < result["beam_1w_wall_s"]
    return result


def growth(folder: Path, sizes: list[int], t: float = 50.0) -> list[dict]:
    """Seconds per million records as the pool grows, baseline and Beam (2 workers)."""
    rows = []
    for size in sizes:
        source = folder / f"tagged-{size}"
        if not source.is_dir():
            write_zipf_pool(source, size)
        base_cpu, _, _ = best(baseline, source, folder / "baseline.parquet", t, 0)
        wall, _ = beam_stage(source, folder / "growth", t, 0, 2)
        rows.append(
            {
                "records": size,
                "baseline_cpu_s_per_million": round(base_cpu / size * 1e6, 1),
                "beam_2w_wall_s": round(wall, 1),
            }
        )
    return rows
