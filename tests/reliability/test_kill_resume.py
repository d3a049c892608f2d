"""Kill a local chain run (`python -m pipeline all`, its Beam workers too: SIGKILL to the
process group) at seeded-random points, run it again until it completes, and compare the
output with an uninterrupted run's: every table of every stage (data, dropped, errors,
the extra tables, the export's Parquet and WebDataset shards), record for record.

A kill point is a stage and a delay: once the stage before it is committed (its run.json
written), the run is killed after the delay, wherever it then is. The seed is
RELIABILITY_KILL_SEED (printed, so a failure can be run again); each killed run must
leave the committed stages a prefix of the chain and nothing of a half-written one."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hostile import BILLION_LAUGHS, article_xml, targz, write
from outputs import contents, differences

from demo.writer import generate
from pipeline.cli import main

pytestmark = pytest.mark.beam

ROOT = Path(__file__).resolve().parents[2]
KINDS = ["figures", "panels", "tagged", "balanced", "deduped", "export"]
KILLS = 2
# small and quick: the sentence model is the slowest thing in dedup and not what is tested
OPTIONS = ["--quiet", "--embed", "none", "--t", "4"]


def make_corpus(folder: Path) -> None:
    """Three demo articles, and two that end as error records (the errors tables too)."""
    generate(folder, seed=1, count=3)
    write(folder / "bad" / "lol.xml", BILLION_LAUGHS)
    escape = {"PMC9/PMC9.nxml": article_xml("PMC9", ["a.png"]), "../x": b"1"}
    write(folder / "bad" / "PMC9.tar.gz", targz(escape))


def committed(out: Path) -> list[str]:
    return [kind for kind in KINDS if (out / kind / "run.json").exists()]


def kill_points(seed: int) -> list[tuple[int, float]]:
    """KILLS (stage index, delay in s), stages in chain order: a rerun resumes after the
    committed stages, so a later kill must aim at a later stage."""
    rng = random.Random(seed)
    stages = sorted(rng.sample(range(len(KINDS)), KILLS))
    return [(stage, round(rng.uniform(0.2, 4.0), 2)) for stage in stages]


def start_chain(corpus: Path, out: Path) -> subprocess.Popen:
    argv = ["all", "--input", str(corpus), "--output", str(out), *OPTIONS]
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline", *argv],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        start_new_session=True,  # its own process group, which its Beam workers join
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def kill_at(corpus: Path, out: Path, stage: int, delay: float) -> str:
    """Run the chain and SIGKILL its process group `delay` s after the stage before
    `stage` is committed (after the start for extract); say where the kill landed."""
    child = start_chain(corpus, out)
    try:
        deadline = time.monotonic() + 600
        while stage and KINDS[stage - 1] not in committed(out):
            if child.poll() is not None or time.monotonic() > deadline:
                return f"the run ended ({child.poll()}) before {KINDS[stage]} began"
            time.sleep(0.05)
        time.sleep(delay)
        if child.poll() is not None:
            return f"the run ended ({child.returncode}) before the kill"
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
        child.wait()
        assert_group_gone(child.pid)
    return f"killed with {committed(out)} committed"


def assert_group_gone(group: int) -> None:
    """No process of the killed run (its Beam workers) lives on."""
    for _ in range(200):
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    raise AssertionError(f"processes of group {group} outlived SIGKILL")


def assert_a_clean_prefix(out: Path) -> None:
    """Committed stages are a prefix of the chain; a stage after them has no folder of
    its own yet (only, perhaps, the `.tmp-` one the next run cleans away)."""
    done = committed(out)
    assert done == KINDS[: len(done)]
    later = [kind for kind in KINDS[len(done) :] if (out / kind).exists()]
    assert later in ([], [KINDS[len(done)]]) and not (
        later and (out / later[0] / "run.json").exists()
    )


def test_a_chain_killed_at_random_points_ends_as_an_uninterrupted_one(tmp_path: Path) -> None:
    seed = int(os.environ.get("RELIABILITY_KILL_SEED", "20261202"))
    corpus, reference, out = tmp_path / "corpus", tmp_path / "reference", tmp_path / "out"
    make_corpus(corpus)
    argv = ["all", "--input", str(corpus), "--output", str(reference), *OPTIONS]
    assert main([*argv, "--direct_running_mode=in_memory", "--direct_num_workers=1"]) == 0

    landed = []
    for stage, delay in kill_points(seed):
        landed.append(f"{KINDS[stage]}+{delay}s: {kill_at(corpus, out, stage, delay)}")
        assert_a_clean_prefix(out)
    print(f"RELIABILITY_KILL_SEED={seed}:", *landed, sep="\n  ")
    rerun = start_chain(corpus, out)
    assert rerun.wait(timeout=600) == 0, landed

    assert committed(out) == KINDS
    assert not [p.name for p in out.iterdir() if ".tmp-" in p.name or ".old-" in p.name]
    assert differences(contents(reference), contents(out)) == [], landed
    assert contents(out)["figures/errors"]  # the bad articles made it to the comparison
