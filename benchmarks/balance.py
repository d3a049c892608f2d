"""Balance benchmark: a 500k-entry list in MetaCLIP's `metadata.json` form, its load and
match speed beside the tag stage's matcher, and the speed of both passes' logic.

Run: .venv/bin/python benchmarks/balance.py [--records N]   (writes benchmarks/results/balance.json)

- The list: MetaCLIP's 500k entries are neither to be had here nor free to use, so one of
  the same size and form is generated, deterministically: the bundled lexicon's terms, the
  27k MeSH 2015 descriptor names, the words of those names as unigrams, then generated
  two- and three-word n-grams of those words up to 500,000 entries (no caption text is
  used, so the timed captions do not match the list by construction).
- Load: reading the JSON and compiling the automaton (what a worker's setup does), and
  the alternative of unpickling a compiled matcher; CPU seconds, one process.
- Match: captions per CPU second over the 1,212 ROCO test captions, best of REPEATS
  passes, for `EntryListMatcher.match` and, in the same run, the tag stage's
  `ConceptMatcher.analyse` with the bundled lexicon; the ratio is ours / tag's.
- Count: records per CPU second through `EntryCountCombine.add_input` (one record's entry
  list at a time) and through `batch_counts` + `add_counts` (Arrow batches of 10,000), on
  synthetic records with Zipf-distributed entries over the 500k entries; the merge of two
  full accumulators.
- Keep: records per CPU second through `Balancer` with the resulting counts, and the
  `solve_t` bisection on a 100k-record sample.
- Two passes over Parquet (`balance_pool`): a synthetic tagged pool of --pool-records
  records with Zipf concepts in 8 shards; the direct pure-Python baseline, the same passes
  through transforms/balance in one process (identical output checked), and the Beam
  stage through the CLI with 1 and 2 workers (the same records kept, checked); records
  per CPU second of each (a Beam run's CPU counts all its processes) and per wall second,
  Beam's start-up (a 1,000-record run) on its own, and the load average.
- Cost growth: CPU seconds per million records of the baseline and of the Beam stage
  (2 workers) at each --growth size.
- Results are written after each part, so a run stopped early keeps what it measured.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pyarrow as pa  # noqa: E402

from benchmarks.balance_pool import compare, growth  # noqa: E402
from metadata.lexicon import load_default  # noqa: E402
from transforms.balance.entries import (  # noqa: E402
    EntryExtractor,
    EntryListMatcher,
    EntryOptions,
    padded,
    read_entry_list,
)
from transforms.balance.keep import BalanceOptions, Balancer, solve_t  # noqa: E402
from transforms.balance.pool import EntryCountCombine, batch_counts  # noqa: E402
from transforms.tag.concepts import ConceptMatcher  # noqa: E402

TESTDATA = ROOT.parent / "shared" / "testdata"
RESULTS = ROOT / "benchmarks" / "results" / "balance.json"
LIST_SIZE = 500_000
REPEATS = 5
BATCH = 10_000


def read_captions() -> list[str]:
    captions = []
    for path in sorted((TESTDATA / "captions").glob("ROCO_test_*_captions.txt")):
        for line in path.read_text("utf-8").splitlines():
            captions.append(line.partition("\t")[2].strip())
    return captions


def generate_entry_list(size: int = LIST_SIZE) -> list[str]:
    """A deterministic `size`-entry list: real biomedical names first, then n-grams."""
    terms = [t for c in load_default().concepts for t in c.terms]
    mesh = (TESTDATA / "vocab" / "dhimmel_mesh2015_terms.tsv").read_text("utf-8").splitlines()
    terms += [line.split("\t", 1)[1] for line in mesh[1:] if "\t" in line]
    entries = dict.fromkeys(e for e in (padded(t).strip() for t in terms) if e)
    vocabulary = sorted({w for e in entries for w in e.split() if w.isalpha() and len(w) > 2})
    entries.update(dict.fromkeys(vocabulary))  # the names' words as unigrams
    generator = random.Random(20251202)  # a local generator: the list is the same every run
    while len(entries) < size:
        n = generator.choice((2, 2, 3))
        entries.setdefault(" ".join(generator.choices(vocabulary, k=n)), None)
    return list(entries)[:size]


def rss_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * 4096


def best_rate(fn, items: list, repeats: int = REPEATS) -> float:
    """Items per CPU second, best of `repeats` passes."""
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        for item in items:
            fn(item)
        best = min(best, time.process_time() - start)
    return len(items) / best


def timed(fn):
    start = time.process_time()
    value = fn()
    return value, time.process_time() - start


def zipf_entry_lists(entries: list[str], records: int, seed: int) -> list[list[str]]:
    """Each record holds 1-8 distinct entries drawn by a Zipf(1) rank law."""
    generator = random.Random(seed)
    cumulative, total = [], 0.0
    for rank in range(1, len(entries) + 1):
        total += 1.0 / rank
        cumulative.append(total)
    return [
        list(dict.fromkeys(generator.choices(entries, cum_weights=cumulative, k=k)))
        for k in (generator.randint(1, 8) for _ in range(records))
    ]


def bench_list(captions: list[str], folder: Path) -> tuple[dict, list[str]]:
    entries = generate_entry_list()
    path = folder / "metadata.json"
    path.write_text(json.dumps(entries), encoding="utf-8")
    loaded, read_s = timed(lambda: read_entry_list(path))
    rss_before = rss_bytes()
    matcher, compile_s = timed(lambda: EntryListMatcher(loaded))
    rss_growth = rss_bytes() - rss_before
    blob = pickle.dumps(matcher)
    _, unpickle_s = timed(lambda: pickle.loads(blob))  # noqa: S301 - our own bytes
    tag = ConceptMatcher(load_default())
    ours = best_rate(matcher.match, captions)
    theirs = best_rate(tag.analyse, captions)
    matched = sum(bool(matcher.match(c)) for c in captions) / len(captions)
    per_caption = sum(len(matcher.match(c)) for c in captions) / len(captions)
    print(f"list: {ours:,.0f} captions/s vs tag {theirs:,.0f}/s")
    return {
        "entries": len(loaded),
        "json_mb": round(path.stat().st_size / 2**20, 2),
        "read_json_s": round(read_s, 3),
        "compile_automaton_s": round(compile_s, 3),
        "load_total_s": round(read_s + compile_s, 3),
        "matcher_rss_growth_mb": round(rss_growth / 2**20, 1),
        "pickled_matcher_mb": round(len(blob) / 2**20, 1),
        "unpickle_s": round(unpickle_s, 3),
        "captions_timed": len(captions),
        "captions_with_a_match": round(matched, 4),
        "entries_per_caption": round(per_caption, 2),
        "list_match_captions_per_s": round(ours),
        "tag_matcher_captions_per_s": round(theirs),
        "list_over_tag_speed": round(ours / theirs, 2),
    }, loaded


def bench_passes(entries: list[str], records: int) -> dict:
    lists = zipf_entry_lists(entries, records, seed=7)
    keys = [f"PMC{i}/F1" for i in range(records)]
    combine = EntryCountCombine(sample_size=100_000, seed=1)

    def per_record():
        acc = combine.create_accumulator()
        for key, entry_list in zip(keys, lists, strict=True):
            combine.add_input(acc, entry_list, key=key)
        return acc

    acc, per_record_s = timed(per_record)
    count_only = EntryCountCombine()
    _, count_only_s = timed(
        lambda: [
            count_only.add_input(acc2, e)
            for acc2 in [count_only.create_accumulator()]
            for e in lists
        ]
    )
    arrow = [
        pa.array(lists[i : i + BATCH], pa.list_(pa.string())) for i in range(0, records, BATCH)
    ]

    def by_batch():
        batch_acc = count_only.create_accumulator()
        for array in arrow:
            count_only.add_counts(batch_acc, *batch_counts(array))
        return batch_acc

    batch_acc, batch_s = timed(by_batch)
    assert batch_acc.counts == acc.counts  # both ways count the same
    _, merge_s = timed(lambda: combine.merge_accumulators([acc, batch_acc]))
    pool = combine.extract_output(acc)
    t = solve_t(pool, records // 2)
    _, solve_s = timed(lambda: solve_t(pool, records // 2))
    balancer = Balancer(EntryExtractor(EntryOptions()), BalanceOptions(target_size=records // 2))
    units = [{"key": k, "entries": e} for k, e in zip(keys, lists, strict=True)]
    balancer.t_for(pool)
    outcomes, keep_s = timed(lambda: [bool(balancer(unit, pool).records) for unit in units])
    print(f"passes: count {records / per_record_s:,.0f}/s, keep {records / keep_s:,.0f}/s")
    return {
        "records": records,
        "distinct_entries_seen": len(pool.counts),
        "mean_entries_per_record": round(sum(map(len, lists)) / records, 2),
        "count_add_input_records_per_s": round(records / count_only_s),
        "count_add_input_with_sample_records_per_s": round(records / per_record_s),
        "count_arrow_batches_records_per_s": round(records / batch_s),
        "merge_two_accumulators_s": round(merge_s, 3),
        "solve_t_on_100k_sample_s": round(solve_s, 3),
        "target_size": records // 2,
        "solved_t": round(t, 2),
        "kept": sum(outcomes),
        "kept_within_5_percent_of_target": abs(sum(outcomes) - records // 2) <= records // 40,
        "keep_records_per_s": round(records / keep_s),
    }


def write(results: dict) -> None:
    """Write what is measured so far: a long run that stops early keeps its parts."""
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


def run_growth(results: dict, folder: Path, args: argparse.Namespace) -> None:
    sizes = [int(n) for n in args.growth.split(",") if n]
    results["cost_growth"] = []
    known = results.get("two_passes_over_parquet")
    for row in growth(folder, sizes, known=known, workers=args.growth_workers):
        print(f"growth: {row}")
        results["cost_growth"].append(row)
        write(results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200_000)
    # issue 14 sizes the Beam comparison at 1M and the growth at 100k, 1M and 4M
    parser.add_argument("--pool-records", type=int, default=1_000_000)
    parser.add_argument("--growth", default="100000,1000000,4000000", help="pool sizes")
    parser.add_argument(
        "--growth-workers",
        type=int,
        default=1,
        help="local workers of the growth runs (1: the runs measure cost, not speed-up)",
    )
    parser.add_argument(
        "--growth-only",
        action="store_true",
        help="measure the cost growth alone, keeping the other parts of the results file",
    )
    args = parser.parse_args()
    if args.growth_only:
        results = json.loads(RESULTS.read_text())
        results["growth_command"] = (
            f".venv/bin/python benchmarks/balance.py --growth-only --growth {args.growth} "
            f"--growth-workers {args.growth_workers}"
        )
        with tempfile.TemporaryDirectory() as folder:
            run_growth(results, Path(folder), args)
        return
    captions = read_captions()
    results: dict = {
        "command": (
            f".venv/bin/python benchmarks/balance.py --records {args.records} "
            f"--pool-records {args.pool_records} --growth {args.growth}"
        ),
        "machine": {
            "python": platform.python_version(),
            "cpu": platform.processor() or "",
            "cores": os.cpu_count(),
            "load_at_start": [round(x, 2) for x in os.getloadavg()],
        },
        "notes": (
            "Rates per core are per CPU second: time.process_time in one process, and for "
            "a Beam run the CPU of the CLI and all its worker processes (RUSAGE_CHILDREN, "
            "checked against /proc samples of the process tree). Wall seconds and load "
            "averages are given beside them; the machine is shared."
        ),
    }
    with tempfile.TemporaryDirectory() as folder:
        results["entry_list"], entries = bench_list(captions, Path(folder))
        results["passes"] = bench_passes(entries, args.records)
        write(results)
        results["two_passes_over_parquet"] = compare(Path(folder), args.pool_records)
        print(f"two passes over Parquet: {results['two_passes_over_parquet']}")
        write(results)
        run_growth(results, Path(folder), args)
    results["machine"]["load_at_end"] = [round(x, 2) for x in os.getloadavg()]
    write(results)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
