"""The two balance passes over Parquet: a synthetic tagged pool with Zipf-distributed
concepts, a direct single-process pure-Python baseline, and the same passes through
transforms/balance in one process. Used by benchmarks/balance.py.

The baseline is written from the algorithm, not from our modules: read `concepts`,
count distinct non-negated CUIs per record, then read every record again, draw each
(entry, record) pair with a blake2b hash and write the kept ones with `entries` and
`keep_prob`. Both sides read the same Parquet and write the same schema, so the ratio is
what our code costs over the plainest loop. The Beam stage is the third column to add.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from schemas import BALANCED_SCHEMA, TAGGED_SCHEMA
from transforms.balance.entries import EntryExtractor, EntryOptions
from transforms.balance.keep import BalanceOptions, Balancer
from transforms.balance.pool import EntryCountCombine

CHUNK = 50_000


def write_zipf_pool(path: Path, records: int, concepts: int = 100_000, seed: int = 3) -> None:
    """`records` tagged records, 1-8 concepts each drawn by rank law 1/r, 1 in 10 negated."""
    generator = random.Random(seed)
    cumulative, total = [], 0.0
    for rank in range(1, concepts + 1):
        total += 1.0 / rank
        cumulative.append(total)
    ranks = range(concepts)
    with pq.ParquetWriter(path, TAGGED_SCHEMA, compression="zstd") as writer:
        for start in range(0, records, CHUNK):
            rows = []
            for index in range(start, min(start + CHUNK, records)):
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
                                "start": 0,
                                "end": 1,
                                "semtypes": ["T061"],
                                "semgroup": "PROC",
                                "negated": generator.random() < 0.1,
                            }
                            for r in picked
                        ],
                    }
                )
            writer.write_table(pa.Table.from_pylist(rows, schema=TAGGED_SCHEMA))


def _batches(path: Path, columns: list[str] | None = None):
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
    """Both passes through transforms/balance, one process, the same IO."""
    extractor = EntryExtractor(EntryOptions())
    combine = EntryCountCombine()
    acc = combine.create_accumulator()
    for batch in _batches(source, ["concepts"]):
        for concepts in batch.column(0).to_pylist():
            combine.add_input(acc, extractor({"concepts": concepts}))
    pool = combine.extract_output(acc)
    balancer = Balancer(extractor, BalanceOptions(t=t, seed=seed))
    kept = 0
    with pq.ParquetWriter(target, BALANCED_SCHEMA, compression="zstd") as writer:
        for batch in _batches(source):
            out = [r for row in batch.to_pylist() for r in balancer(row, pool).records]
            kept += len(out)
            writer.write_table(pa.Table.from_pylist(out, schema=BALANCED_SCHEMA))
    return kept


def compare(folder: Path, records: int, t: float = 50.0, seed: int = 0) -> dict:
    source = folder / f"tagged-{records}.parquet"
    if not source.is_file():
        write_zipf_pool(source, records)
    rates: dict[str, tuple[float, int]] = {}
    for _ in range(2):  # interleaved, best of two: the machine is shared
        for name, run in (("baseline", baseline), ("ours", ours)):
            start = time.process_time()
            kept = run(source, folder / f"{name}.parquet", t, seed)
            rate = records / (time.process_time() - start)
            rates[name] = max(rates.get(name, (0.0, 0)), (rate, kept))
    same = pq.read_table(folder / "baseline.parquet").equals(pq.read_table(folder / "ours.parquet"))
    return {
        "records": records,
        "t": t,
        "kept": rates["ours"][1],
        "baseline_records_per_s": round(rates["baseline"][0]),
        "ours_records_per_s": round(rates["ours"][0]),
        "ours_over_baseline": round(rates["ours"][0] / rates["baseline"][0], 2),
        "identical_output": same,
    }
