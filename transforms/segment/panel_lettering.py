"""Panel letters matched to panel boxes: which letters read at the corners are a real set of
panel labels, which panel each belongs to, and the unlettered blocks that join them."""

from __future__ import annotations

import numpy as np

from transforms.boxes import iou, union
from transforms.segment.panel_geometry import Box, gap
from transforms.segment.panel_labels import LabelHit, find_label, find_labels
from transforms.segment.panel_types import CaptionHints

SAME_SHAPE = set("cosuvwxz")  # letters whose capital is the small one enlarged


def letter_panels(
    gray: np.ndarray, boxes: list[Box], light_background: bool, hints: CaptionHints
) -> tuple[list[Box], list[str | None]]:
    """Read the letters at the panels' corners, keep a plausible set, and grow each lettered
    panel over its letter and its unlettered blocks. The caption's letters narrow what a
    letter may be read as; when it allows none, nothing is read."""
    allowed = set(hints.letters) if hints.letters is not None else None
    labels: list[str | None] = [None] * len(boxes)
    if allowed is not None and not allowed:
        return boxes, labels
    h, w = gray.shape
    side = max(h, w)
    glyph = (max(7, side // 90), max(16, side // 18))
    hits = assign_labels(boxes, find_labels(gray, glyph, light_background, allowed))
    hits = [
        hit or find_label(gray, box, glyph, allowed) for hit, box in zip(hits, boxes, strict=True)
    ]
    labels = plausible_labels(
        [hit.text if hit else None for hit in hits], [hit.score if hit else 0.0 for hit in hits]
    )
    # a panel's box takes in its letter
    boxes = [
        union(box, hit.bbox) if hit and lab else box
        for box, hit, lab in zip(boxes, hits, labels, strict=True)
    ]
    return group_by_labels(boxes, labels, hints.named)


def caption_letters(
    gray: np.ndarray, boxes: list[Box], light_background: bool, hints: CaptionHints
) -> list[str | None]:
    """The letters the caption names, read at the tiles' top-left corners, each on one tile
    (its best reading). No share of lettered tiles is asked for, as `plausible_labels`
    does: the caption already says these letters label panels, and an over-cut figure has
    many unlettered tiles."""
    if not hints.letters:
        return [None] * len(boxes)
    side = max(gray.shape)
    glyph = (max(7, side // 90), max(16, side // 18))
    hits = assign_labels(boxes, find_labels(gray, glyph, light_background, set(hints.letters)))
    named = {c.lower() for c in hints.letters}
    best: dict[str, int] = {}
    for i, hit in enumerate(hits):
        if hit and hit.text.lower() in named:
            key = hit.text.lower()
            if key not in best or hit.score > hits[best[key]].score:  # type: ignore[union-attr]
                best[key] = i
    out: list[str | None] = [None] * len(boxes)
    for i in best.values():
        out[i] = hits[i].text  # type: ignore[union-attr]
    return out


def plausible_labels(
    labels: list[str | None], scores: list[float] | None = None
) -> list[str | None]:
    """Keep the letters that read as a set of panel labels: of the majority case, each
    letter once (the best-matching copy), none far beyond the count found ("H" among four
    letters). All are dropped when fewer than two, than a third of the panels, or than half
    of the letters read remain. Reading order is not required: irregular layouts break it."""
    scores = scores or [1.0] * len(labels)
    found = [lab for lab in labels if lab]
    if len(found) < 2:
        return [None] * len(labels)
    upper = sum(lab.isupper() for lab in found) * 2 >= len(found)
    # "c" and "C", "o" and "O" … differ only in size: take the majority's case for those
    labels = [
        (lab.upper() if upper else lab.lower()) if lab and lab.lower() in SAME_SHAPE else lab
        for lab in labels
    ]
    best: dict[str, int] = {}
    for i, lab in enumerate(labels):
        if lab and lab.isupper() == upper and (lab not in best or scores[i] > scores[best[lab]]):
            best[lab] = i
    top = len(best) + 1
    keep = {i for lab, i in best.items() if ord(lab.lower()) - ord("a") <= top}
    if len(keep) < max(2, len(labels) / 3) or 2 * len(keep) < len(found):
        return [None] * len(labels)
    return [lab if i in keep else None for i, lab in enumerate(labels)]


def group_by_labels(
    boxes: list[Box], labels: list[str | None], named: frozenset[str]
) -> tuple[list[Box], list[str | None]]:
    """Unlettered blocks join the lettered panel above or left of them, but only when every
    letter was read (all the caption names, else "a" to the last one found): a missed
    letter would hand its panel to the wrong owner."""
    owners = [i for i, lab in enumerate(labels) if lab]
    letters = sorted(labels[i].lower() for i in owners)
    expected = sorted(named) if named else [chr(ord("a") + k) for k in range(len(letters))]
    if len(owners) < 2 or letters != expected:
        return boxes, labels
    grouped = {i: boxes[i] for i in owners}
    for i, box in enumerate(boxes):
        if labels[i]:
            continue
        cands = [j for j in owners if boxes[j][0] <= box[0] + 4 and boxes[j][1] <= box[1] + 4]
        if not cands:
            grouped[i] = box
            continue
        j = min(cands, key=lambda j: gap(boxes[j], box))
        grown = union(grouped[j], box)
        if any(iou(grown, grouped[k]) > 0 for k in owners if k != j):
            grouped[i] = box  # joining would swallow another lettered panel
        else:
            grouped[j] = grown
    keys = sorted(grouped)
    return [grouped[k] for k in keys], [labels[k] for k in keys]


def assign_labels(boxes: list[Box], hits: list[LabelHit]) -> list[LabelHit | None]:
    """Each letter to the panel whose top-left corner it sits at (above, left of or just
    inside it), nearest pairs first; one letter per panel."""
    pairs = []
    for j, hit in enumerate(hits):
        hx0, hy0, hx1, hy1 = hit.bbox
        size = hy1 - hy0
        for i, (x0, y0, x1, y1) in enumerate(boxes):
            if hx1 < x0 - 4 * size or hx0 > x0 + 0.3 * (x1 - x0):
                continue
            if hy1 < y0 - 4 * size or hy0 > y0 + 0.3 * (y1 - y0):
                continue
            pairs.append((abs(hx0 - x0) + abs(hy0 - y0), i, j))
    out: list[LabelHit | None] = [None] * len(boxes)
    used: set[int] = set()
    for _, i, j in sorted(pairs):
        if out[i] is None and j not in used:
            out[i] = hits[j]
            used.add(j)
    return out
