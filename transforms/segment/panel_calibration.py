"""`seg_score`: the share of panels that were right, by what decided the split, measured on
the hand-boxed biomedical set (tests/data/biomed_panel_boxes.json) by benchmarks/segment.py
and committed beside this module (seg_calibration.json). A method with too few panels in
that set to say has no score (null), and so has a figure the set never measured."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

CALIBRATION = Path(__file__).with_name("seg_calibration.json")
MIN_PANELS = 8  # fewer panels of a method than this in the set: no calibrated score


@lru_cache(maxsize=1)
def _table() -> dict[str, float | None]:
    if not CALIBRATION.exists():
        return {}
    data = json.loads(CALIBRATION.read_text())
    return {
        method: (row["correct"] / row["panels"] if row["panels"] >= MIN_PANELS else None)
        for method, row in data["methods"].items()
    }


def calibrated_score(method: str) -> float | None:
    """The measured fraction of correct panels (IoU >= 0.5 with a hand-drawn box) among
    the panels this method gave, or None."""
    score = _table().get(method)
    return round(score, 3) if score is not None else None
