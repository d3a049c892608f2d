"""Runs each atheris target of atheris_harness.py briefly (a few hundred inputs) when
atheris is installed; otherwise each is skipped, saying so. atheris is no dependency of
the project (its wheels cover few platforms); the hypothesis tests always run."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

HARNESS = Path(__file__).with_name("atheris_harness.py")
RUNS = {"jats": 400, "captions": 400, "pdf": 60, "image": 400}


@pytest.mark.skipif(
    importlib.util.find_spec("atheris") is None,
    reason="atheris is not installed (pip install atheris): the coverage-guided harness "
    "tests/reliability/atheris_harness.py is not run; the hypothesis fuzz tests are",
)
@pytest.mark.parametrize("target", sorted(RUNS))
def test_atheris_finds_no_crash_in_a_short_run(target: str, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(HARNESS), target, f"-runs={RUNS[target]}", "-max_len=65536"],
        cwd=tmp_path,  # where libFuzzer would write a crash file
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    assert not list(tmp_path.glob("crash-*"))
