"""Memory of the clustered (SemDeDup) search alone, apart from making the test vectors.

Used by `benchmarks/dedup.py --memory-only`. Per size and generator a process of its own
makes the vectors once (`make_vectors`) and saves them as .npy in a temp folder; a fresh
child process (the same python) imports FAISS and the stage's modules, loads the vectors, takes
its RSS then as the baseline (interpreter, imports and the loaded vectors), runs the
clustered path exactly as the search benchmark does (`clustered_pairs` with the stage's
defaults), and reports its peak RSS (VmHWM, reset to the baseline, and ru_maxrss) minus
the baseline. Linear memory shows as a flat or falling bytes-per-vector from 10k to 1M.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

MB = 1024 * 1024


def status_kb(field: str) -> int:
    """A `/proc/self/status` field in kB (VmRSS: resident now, VmHWM: peak resident)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} missing from /proc/self/status (Linux only)")


def maxrss_kb() -> int:
    """ru_maxrss of this process in kB (Linux reports kB); it cannot be reset."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def memory_child(
    vectors_path: str, visits: int, run: Callable[[np.ndarray, int], tuple[set, set, dict]]
) -> dict:
    """The measurement in this fresh process; `run(vectors, visits)` is the clustered path."""
    # import what the search imports first, so that only the search counts over the baseline
    import faiss  # noqa: F401

    import transforms.dedup.clusters  # noqa: F401
    import transforms.dedup.search  # noqa: F401

    rss_imports_kb = status_kb("VmRSS")
    vectors = np.load(vectors_path)  # read straight into the array: no second copy
    baseline_kb = status_kb("VmRSS")
    maxrss_before_kb = maxrss_kb()
    try:  # Linux: clear_refs 5 restarts VmHWM from the current RSS
        Path("/proc/self/clear_refs").write_text("5")
        hwm_reset = True
    except OSError:
        hwm_reset = False
    start_cpu = time.process_time()
    found, decided, stats = run(vectors, visits)
    cpu_seconds = time.process_time() - start_cpu
    hwm_kb, maxrss_after_kb = status_kb("VmHWM"), maxrss_kb()
    n = len(vectors)
    over_kb = hwm_kb - baseline_kb
    return {
        "n": n,
        "input_bytes": int(vectors.nbytes),
        "rss_after_imports_mb": round(rss_imports_kb / 1024, 1),
        "baseline_rss_mb": round(baseline_kb / 1024, 1),
        "peak_vmhwm_mb": round(hwm_kb / 1024, 1),
        "peak_ru_maxrss_mb": round(maxrss_after_kb / 1024, 1),
        "ru_maxrss_before_search_mb": round(maxrss_before_kb / 1024, 1),
        "vmhwm_reset_at_baseline": hwm_reset,
        "peak_over_baseline_mb": round(over_kb / 1024, 1),
        "peak_over_baseline_ru_maxrss_mb": round((maxrss_after_kb - baseline_kb) / 1024, 1),
        "bytes_per_vector": round(over_kb * 1024 / n, 1),
        "peak_over_input": round(over_kb * 1024 / vectors.nbytes, 3),
        "cpu_seconds": round(cpu_seconds, 2),
        "pairs_found": len(found),
        "pairs_decided": len(decided),
        **stats,
    }


def save_vectors(
    spec: str, make_vectors: Callable[[int, str], tuple[np.ndarray, set]]
) -> dict[str, int]:
    """`n,kind,path`: make the vectors (in a process of their own) and save them as .npy."""
    n, kind, path = spec.split(",", 2)
    vectors, truth = make_vectors(int(n), kind)
    np.save(path, vectors)
    return {"planted_pairs": len(truth)}


def run_json(args: list[str]) -> dict:
    out = subprocess.run(
        [sys.executable, *args],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def memory_table(
    sizes: list[int], kinds: tuple[str, ...], script: str, save: Callable[[list[dict]], None]
) -> list[dict]:
    """Per size and kind: `script --memory-make` writes the .npy, `script --memory-child`
    measures. This parent never holds the vectors: Linux carries a process's ru_maxrss over
    fork and exec, so a child of a parent that made 1M vectors would report its peak."""
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="dedup-memory-") as folder:
        for n in sizes:
            for kind in kinds:
                path = os.path.join(folder, f"{kind}-{n}.npy")
                made = run_json([script, "--memory-make", f"{n},{kind},{path}"])
                load_start = [round(x, 2) for x in os.getloadavg()]
                child = run_json([script, "--memory-child", path])
                os.remove(path)
                row = {
                    "kind": kind,
                    **child,
                    **made,
                    "loadavg_at_start": load_start,
                    "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
                }
                print(json.dumps(row), flush=True)
                rows.append(row)
                save(rows)  # each row as it comes: a long run stopped keeps what it measured
    return rows


def linearity(rows: list[dict]) -> dict[str, dict]:
    """Per kind: bytes per vector at the smallest and largest n, and whether it did not grow
    (within 10%), which is what memory linear in the pool means here."""
    verdict = {}
    for kind in sorted({r["kind"] for r in rows}):
        mine = sorted((r for r in rows if r["kind"] == kind), key=lambda r: r["n"])
        if len(mine) < 2:
            continue
        first, last = mine[0]["bytes_per_vector"], mine[-1]["bytes_per_vector"]
        verdict[kind] = {
            "n_range": [mine[0]["n"], mine[-1]["n"]],
            "bytes_per_vector": [first, last],
            "linear": bool(last <= 1.1 * first),
        }
    return verdict
