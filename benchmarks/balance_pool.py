"""The two balance passes over Parquet: a synthetic tagged pool with Zipf-distributed
concepts, a direct single-process pure-Python baseline, and the same passes through
transforms/balance in one process. Used by benchmarks/balance.py.

The baseline is written from the algorithm, not from our modules: read `concepts`,
count distinct non-negated CUIs per record, then read every record again, draw each
(entry, record) pair with a blake2b hash and write the kept ones with `entries` and
`keep_prob`. Both sides read the same Parquet and write the same schema, so the ratio is
what our code costs over the plainest loop. The Beam stage runs through the CLI in its
own processes, on the same shards, with 1 and 2 workers.

Rates per core are per CPU second, so that other work on a shared machine does not
enter them: the baseline's `time.process_time`, and for the Beam run the CPU time of
the CLI process and every process it started and waited for (its SDK workers), the
`RUSAGE_CHILDREN` delta around the run. That this holds the workers is checked on each
run: the CPU times of the process tree, sampled from /proc every 0.2 s while it runs,
are recorded beside it (a little lower: a process's last 0.2 s are not sampled). Wall
seconds and the load average are recorded too.
Beam's start-up is measured on a 1,000-record pool and reported on its own.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import resource
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Run:
    """One timed run: CPU seconds (all its processes), wall seconds, records kept."""

    cpu_s: float
    wall_s: float
    kept: int
    load: tuple[float, float, float]  # os.getloadavg() as it ended
    proc_sampled_cpu_s: float = 0.0  # a subprocess run: its tree's CPU as /proc showed it
    processes: int = 1
    returncode: int = 0
    ledger_ok: bool = True  # the CLI's check of what it wrote against its units
    attempts: int = 1  # a stage whose ledger did not add up is run again (--ledger-retries)


def timed_in_process(run, *args) -> Run:
    cpu, wall = time.process_time(), time.perf_counter()
    kept = run(*args)
    return Run(time.process_time() - cpu, time.perf_counter() - wall, kept, os.getloadavg())


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


TICK = os.sysconf("SC_CLK_TCK")


def tree_cpu_s(root: int) -> dict[int, float]:
    """CPU seconds so far of `root` and every process below it, from /proc."""
    parents, cpu = {}, {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                fields = Path(f"/proc/{name}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # it ended meanwhile
                continue
            parents[int(name)] = int(fields[1])
            cpu[int(name)] = (int(fields[11]) + int(fields[12])) / TICK
    tree, grew = {root}, True
    while grew:
        below = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree, grew = tree | below, bool(below)
    return {pid: cpu[pid] for pid in tree if pid in cpu}


def beam_stage(source: Path, target: Path, t: float, seed: int, workers: int) -> Run:
    """The Beam balance stage run as the CLI runs it, in its own process tree. Its output
    (and Beam's log) go to files beside `target`; a failed run raises with their tail."""
    command = [sys.executable, "-m", "pipeline", "balance", "--input", str(source)]
    command += ["--output", str(target), "--t", str(t), "--balance-seed", str(seed), "--quiet"]
    command += ["--force", "--records-per-shard", "100000", f"--direct_num_workers={workers}"]
    log = target.with_name(target.name + ".stderr")
    sampled: dict[int, float] = {}
    cpu, wall = children_cpu_s(), time.perf_counter()
    with log.open("w") as err:
        process = subprocess.Popen(command, cwd=ROOT, stdout=err, stderr=subprocess.STDOUT)
        while process.poll() is None:
            sampled.update(tree_cpu_s(process.pid))
            time.sleep(0.2)
    wall, cpu = time.perf_counter() - wall, children_cpu_s() - cpu
    stats_path = target / "stats.json"
    if process.returncode and not stats_path.exists():  # no folder: nothing to measure
        beam_log = target.with_name(target.name + ".beam.log")
        tails = [f.read_text(errors="replace")[-4000:] for f in (log, beam_log) if f.exists()]
        raise RuntimeError(f"{command} exited {process.returncode}:\n" + "\n".join(tails))
    stats = json.loads(stats_path.read_text())  # exit 1 with a folder: its ledger failed
    beam_log = target.with_name(target.name + ".beam.log")
    logs = "".join(f.read_text(errors="replace") for f in (log, beam_log) if f.exists())
    return Run(
        cpu,
        wall,
        stats["out"],
        os.getloadavg(),
        sum(sampled.values()),
        len(sampled),
        process.returncode,
        bool(stats.get("ledger_ok")),
        1 + logs.count("lost rows"),  # the runner's warning for each attempt run again
    )


def rates(prefix: str, records: int, run: Run, startup: Run | None = None) -> dict:
    row = {
        f"{prefix}_cpu_s": round(run.cpu_s, 1),
        f"{prefix}_wall_s": round(run.wall_s, 1),
        f"{prefix}_records_per_cpu_s": round(records / run.cpu_s),
        f"{prefix}_records_per_wall_s": round(records / run.wall_s),
        f"{prefix}_load_at_end": [round(x, 2) for x in run.load],
    }
    if run.proc_sampled_cpu_s:
        row[f"{prefix}_cpu_s_sampled_from_proc"] = round(run.proc_sampled_cpu_s, 1)
        row[f"{prefix}_processes"] = run.processes
        row[f"{prefix}_exit_status"] = run.returncode
        row[f"{prefix}_ledger_ok"] = run.ledger_ok
        row[f"{prefix}_attempts"] = run.attempts
    if startup is not None:  # the records' own cost: the start-up run's taken off
        net = max(run.cpu_s - startup.cpu_s, 1e-9)
        row[f"{prefix}_records_per_cpu_s_after_startup"] = round(records / net)
    return row


def compare(folder: Path, records: int, t: float = 50.0, seed: int = 0) -> dict:
    """Baseline, our passes in one process, and the Beam stage with 1 and 2 workers."""
    source = folder / f"tagged-{records}"
    if not source.is_dir():
        write_zipf_pool(source, records)
    startup_pool = folder / "tagged-startup"
    if not startup_pool.is_dir():
        write_zipf_pool(startup_pool, 1000)
    base = timed_in_process(baseline, source, folder / "baseline.parquet", t, seed)
    own = timed_in_process(ours, source, folder / "ours.parquet", t, seed)
    same = pq.read_table(folder / "baseline.parquet").equals(pq.read_table(folder / "ours.parquet"))
    result = {
        "records": records,
        "t": t,
        "kept": base.kept,
        **rates("baseline", records, base),
        **rates("ours_in_process", records, own),
        "ours_in_process_over_baseline_per_cpu_s": round(base.cpu_s / own.cpu_s, 2),
        "identical_output": same and own.kept == base.kept,
    }
    for workers in (1, 2):
        startup = beam_stage(startup_pool, folder / "startup", t, seed, workers)
        result[f"beam_{workers}w_startup_cpu_s"] = round(startup.cpu_s, 1)
        result[f"beam_{workers}w_startup_wall_s"] = round(startup.wall_s, 1)
        run = beam_stage(source, folder / f"beam{workers}", t, seed, workers)
        result.update(rates(f"beam_{workers}w", records, run, startup))
        # per core: records per CPU second of all the run's processes, over the baseline's
        result[f"beam_{workers}w_over_baseline_per_cpu_s"] = round(base.cpu_s / run.cpu_s, 2)
        result[f"beam_{workers}w_over_baseline_per_cpu_s_after_startup"] = round(
            base.cpu_s / max(run.cpu_s - startup.cpu_s, 1e-9), 2
        )
        result[f"beam_{workers}w_same_kept"] = run.kept == base.kept
    result["beam_2w_faster_than_1w_wall"] = result["beam_2w_wall_s"] < result["beam_1w_wall_s"]
    return result


def growth(
    folder: Path, sizes: list[int], t: float = 50.0, known: dict | None = None, workers: int = 1
) -> Iterator[dict]:
    """CPU seconds per million records as the pool grows: baseline and Beam (`workers`).
    `known` gives a size's figures already measured (by `compare`), not run again."""
    prefix = f"beam_{workers}w"
    for size in sizes:
        if known and known.get("records") == size and f"{prefix}_cpu_s" in known:
            base_cpu, beam_cpu = known["baseline_cpu_s"], known[f"{prefix}_cpu_s"]
            beam_wall, load = known[f"{prefix}_wall_s"], known[f"{prefix}_load_at_end"]
            ledger_ok = known[f"{prefix}_ledger_ok"]
            attempts = known.get(f"{prefix}_attempts", 1)
        else:
            source = folder / f"tagged-{size}"
            if not source.is_dir():
                write_zipf_pool(source, size)
            base_cpu = timed_in_process(baseline, source, folder / "baseline.parquet", t, 0).cpu_s
            run = beam_stage(source, folder / "growth", t, 0, workers)
            beam_cpu, beam_wall, load = run.cpu_s, run.wall_s, [round(x, 2) for x in run.load]
            ledger_ok, attempts = run.ledger_ok, run.attempts
        yield {
            "records": size,
            "baseline_cpu_s_per_million": round(base_cpu / size * 1e6, 1),
            f"{prefix}_cpu_s_per_million": round(beam_cpu / size * 1e6, 1),
            f"{prefix}_wall_s": round(beam_wall, 1),
            f"{prefix}_load_at_end": load,
            f"{prefix}_ledger_ok": ledger_ok,
            f"{prefix}_attempts": attempts,
        }
