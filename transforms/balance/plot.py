"""`entry_counts.png`: entry frequency by rank before and after balancing, log-log, with
the cap t, as MetaCLIP plots it, drawn by matplotlib's Agg backend (a core dependency).
"""

from __future__ import annotations

import io
from collections.abc import Iterable

import matplotlib

matplotlib.use("Agg")  # no display on workers; set before anything draws

from matplotlib.figure import Figure  # noqa: E402 - after the backend; no pyplot global state

WIDTH, HEIGHT = 800, 500
BEFORE_COLOUR, AFTER_COLOUR, T_COLOUR = "#1f77b4", "#ff7f0e", "#787878"


def ranked(counts: Iterable[int]) -> list[int]:
    """Positive counts, largest first (rank 1 is the head)."""
    return sorted((c for c in counts if c > 0), reverse=True)


def plot_entry_counts(before: Iterable[int], after: Iterable[int], t: float) -> bytes:
    """PNG bytes of the rank-frequency curves of `before` and `after` counts."""
    first, second = ranked(before), ranked(after)
    figure = Figure(figsize=(WIDTH / 100, HEIGHT / 100), dpi=100)
    axes = figure.subplots()
    series = ((first, "before", BEFORE_COLOUR), (second, "after", AFTER_COLOUR))
    for counts, label, colour in series:
        if counts:
            label = f"{label} ({len(counts)} entries)"
            style = "-" if len(counts) > 1 else "o"
            axes.loglog(range(1, len(counts) + 1), counts, style, label=label, color=colour)
    axes.axhline(t, linestyle="--", color=T_COLOUR, label=f"t = {t:g}")
    axes.set_xlabel("entry rank")
    axes.set_ylabel("records per entry")
    axes.set_title("Entry counts before and after balancing")
    axes.legend()
    out = io.BytesIO()
    figure.savefig(out, format="png", metadata={"Software": None})
    return out.getvalue()
