"""Shared fixtures. Real-data tests read ../shared/testdata and never copy it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TESTDATA = ROOT.parent / "shared" / "testdata"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if TESTDATA.is_dir():
        return
    if os.environ.get("CI") == "true":
        raise pytest.UsageError(f"CI=true but the real test data is missing: {TESTDATA}")
    skip = pytest.mark.skip(reason=f"real test data not found at {TESTDATA}")
    for item in items:
        if "realdata" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def testdata() -> Path:
    return TESTDATA
