"""Scale benchmark: the whole chain (`python -m pipeline all`) on generated corpora of
growing size, on the local runner with 1 and 2 workers.

Run: .venv/bin/python benchmarks/scale.py [--sizes 300,1200,5000] [--workers 1,2]
     (writes benchmarks/results/scale.json)

- Corpora: the demo generator (`demo/`) at each size, seed 0: PMC-style articles with
  compound figures built from scikit-image's biomedical images, half folders, a third
  legacy .tar.gz packages. Nothing is tuned on them.
- Each run is the CLI in a subprocess with --force and default options (caption
  embeddings with MiniLM; balance's t of 20,000 caps nothing here, so every record with an
  entry reaches dedup and export). The process tree is sampled every 0.25 s with psutil:
  CPU seconds summed over the driver and every worker (a process's last sample counts once
  it is gone), peak RSS of the driver and of the largest worker.
- Per stage: its seconds from OUT/run.json, articles per second and per CPU-second of the
  whole run (CPU is not split by stage), and bytes written (the folder on disk).
- Growth: CPU seconds per article at each size (linear cost: flat), peak RSS per size.
- Workers: the 2-worker run's articles/s over the 1-worker run's, per stage (wall clock:
  run on a quiet machine; the load average is recorded beside it).
- PMC-OA projection: 6M articles at the marginal articles per CPU-second between the two
  largest sizes (start-up drops out), on N Dataflow workers of 8 vCPUs, with the prices
  stated in PRICES, and storage from the largest run's bytes per article per stage.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from demo.writer import generate  # noqa: E402

STAGES = ("extract", "segment", "tag", "balance", "dedup", "export")
FOLDERS = ("figures", "panels", "tagged", "balanced", "deduped", "export")
PMC_ARTICLES = 6_000_000
PMC_FIGURES = 24_000_000
# Dataflow batch, us-central1, list prices of 2026 (assumptions, not quotes): per vCPU-hour,
# per GB-hour of memory, per GB-month of standard storage; n2-standard-8 = 8 vCPU, 32 GB
PRICES = {"vcpu_hour": 0.056, "gb_hour": 0.003557, "storage_gb_month": 0.020}
WORKER_VCPUS, WORKER_GB = 8, 32


class TreeSampler:
    """Samples a process and its descendants: CPU seconds and peak RSS per process."""

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)
        self.cpu: dict[int, float] = {}
        self.rss: dict[int, int] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.loop, daemon=True)

    def sample(self) -> None:
        try:
            procs = [self.root, *self.root.children(recursive=True)]
        except psutil.Error:
            return
        for proc in procs:
            try:
                times = proc.cpu_times()
                self.cpu[proc.pid] = times.user + times.system
                self.rss[proc.pid] = max(self.rss.get(proc.pid, 0), proc.memory_info().rss)
            except psutil.Error:
                continue  # gone between listing and reading: its last sample stands

    def loop(self) -> None:
        while not self.stop.is_set():
            self.sample()
            self.stop.wait(0.25)

    def result(self) -> dict[str, float]:
        workers = [rss for pid, rss in self.rss.items() if pid != self.root.pid]
        return {
            "cpu_s": round(sum(self.cpu.values()), 2),
            "driver_peak_rss_mb": round(self.rss.get(self.root.pid, 0) / 2**20, 1),
            "worker_peak_rss_mb": round(max(workers, default=0) / 2**20, 1),
            "processes": len(self.rss),
        }


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def run_chain(corpus: Path, out: Path, workers: int) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "pipeline", "all", "--input", str(corpus)]
    cmd += ["--output", str(out), "--quiet", "--force"]
    cmd += [f"--direct_num_workers={workers}"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    load = os.getloadavg()[0]
    started = time.monotonic()
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    sampler = TreeSampler(proc.pid)
    sampler.thread.start()
    output = proc.communicate()[0].decode("utf-8", "replace")
    sampler.stop.set()
    sampler.thread.join()
    wall = time.monotonic() - started
    if proc.returncode != 0:
        raise RuntimeError(f"chain failed ({proc.returncode}):\n{output[-4000:]}")
    record = json.loads((out / "run.json").read_text())
    stages = {}
    for name, folder in zip(STAGES, FOLDERS, strict=True):
        stage = record["stages"][name]
        stages[name] = {
            "seconds": stage["seconds"],
            "in": stage["ledger"]["in"],
            "out": stage["ledger"]["out"],
            "ledger_ok": stage["ledger"]["ledger_ok"],
            # over 1: the stage lost rows and ran again (its seconds hold every attempt)
            "attempts": stage.get("attempts", 1),
            "bytes": folder_bytes(out / folder),
        }
    return {
        "workers": workers,
        "load_avg_at_start": round(load, 2),
        "wall_s": round(wall, 2),
        **sampler.result(),
        "stages": stages,
    }


def projection(rate_per_cpu_s: float, bytes_per_article: dict[str, float]) -> dict[str, Any]:
    """PMC-OA on Dataflow from a measured rate per CPU-second (one vCPU = one core here)."""
    vcpu_hours = PMC_ARTICLES / rate_per_cpu_s / 3600
    worker_hours = vcpu_hours / WORKER_VCPUS
    compute = worker_hours * (WORKER_VCPUS * PRICES["vcpu_hour"] + WORKER_GB * PRICES["gb_hour"])
    stored = {name: b * PMC_ARTICLES / 1e9 for name, b in bytes_per_article.items()}
    return {
        "articles": PMC_ARTICLES,
        "figures": PMC_FIGURES,
        "vcpu_hours": round(vcpu_hours),
        "hours_on_workers": {str(n): round(worker_hours / n, 1) for n in (50, 100, 250, 500)},
        "compute_usd": round(compute),
        "storage_gb_by_stage": {k: round(v) for k, v in stored.items()},
        "storage_usd_per_month_all_stages": round(
            sum(stored.values()) * PRICES["storage_gb_month"]
        ),
        "storage_usd_per_month_no_intermediate": round(
            (stored["deduped"] + stored["export"]) * PRICES["storage_gb_month"]
        ),
        "prices": PRICES,
        "assumptions": "n2-standard-8 workers; CPU-bound as here (reads from a bucket in the "
        "same region; no network stalls counted); the demo corpus's figures per article "
        "(PMC-OA has ~4); Dataflow Shuffle and Streaming Engine fees, and GPU dedup, not "
        "counted",
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="300,1200,5000")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--keep", help="folder to keep corpora and outputs in")
    parser.add_argument("--result", default=str(ROOT / "benchmarks/results/scale.json"))
    args = parser.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    workers = [int(x) for x in args.workers.split(",")]
    work = Path(args.keep or tempfile.mkdtemp(prefix="scale-"))
    runs = []
    for size in sizes:
        corpus = work / f"corpus-{size}"
        generate(corpus, seed=0, count=size)
        for w in workers:
            out = work / f"out-{size}-{w}w"
            run = {"articles": size, **run_chain(corpus, out, w)}
            run["articles_per_cpu_s"] = round(size / run["cpu_s"], 3)
            run["cpu_s_per_article"] = round(run["cpu_s"] / size, 4)
            for stage in run["stages"].values():
                stage["articles_per_s"] = round(size / max(stage["seconds"], 1e-9), 2)
            runs.append(run)
            print(json.dumps({k: v for k, v in run.items() if k != "stages"}), flush=True)
            if not args.keep:
                shutil.rmtree(out)
    result: dict[str, Any] = {
        "command": "benchmarks/scale.py " + " ".join(sys.argv[1:]),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "runs": runs,
    }
    speedups = {}
    for size in sizes:
        by_w = {r["workers"]: r for r in runs if r["articles"] == size}
        if 1 in by_w and 2 in by_w:
            one, two = by_w[1]["stages"], by_w[2]["stages"]
            speedups[str(size)] = {
                s: round(one[s]["seconds"] / max(two[s]["seconds"], 1e-9), 2) for s in STAGES
            } | {"total": round(by_w[1]["wall_s"] / by_w[2]["wall_s"], 2)}
    result["two_workers_over_one"] = speedups
    base = sorted((r for r in runs if r["workers"] == min(workers)), key=lambda r: r["articles"])
    largest = base[-1]
    # the marginal cost between consecutive sizes: flat when cost grows linearly; start-up
    # (a fixed cost per stage pipeline) drops out of it
    result["marginal_cpu_s_per_article"] = [
        {
            "from": a["articles"],
            "to": b["articles"],
            "cpu_s_per_article": round(
                (b["cpu_s"] - a["cpu_s"]) / (b["articles"] - a["articles"]), 4
            ),
        }
        for a, b in zip(base, base[1:], strict=False)
    ]
    rate = largest["articles_per_cpu_s"]
    if result["marginal_cpu_s_per_article"]:
        rate = 1 / result["marginal_cpu_s_per_article"][-1]["cpu_s_per_article"]
    per_article = {
        folder: largest["stages"][stage]["bytes"] / largest["articles"]
        for stage, folder in zip(STAGES, FOLDERS, strict=True)
    }
    result["pmc_oa_projection"] = projection(rate, per_article)
    Path(args.result).write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result["two_workers_over_one"], indent=1))
    print(json.dumps(result["pmc_oa_projection"], indent=1))


if __name__ == "__main__":
    main()
