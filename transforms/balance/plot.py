"""`entry_counts.png`: entry frequency by rank before and after balancing, log-log, with
the cap t, as MetaCLIP plots it. matplotlib (Agg) draws it when installed; otherwise the
same chart is drawn with Pillow, so the stage never needs a plotting library to run.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterable

from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT = 800, 500
BEFORE_COLOUR, AFTER_COLOUR, T_COLOUR = (31, 119, 180), (255, 127, 14), (120, 120, 120)


def ranked(counts: Iterable[int]) -> list[int]:
    """Positive counts, largest first (rank 1 is the head)."""
    return sorted((c for c in counts if c > 0), reverse=True)


def plot_entry_counts(before: Iterable[int], after: Iterable[int], t: float) -> bytes:
    """PNG bytes of the rank-frequency curves of `before` and `after` counts."""
    first, second = ranked(before), ranked(after)
    try:
        import matplotlib
    except ImportError:
        return _pillow_plot(first, second, t)
    matplotlib.use("Agg")
    return _matplotlib_plot(first, second, t)


def _matplotlib_plot(before: list[int], after: list[int], t: float) -> bytes:
    from matplotlib.figure import Figure  # no pyplot: no global figure state

    figure = Figure(figsize=(WIDTH / 100, HEIGHT / 100), dpi=100)
    axes = figure.subplots()
    for counts, label, colour in (
        (before, "before", BEFORE_COLOUR),
        (after, "after", AFTER_COLOUR),
    ):
        if counts:
            ranks = range(1, len(counts) + 1)
            axes.loglog(
                ranks,
                counts,
                label=f"{label} ({len(counts)} entries)",
                color=[c / 255 for c in colour],
            )
    axes.axhline(t, linestyle="--", color=[c / 255 for c in T_COLOUR], label=f"t = {t:g}")
    axes.set_xlabel("entry rank")
    axes.set_ylabel("records per entry")
    axes.set_title("Entry counts before and after balancing")
    axes.legend()
    out = io.BytesIO()
    figure.savefig(out, format="png", metadata={"Software": None})
    return out.getvalue()


class _LogAxes:
    """Maps (rank, count) to pixels on log-log axes spanning whole decades."""

    left, right, top, bottom = 70, 20, 40, 50

    def __init__(self, max_rank: int, max_count: float) -> None:
        self.x_decades = max(1, math.ceil(math.log10(max(max_rank, 1)) + 1e-9))
        self.y_decades = max(1, math.ceil(math.log10(max(max_count, 1)) + 1e-9))

    def x(self, rank: float) -> float:
        span = WIDTH - self.left - self.right
        return self.left + span * math.log10(rank) / self.x_decades

    def y(self, count: float) -> float:
        span = HEIGHT - self.top - self.bottom
        return HEIGHT - self.bottom - span * math.log10(max(count, 1)) / self.y_decades


def _pillow_plot(before: list[int], after: list[int], t: float) -> bytes:
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default()
    axes = _LogAxes(max(len(before), len(after), 1), max(before[:1] + after[:1] + [t]))
    bottom, top = HEIGHT - axes.bottom, axes.top
    for decade in range(axes.x_decades + 1):
        x = axes.x(10**decade)
        draw.line([(x, top), (x, bottom)], fill=(230, 230, 230))
        draw.text((x - 8, bottom + 6), f"1e{decade}", fill="black", font=font)
    for decade in range(axes.y_decades + 1):
        y = axes.y(10**decade)
        draw.line([(axes.left, y), (WIDTH - axes.right, y)], fill=(230, 230, 230))
        draw.text((axes.left - 34, y - 6), f"1e{decade}", fill="black", font=font)
    draw.rectangle([(axes.left, top), (WIDTH - axes.right, bottom)], outline="black")
    y_t = axes.y(t)
    for x in range(axes.left, WIDTH - axes.right, 12):  # dashed line at t
        draw.line([(x, y_t), (min(x + 6, WIDTH - axes.right), y_t)], fill=T_COLOUR, width=2)
    for counts, colour in ((before, BEFORE_COLOUR), (after, AFTER_COLOUR)):
        points = [(axes.x(rank), axes.y(c)) for rank, c in enumerate(counts, start=1)]
        if len(points) > 1:
            draw.line(points, fill=colour, width=2)
        elif points:
            draw.ellipse(
                [(points[0][0] - 2, points[0][1] - 2), (points[0][0] + 2, points[0][1] + 2)],
                fill=colour,
            )
    draw.text((axes.left, 4), "Entry counts before and after balancing", fill="black", font=font)
    legend = [
        (f"before ({len(before)} entries)", BEFORE_COLOUR),
        (f"after ({len(after)} entries)", AFTER_COLOUR),
        (f"t = {t:g}", T_COLOUR),
    ]
    for row, (label, colour) in enumerate(legend):
        y = top + 10 + 16 * row
        draw.line([(WIDTH - 200, y + 6), (WIDTH - 180, y + 6)], fill=colour, width=3)
        draw.text((WIDTH - 174, y), label, fill="black", font=font)
    draw.text((WIDTH // 2 - 30, HEIGHT - 20), "entry rank", fill="black", font=font)
    draw.text((8, top - 18), "records per entry", fill="black", font=font)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False)
    return out.getvalue()
