"""Dedup benchmark: pHash speed against imagehash, duplicate-pair quality on real images,
and the SemDeDup clustered search against exact brute force.

Run: .venv/bin/python benchmarks/dedup.py [--sizes 10000,100000,1000000]
     (writes benchmarks/results/dedup.json)
     .venv/bin/python benchmarks/dedup.py --memory-only [--sizes ...]: only the clustered
     path's own memory (`dedup_memory`), into the file's "search_memory" key

- pHash: ours (`transforms.dedup.hashes.phash`, a numpy DCT) and `imagehash.phash` on the
  same decoded images (real figures from ../shared/testdata and scikit-image's photos), one
  process, CPU time (time.process_time), best of 3 passes; the ratio is taken in this run.
- Quality: every image (57 distinct) and 14 copies of it (JPEG q90/70/40, resizes, white and
  black borders, grayscale, six crops of 2-10%). Copies that are not crops carry their own
  caption (found by the image alone); crops carry their original's caption (the crop rule
  needs a linked caption). Duplicate-pair recall per kind and combined, precision, and links
  between distinct figures. Hard negatives: all distinct images under ONE stock caption, so
  the crop rule is tried on every pair of them (1,596 pairs): links found must be 0.
- Search: random and clustered unit vectors (dim 384) with 1% planted near-duplicate pairs
  (cosine ~0.97); threshold 0.95. Brute force is FAISS IndexFlatIP range search over all
  (exact) up to 100k, and at 1M is timed on 2,000 queries and scaled. The clustered path is
  the stage's with its defaults (`clustered_pairs`: `cluster_vectors` on a seeded 100k
  sample, `ClusterModel.route` to a home cluster plus up to max_visits visited ones, the
  unit's `member_pairs` per cluster), with visitors and without. Its recall counts a
  pair when the stage would decide it: the better record (smaller index) met the other
  in the other's home cluster; `recall_found_anywhere` counts any meeting. CPU seconds
  (time.process_time) give the speed ratio; the load average is recorded at the start
  and end. Peak RSS of a fresh process per size and path. The caption embedding itself
  is not timed here (the vectors are given).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from dedup_memory import linearity, memory_child, memory_table, save_vectors  # noqa: E402
from dedup_run import run_dedup  # noqa: E402
from dedup_variants import (  # noqa: E402
    CROP_VARIANTS,
    VARIANTS,
    encode,
    real_figure_paths,
    record,
    skimage_images,
)

from transforms.dedup.config import DedupConfig  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "dedup.json"
DIM, THRESHOLD, PLANTED = 384, 0.95, 0.01
# brute force; the stage's clustered path (default max_visits); the same with no visitors
PATHS = ("brute", "clustered_path", "clustered_path_no_visits")


def distinct_images():
    from PIL import Image

    images = {p.stem: Image.open(p).convert("RGB") for p in real_figure_paths()}
    images.update({f"skimage-{k}": v.convert("RGB") for k, v in skimage_images().items()})
    return images


def phash_speed(images) -> dict:
    import imagehash

    from transforms.dedup.hashes import phash

    def best(fn) -> float:
        times = []
        for _ in range(3):
            start = time.process_time()
            for image in images.values():
                fn(image)
            times.append(time.process_time() - start)
        return min(times)

    ours, peer = best(phash), best(imagehash.phash)
    n = len(images)
    return {
        "images": n,
        "ours_ms_per_image": round(1000 * ours / n, 3),
        "imagehash_ms_per_image": round(1000 * peer / n, 3),
        "speedup_vs_imagehash": round(peer / ours, 2),
        "identical_bits": sum(
            phash(im) == int(str(imagehash.phash(im)), 16) for im in images.values()
        ),
    }


def quality(images) -> dict:
    records, origin = [], {}
    for name, image in sorted(images.items()):
        key = f"ORIG/{name}"
        records.append(record(key, encode(image), f"Figure {name}."))
        origin[key] = name
        for variant, make in VARIANTS.items():
            caption = f"Figure {name}." if variant in CROP_VARIANTS else f"{name}, {variant} copy"
            vkey = f"COPY/{name}/{variant}"
            records.append(record(vkey, make(image), caption))
            origin[vkey] = name
    start = time.perf_counter()
    run = run_dedup(records, DedupConfig(embed="none"))
    seconds = time.perf_counter() - start
    right = [d for d in run.duplicates if origin[d["key"]] == origin[d["dup_of"]]]
    wrong = [d for d in run.duplicates if origin[d["key"]] != origin[d["dup_of"]]]
    dup_of = run.dup_of()
    # a copy is found when it ends in its original's group, whichever of them is kept
    root = {k: dup_of.get(k, k) for k in origin}
    found = Counter(
        k.split("/")[-1]
        for k in origin
        if k.startswith("COPY/") and root[k] == root[f"ORIG/{origin[k]}"]
    )
    copies = len(records) - len(images)
    by_kind = Counter(d["kind"] for d in right)
    variant_found = found
    kept_per_image = Counter(origin[k] for k in run.kept_keys)
    crops = [v for v in VARIANTS if v in CROP_VARIANTS]
    negatives = [
        record(f"NEG/{n}", encode(im), "Representative images are shown.")
        for n, im in images.items()
    ]
    neg_run = run_dedup(negatives, DedupConfig(embed="none"))
    return {
        "distinct_images": len(images),
        "copies": copies,
        "seconds_hash_only_dedup": round(seconds, 1),
        "recall_all_copies": round(sum(found.values()) / copies, 4),
        "images_kept_once": sum(1 for n in images if kept_per_image[n] == 1),
        "precision": round(len(right) / max(len(run.duplicates), 1), 4),
        "links_between_distinct_figures": len(wrong),
        "found_by_kind": dict(sorted(by_kind.items())),
        "recall_by_variant": {v: round(variant_found[v] / len(images), 3) for v in VARIANTS},
        "recall_crops": round(sum(variant_found[v] for v in crops) / (len(crops) * len(images)), 4),
        "recall_non_crops": round(
            sum(variant_found[v] for v in VARIANTS if v not in crops)
            / ((len(VARIANTS) - len(crops)) * len(images)),
            4,
        ),
        "hard_negative_pairs_under_one_stock_caption": len(images) * (len(images) - 1) // 2,
        "hard_negatives_removed": len(neg_run.drops),
    }


def make_vectors(n: int, kind: str, seed: int = 0) -> tuple[np.ndarray, set[tuple[int, int]]]:
    rng = np.random.default_rng(seed)
    if kind == "random":
        vectors = rng.standard_normal((n, DIM), dtype=np.float32)
    else:  # clustered: 1 centre per 500 points, spread so clusters overlap like captions do
        centres = rng.standard_normal((max(1, n // 500), DIM), dtype=np.float32)
        vectors = centres[rng.integers(0, len(centres), n)]
        vectors += 0.9 * rng.standard_normal((n, DIM), dtype=np.float32)
    planted = int(n * PLANTED)
    sources = rng.choice(n - planted, size=planted, replace=False)
    vectors[n - planted :] = vectors[sources] + 0.13 * rng.standard_normal(
        (planted, DIM), dtype=np.float32
    )
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    pairs = {
        (int(min(s, n - planted + i)), int(max(s, n - planted + i))) for i, s in enumerate(sources)
    }
    return vectors, pairs


def search_child(n: int, kind: str, path: str, visits: int) -> dict:
    """One measurement in this (fresh) process: its peak RSS belongs to it alone."""
    import faiss

    reset_peak()
    baseline = peak()  # the interpreter and its imports, before any vector exists
    vectors, truth = make_vectors(n, kind)
    start, start_cpu = time.perf_counter(), time.process_time()
    if path == "brute":
        queries = n if n <= 100_000 else 2000
        index = faiss.IndexFlatIP(DIM)
        index.add(vectors)
        lims, _, ids = index.range_search(vectors[:queries], THRESHOLD)
        seconds = (time.perf_counter() - start) * n / queries
        cpu_seconds = (time.process_time() - start_cpu) * n / queries
        found = {
            (min(q, int(b)), max(q, int(b)))
            for q in range(queries)
            for b in ids[lims[q] : lims[q + 1]]
            if b != q
        }
        checked = {p for p in truth if p[0] < queries}
        recall = len(checked & found) / max(len(checked), 1)
        return {
            "seconds": round(seconds, 2),
            "cpu_seconds": round(cpu_seconds, 2),
            "recall": round(recall, 4),
            "queries_timed": queries,
            "peak_rss_mb": peak(),
            "baseline_rss_mb": baseline,
        }
    config = DedupConfig(max_visits=visits)
    found, decided, stats = clustered_pairs(vectors, config)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - start_cpu
    return {
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu_seconds, 2),
        # the stage's recall: the better record (smaller index, as the key breaks ties)
        # met the other in the other's home cluster, where that one is decided
        "recall": round(len(truth & decided) / len(truth), 4),
        "recall_found_anywhere": round(len(truth & found) / len(truth), 4),
        **stats,
        "peak_rss_mb": peak(),
        "baseline_rss_mb": baseline,
    }


def clustered_pairs(vectors: np.ndarray, config: DedupConfig):
    """The stage's clustered path on given vectors: k-means on a seeded sample (stage
    defaults), each vector routed to its home and up to max_visits visited clusters, then
    `member_pairs` per cluster (what the unit runs)."""
    from transforms.dedup.clusters import cluster_vectors, pair_radius
    from transforms.dedup.search import member_pairs

    n = len(vectors)
    rng = np.random.default_rng(config.seed)
    sample = vectors[np.sort(rng.choice(n, size=min(n, config.kmeans_sample), replace=False))]
    model = cluster_vectors(sample, n, config)
    homes, visits = model.route(vectors, pair_radius(THRESHOLD), config.max_visits)
    guests = np.concatenate([np.full(len(v), i) for i, v in enumerate(visits)]).astype(np.int64)
    guest_cluster = np.concatenate(visits).astype(np.int64)
    by_home, by_guest = np.argsort(homes, kind="stable"), np.argsort(guest_cluster, kind="stable")
    home_starts = np.searchsorted(homes[by_home], np.arange(len(model.centroids) + 1))
    guest_starts = np.searchsorted(guest_cluster[by_guest], np.arange(len(model.centroids) + 1))
    found, decided = set(), set()
    largest = 0
    for c in range(len(model.centroids)):
        members = by_home[home_starts[c] : home_starts[c + 1]]
        guest_rows = guests[by_guest[guest_starts[c] : guest_starts[c + 1]]]
        largest = max(largest, len(members) + len(guest_rows))
        rows = np.concatenate([members, guest_rows])
        for a, b, _ in member_pairs(vectors[members], vectors[guest_rows], THRESHOLD, "faiss-cpu"):
            i, j = int(rows[a]), int(members[b])
            pair = (min(i, j), max(i, j))
            found.add(pair)
            if a < len(members) or i < j:
                decided.add(pair)
    stats = {
        "clusters": int(len(model.centroids)),
        "max_visits": config.max_visits,
        "visits_per_record": round(len(guests) / n, 3),
        "largest_unit_rows": int(largest),
    }
    return found, decided, stats


def clustered_run(vectors: np.ndarray, visits: int):
    return clustered_pairs(vectors, DedupConfig(max_visits=visits))


def search_memory(results: dict, sizes: list[int]) -> None:
    """The clustered path's memory over its loaded input, into results["search_memory"];
    the file's other keys are kept as they are."""
    loadavg_start = [round(x, 2) for x in os.getloadavg()]

    def save(rows: list[dict]) -> None:
        results["search_memory"] = {
            "command": "benchmarks/dedup.py --memory-only --sizes "
            + ",".join(str(n) for n in sizes),
            "path": "clustered_path (stage defaults, max_visits "
            f"{DedupConfig().max_visits}); baseline = RSS after imports and np.load",
            "loadavg_at_start": loadavg_start,
            "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
            "rows": rows,
            "linear": linearity(rows),
        }
        RESULTS.write_text(json.dumps(results, indent=2) + "\n")

    memory_table(sizes, ("random", "clustered"), __file__, save)


def peak() -> float:
    """Peak resident set (VmHWM) of this process in MB since the last `reset_peak`."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def reset_peak() -> None:
    """Start VmHWM again from the current RSS (Linux: clear_refs 5), so import peaks drop out."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def search_table(sizes: list[int], save=None) -> list[dict]:
    rows = []
    for n in sizes:
        for kind in ("random", "clustered"):
            row = {"n": n, "kind": kind}
            for path in PATHS:
                out = subprocess.run(
                    [sys.executable, __file__, "--child", f"{n},{kind},{path}"],
                    check=True,
                    capture_output=True,
                    text=True,
                )
                row[path] = json.loads(out.stdout.strip().splitlines()[-1])
            # CPU time: the machine is shared, so wall time carries other sessions' load
            for path in PATHS[1:]:
                row[path]["speedup_cpu"] = round(
                    row["brute"]["cpu_seconds"] / row[path]["cpu_seconds"], 1
                )
            print(json.dumps(row), flush=True)
            rows.append(row)
            if save is not None:
                save(rows)  # each row as it comes: a long run stopped keeps what it measured
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--child")
    parser.add_argument("--skip-images", action="store_true")
    parser.add_argument("--memory-only", action="store_true")
    parser.add_argument("--memory-child")
    parser.add_argument("--memory-make")
    args = parser.parse_args()
    if args.child:
        n, kind, path = args.child.split(",")
        visits = 0 if path.endswith("no_visits") else DedupConfig().max_visits
        print(json.dumps(search_child(int(n), kind, path, visits)))
        return
    if args.memory_make:
        print(json.dumps(save_vectors(args.memory_make, make_vectors)))
        return
    if args.memory_child:
        child = memory_child(args.memory_child, DedupConfig().max_visits, clustered_run)
        print(json.dumps(child))
        return
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    if args.memory_only:
        search_memory(results, [int(s) for s in args.sizes.split(",")])
        return
    results["machine"] = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
    }
    if not args.skip_images:
        images = distinct_images()
        results["phash_speed"] = phash_speed(images)
        print(json.dumps(results["phash_speed"]), flush=True)
        results["quality"] = quality(images)
        print(json.dumps(results["quality"]), flush=True)
    previous = results.get("search", [])

    def save(rows: list[dict]) -> None:
        # rows of sizes not rerun now are kept from the previous run
        fresh = {(r["n"], r["kind"]) for r in rows}
        kept = [r for r in previous if (r["n"], r["kind"]) not in fresh]
        results["search"] = sorted(kept + rows, key=lambda r: (r["n"], r["kind"]))
        results["machine"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
        results["gpu"] = "not run: this task was lent no GPU machine"
        RESULTS.write_text(json.dumps(results, indent=2) + "\n")

    save([])
    if args.sizes:
        search_table([int(s) for s in args.sizes.split(",")], save)


if __name__ == "__main__":
    main()
