"""Drawn chart panels (bar, line, scatter, gel, Kaplan–Meier) with Pillow alone.

Each function draws one panel of an exact size from a seeded `random.Random`, so
the demo corpus is the same byte for byte for the same seed.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from PIL import Image, ImageDraw, ImageFilter, ImageFont

INK = (30, 30, 30)
GRID = (215, 215, 215)
SERIES = [(31, 119, 180), (214, 39, 40), (44, 160, 44), (148, 103, 189)]
GROUPS = ["Ctrl", "KO", "Tx", "KO+Tx", "Veh", "Dose"]


def font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


def _axes(
    draw: ImageDraw.ImageDraw, w: int, h: int, ymax: float, ticks: int = 4
) -> tuple[int, int, int, int]:
    """Draw y axis with ticks and x axis; return the plot box (x0, y0, x1, y1)."""
    small = font(max(9, h // 22))
    x0, y0, x1, y1 = int(w * 0.18), int(h * 0.16), w - int(w * 0.05), h - int(h * 0.16)
    for i in range(ticks + 1):
        y = y1 - (y1 - y0) * i / ticks
        draw.line([(x0 - 4, y), (x0, y)], fill=INK, width=1)
        value = ymax * i / ticks
        text = f"{value:.1f}" if ymax < 10 else f"{value:.0f}"
        draw.text((x0 - 6, y), text, fill=INK, font=small, anchor="rm")
    draw.line([(x0, y0), (x0, y1), (x1, y1)], fill=INK, width=2)
    return x0, y0, x1, y1


def bar_chart(rng: random.Random, w: int, h: int) -> Image.Image:
    img = Image.new("RGB", (w, h), "white")
    draw = ImageDraw.Draw(img)
    n = rng.randint(2, 4)
    means = [rng.uniform(0.8, 4.5) for _ in range(n)]
    errs = [m * rng.uniform(0.05, 0.2) for m in means]
    ymax = 5.0
    x0, y0, x1, y1 = _axes(draw, w, h, ymax)
    slot = (x1 - x0) / n
    small = font(max(9, h // 20))
    for i, (m, e) in enumerate(zip(means, errs, strict=True)):
        cx = x0 + slot * (i + 0.5)
        top = y1 - (y1 - y0) * m / ymax
        draw.rectangle([cx - slot * 0.3, top, cx + slot * 0.3, y1], fill=SERIES[i % 4], outline=INK)
        etop, ebot = y1 - (y1 - y0) * (m + e) / ymax, y1 - (y1 - y0) * (m - e) / ymax
        draw.line([(cx, etop), (cx, ebot)], fill=INK, width=1)
        draw.line([(cx - 5, etop), (cx + 5, etop)], fill=INK, width=1)
        draw.text((cx, y1 + 4), GROUPS[i], fill=INK, font=small, anchor="mt")
        if m > means[0] * 1.5:
            draw.text((cx, etop - 3), "*", fill=INK, font=small, anchor="mb")
    return img


def line_chart(rng: random.Random, w: int, h: int) -> Image.Image:
    img = Image.new("RGB", (w, h), "white")
    draw = ImageDraw.Draw(img)
    x0, y0, x1, y1 = _axes(draw, w, h, 100.0)
    steps = 7
    for s in range(rng.randint(2, 3)):
        level, slope = rng.uniform(10, 40), rng.uniform(-4, 10)
        points = []
        for t in range(steps):
            v = min(95.0, max(3.0, level + slope * t + rng.uniform(-5, 5)))
            points.append((x0 + (x1 - x0) * t / (steps - 1), y1 - (y1 - y0) * v / 100.0))
        draw.line(points, fill=SERIES[s], width=2)
        for px, py in points:
            draw.ellipse([px - 3, py - 3, px + 3, py + 3], fill=SERIES[s])
    small = font(max(9, h // 20))
    draw.text(((x0 + x1) / 2, y1 + 4), "time (h)", fill=INK, font=small, anchor="mt")
    return img


def scatter_plot(rng: random.Random, w: int, h: int) -> Image.Image:
    img = Image.new("RGB", (w, h), "white")
    draw = ImageDraw.Draw(img)
    x0, y0, x1, y1 = _axes(draw, w, h, 1.0)
    slope = rng.uniform(0.4, 0.9)
    for _ in range(rng.randint(25, 45)):
        x = rng.uniform(0.05, 0.95)
        y = min(0.98, max(0.02, 0.05 + slope * x + rng.gauss(0, 0.08)))
        px, py = x0 + (x1 - x0) * x, y1 - (y1 - y0) * y
        draw.ellipse([px - 3, py - 3, px + 3, py + 3], outline=SERIES[0], fill=(174, 199, 232))
    draw.line(
        [(x0, y1 - (y1 - y0) * 0.05), (x1, y1 - (y1 - y0) * (0.05 + slope))],
        fill=SERIES[1],
        width=2,
    )
    return img


def gel_blot(rng: random.Random, w: int, h: int) -> Image.Image:
    """A western-blot-like strip: lanes of dark blurred bands on light grey."""
    img = Image.new("L", (w, h), 232)
    draw = ImageDraw.Draw(img)
    lanes = rng.randint(4, 6)
    left, top = int(w * 0.2), int(h * 0.14)
    lane_w = (w - left - 8) / lanes
    rows = [top + (h - top) * f for f in (0.15, 0.45, 0.78)]
    for row, y in enumerate(rows):
        for lane in range(lanes):
            strength = rng.uniform(0.3, 1.0) if row < 2 else 0.9  # last row: loading control
            shade = int(230 - 200 * strength)
            cx = left + lane_w * (lane + 0.5)
            draw.rectangle([cx - lane_w * 0.38, y - 4, cx + lane_w * 0.38, y + 4], fill=shade)
    img = img.filter(ImageFilter.GaussianBlur(2.2))
    draw = ImageDraw.Draw(img)
    small = font(max(9, h // 16))
    for lane in range(lanes):
        cx = left + lane_w * (lane + 0.5)
        draw.text((cx, top - 4), "+" if lane % 2 else "-", fill=20, font=small, anchor="mb")
    for y, name in zip(rows, ("p-ERK", "ERK", "GAPDH"), strict=True):
        draw.text((left - 6, y), name, fill=20, font=small, anchor="rm")
    return img.convert("RGB")


def kaplan_meier(rng: random.Random, w: int, h: int) -> Image.Image:
    img = Image.new("RGB", (w, h), "white")
    draw = ImageDraw.Draw(img)
    x0, y0, x1, y1 = _axes(draw, w, h, 1.0)
    for s, hazard in enumerate((rng.uniform(0.02, 0.05), rng.uniform(0.07, 0.14))):
        surv, t, points = 1.0, 0.0, [(x0, y0)]
        while t < 1.0 and surv > 0.05:
            t += rng.uniform(0.03, 0.09)
            x = x0 + (x1 - x0) * min(t, 1.0)
            points.append((x, y1 - (y1 - y0) * surv))
            surv *= 1 - hazard * rng.uniform(0.5, 1.5)
            points.append((x, y1 - (y1 - y0) * surv))
            if rng.random() < 0.3:  # a censored case
                draw.line([(x, points[-1][1] - 4), (x, points[-1][1] + 4)], fill=SERIES[s])
        draw.line(points, fill=SERIES[s], width=2)
    small = font(max(9, h // 20))
    draw.text((x1 - 4, y0 + 2), "high", fill=SERIES[0], font=small, anchor="rt")
    draw.text((x1 - 4, y0 + 2 + h // 16), "low", fill=SERIES[1], font=small, anchor="rt")
    draw.text(((x0 + x1) / 2, y1 + 4), "months", fill=INK, font=small, anchor="mt")
    return img


CHARTS: dict[str, Callable[[random.Random, int, int], Image.Image]] = {
    "bar": bar_chart,
    "line": line_chart,
    "scatter": scatter_plot,
    "gel": gel_blot,
    "km": kaplan_meier,
}
