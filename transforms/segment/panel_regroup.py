"""Tiles of an XY-cut grouped into as many panels as the caption names, and the test for a
clean grid of similar tiles.

When the caption names N panels and the image gave more tiles, the tiles are grouped into
N rectangles that a straight cut can separate (rows, columns and their nesting, as panels
are laid out). Letters read in the image constrain it: a letter heads its group and no
group holds two, so a grid under "A" beside charts under "B" becomes the A region and the
B region. Of the groupings that give N, the one with the most groups headed by a letter
wins, then the one whose weakest separating gutter is widest: tiles of one panel sit
closer together than panels do. Where straight cuts cannot separate the tiles, the nearest
groups merge instead.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np

from transforms.boxes import area, intersection, union
from transforms.segment.panel_geometry import Box, gap, reading_order

# a grouping's score, higher is better: groups that hold a letter, then the weakest gutter
# between groups
Score = tuple[int, float]
SLIVER = 0.2  # share of a box's extent a neighbour may overlap and still be cut from it
SIMILAR = 0.3  # tiles within this share of the median width and height are alike
OVERLAP = 0.45  # share of a tile another group's box may cover without taking it in
MAX_TILES = 48  # beyond this the search is not tried (a grid that large names no count)


def strips(boxes: list[Box], members: tuple[int, ...], axis: int) -> list[tuple[int, ...]]:
    """`members` in bands along `axis` (0: columns by x, 1: rows by y) that no box spans,
    each band with the index tuple of its boxes, in order. Boxes that overlap by a sliver
    (a neighbour's letter or axis title taken in) still fall into separate bands."""
    lo, hi = (0, 2) if axis == 0 else (1, 3)
    order = sorted(members, key=lambda i: boxes[i][lo])
    bands: list[list[int]] = []
    reach, reacher = 0, 0
    for i in order:
        extent = min(boxes[i][hi] - boxes[i][lo], reacher)
        if not bands or boxes[i][lo] >= reach - max(2, SLIVER * extent):
            bands.append([i])
            reach, reacher = boxes[i][hi], boxes[i][hi] - boxes[i][lo]
        else:
            bands[-1].append(i)
            if boxes[i][hi] > reach:
                reach, reacher = boxes[i][hi], boxes[i][hi] - boxes[i][lo]
    return [tuple(sorted(b)) for b in bands]


def band_gap(boxes: list[Box], a: tuple[int, ...], b: tuple[int, ...], axis: int) -> float:
    lo, hi = (0, 2) if axis == 0 else (1, 3)
    return max(0, min(boxes[i][lo] for i in b) - max(boxes[i][hi] for i in a))


def lettered_right(boxes: list[Box], letters: list[str | None], members: tuple[int, ...]) -> bool:
    """At most one letter in a group, on its top-left tile: a letter heads its panel."""
    lettered = [i for i in members if letters[i]]
    if not lettered:
        return True
    if len({letters[i].lower() for i in lettered}) > 1:  # type: ignore[union-attr]
        return False
    head = boxes[lettered[0]]
    x0 = min(boxes[i][0] for i in members)
    y0 = min(boxes[i][1] for i in members)
    slack = 0.1 * max(head[2] - head[0], head[3] - head[1])
    return head[0] <= x0 + slack and head[1] <= y0 + slack


class Grouper:
    """Best grouping of tiles into k guillotine regions, at most one letter in each."""

    def __init__(self, boxes: list[Box], letters: list[str | None]) -> None:
        self.boxes = boxes
        self.letters = [lab.lower() if lab else None for lab in letters]
        self.best = lru_cache(maxsize=None)(self._best)

    def _ok(self, members: tuple[int, ...]) -> bool:
        return lettered_right(self.boxes, self.letters, members)

    def _best(self, members: tuple[int, ...], k: int) -> tuple[Score | None, tuple]:
        """(score, groups) of the best grouping of `members` into k; score None: none."""
        if k == 1:
            if not self._ok(members):
                return None, ()
            return (int(any(self.letters[i] for i in members)), float("inf")), (members,)
        if k > len(members):
            return None, ()
        best: tuple[Score | None, tuple] = (None, ())
        for axis in (0, 1):
            bands = strips(self.boxes, members, axis)
            if len(bands) < 2:
                continue
            found = self._over_bands(bands, axis, k)
            if found[0] is not None and (best[0] is None or found[0] > best[0]):
                best = found
        return best

    def _over_bands(
        self, bands: list[tuple[int, ...]], axis: int, k: int
    ) -> tuple[Score | None, tuple]:
        """Runs of consecutive bands, each run grouped on its own, k groups in all."""
        n = len(bands)
        # table[i][j]: best grouping of bands[:i] into j groups, runs ending at i
        table: list[dict[int, tuple[Score, tuple]]] = [{} for _ in range(n + 1)]
        table[0][0] = ((0, float("inf")), ())
        for i in range(1, n + 1):
            for p in range(i):
                run = tuple(sorted(m for band in bands[p:i] for m in band))
                cut = band_gap(self.boxes, bands[p - 1], bands[p], axis) if p else float("inf")
                for j_before, (s_before, g_before) in table[p].items():
                    for j_run in range(1, k - j_before + 1):
                        if i == n and j_before + j_run != k:
                            continue
                        if p == 0 and i == n and j_run == k:
                            continue  # the whole node again: no cut made at this level
                        s_run, g_run = self.best(run, j_run)
                        if s_run is None:
                            continue
                        s = (s_before[0] + s_run[0], min(s_before[1], cut, s_run[1]))
                        j = j_before + j_run
                        if j not in table[i] or s > table[i][j][0]:
                            table[i][j] = (s, g_before + g_run)
        found = table[n].get(k)
        return found if found is not None else (None, ())


def group_to_count(
    boxes: list[Box], letters: list[str | None], k: int
) -> tuple[list[Box], list[str | None]] | None:
    """The tiles grouped into k panels (reading order, each with its letter), or None when
    no grouping satisfies the letters or the search is too large."""
    if not 2 <= k < len(boxes) <= MAX_TILES:
        return None
    # straight cuts with the letters, then nearest merges with them, then cuts without
    unlettered: list[str | None] = [None] * len(boxes)
    groups = Grouper(boxes, letters).best(tuple(range(len(boxes))), k)[1]
    use_letters = bool(groups)
    if not groups:
        groups = nearest_merges(boxes, letters, k) or ()
        use_letters = bool(groups)
    if not groups:
        groups = Grouper(boxes, unlettered).best(tuple(range(len(boxes))), k)[1]
    if not groups:
        return None
    merged: dict[Box, str | None] = {}
    for group in groups:
        box = boxes[group[0]]
        for i in group[1:]:
            box = union(box, boxes[i])
        found = [letters[i] for i in group if letters[i]]
        merged[box] = found[0] if found and use_letters else None
    order = reading_order(list(merged))
    return order, [merged[b] for b in order]


def nearest_merges(
    boxes: list[Box], letters: list[str | None], k: int
) -> tuple[tuple[int, ...], ...] | None:
    """Where no straight cuts separate the tiles (a non-guillotine layout): merge the
    closest two groups whose union (with every group its box overlaps) keeps a letter at
    its head and no second letter, until k groups remain; None when that stalls."""
    groups = [(i,) for i in range(len(boxes))]

    def box_of(group: tuple[int, ...]) -> Box:
        out = boxes[group[0]]
        for i in group[1:]:
            out = union(out, boxes[i])
        return out

    while len(groups) > k:
        pairs = sorted(
            (gap(box_of(a), box_of(b)), n, m)
            for n, a in enumerate(groups)
            for m, b in enumerate(groups[n + 1 :], start=n + 1)
        )
        for _, n, m in pairs:
            merged = _closure(
                groups[n] + groups[m], [g for j, g in enumerate(groups) if j not in (n, m)], box_of
            )
            if len(merged) >= k and lettered_right(boxes, letters, merged[-1]):
                groups = merged
                break
        else:
            return None
    return tuple(groups)


def _closure(
    joined: tuple[int, ...], rest: list[tuple[int, ...]], box_of: Callable[[tuple[int, ...]], Box]
) -> list[tuple[int, ...]]:
    """The groups after `joined` takes in every group its box overlaps (beyond the slivers
    that absorbed letters and axis titles leave), it last."""
    while True:
        box = box_of(joined)
        hit = [g for g in rest if intersection(box, box_of(g)) > OVERLAP * area(box_of(g))]
        if not hit:
            return [*rest, tuple(sorted(joined))]
        joined = joined + tuple(i for g in hit for i in g)
        rest = [g for g in rest if g not in hit]


def clean_grid(boxes: list[Box], ink: np.ndarray, connectors: list[Box], tol: float = 0.2) -> bool:
    """Two or more tiles in full rows and columns, centred on one lattice, none more than
    half as large again as the typical one, with nothing between neighbours: neither
    background ink nor a connector (an arrow between the structures of a scheme, a line
    from a chart to its legend). A drawing whose parts merely lie apart is not a grid."""
    if len(boxes) < 2:
        return False
    widths = [b[2] - b[0] for b in boxes]
    heights = [b[3] - b[1] for b in boxes]
    mw, mh = float(np.median(widths)), float(np.median(heights))
    members = tuple(range(len(boxes)))
    rows, cols = strips(boxes, members, 1), strips(boxes, members, 0)
    if len(rows) * len(cols) != len(boxes):
        return False
    similar = all(abs(w - mw) <= SIMILAR * mw for w in widths) and all(
        abs(h - mh) <= SIMILAR * mh for h in heights
    )
    # tiles of unlike sizes (objects rendered on the page's colour) make a grid only in
    # two or more full rows and columns, evenly spaced
    if not similar and not (len(rows) >= 2 and len(cols) >= 2 and _even(boxes, rows, cols)):
        return False
    for band, axis in [(r, 1) for r in rows] + [(c, 0) for c in cols]:
        centres = [(boxes[i][axis] + boxes[i][axis + 2]) / 2 for i in band]
        if max(centres) - min(centres) > tol * (mh if axis == 1 else mw):
            return False
    if any(_between(boxes, c) for c in connectors):
        return False
    return all(_clear_between(boxes, row, 0, ink) for row in rows) and all(
        _clear_between(boxes, col, 1, ink) for col in cols
    )


def _even(boxes: list[Box], rows: list[tuple[int, ...]], cols: list[tuple[int, ...]]) -> bool:
    """Row and column centres evenly spaced (within a tenth of the spacing)."""
    for bands, axis in ((rows, 1), (cols, 0)):
        centres = [
            float(np.mean([(boxes[i][axis] + boxes[i][axis + 2]) / 2 for i in b])) for b in bands
        ]
        steps = np.diff(centres)
        if steps.size and float(steps.max() - steps.min()) > 0.1 * float(steps.mean()):
            return False
    return True


def _between(boxes: list[Box], piece: Box) -> bool:
    """Whether `piece` lies in a gutter: outside every tile's core, beside two of them."""
    cx, cy = (piece[0] + piece[2]) / 2, (piece[1] + piece[3]) / 2
    left = any(b[2] <= cx and b[1] <= cy <= b[3] for b in boxes)
    right = any(b[0] >= cx and b[1] <= cy <= b[3] for b in boxes)
    above = any(b[3] <= cy and b[0] <= cx <= b[2] for b in boxes)
    below = any(b[1] >= cy and b[0] <= cx <= b[2] for b in boxes)
    return (left and right) or (above and below)


def _clear_between(boxes: list[Box], band: tuple[int, ...], axis: int, ink: np.ndarray) -> bool:
    """No ink in the gutters between consecutive tiles of one row (axis 0) or column."""
    lo, hi = (0, 2) if axis == 0 else (1, 3)
    order = sorted(band, key=lambda i: boxes[i][lo])
    for a, b in zip(order, order[1:], strict=False):
        start, stop = boxes[a][hi], boxes[b][lo]
        if stop <= start:
            continue
        if axis == 0:
            y0, y1 = max(boxes[a][1], boxes[b][1]), min(boxes[a][3], boxes[b][3])
            region = ink[y0:y1, start:stop]
        else:
            x0, x1 = max(boxes[a][0], boxes[b][0]), min(boxes[a][2], boxes[b][2])
            region = ink[start:stop, x0:x1]
        if region.size and float(region.mean()) > 0.01:
            return False
    return True
