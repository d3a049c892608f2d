"""Hypothesis settings for the reliability suite.

CI runs a fixed, derandomised set of examples per fuzz test (no example database, no
deadline: nothing here is timed). `RELIABILITY_FUZZ_SCALE=N` multiplies every test's
example count and `HYPOTHESIS_PROFILE=explore` draws fresh random examples each run and
keeps failures in `.hypothesis/`, for a longer hunt outside CI."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_RELAXED = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
settings.register_profile(
    "ci", deadline=None, derandomize=True, database=None, suppress_health_check=_RELAXED
)
settings.register_profile("explore", deadline=None, suppress_health_check=_RELAXED)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
