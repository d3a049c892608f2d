"""Give each panel its sub-caption: by label identity, reading order, or position words.

`align_status` says how each panel got its text:
- "label": the letter read on the panel names a caption part;
- "order": panels and caption labels (or parts) are as many, matched in reading order;
- "position": "Left: …", "Top row: …" matched to the panel's place in the layout;
- "unmarked": the caption names no panels, so every panel gets the whole caption;
- "unaligned": panels and caption could not be matched; the panel gets the whole caption.

`spans` are the pieces of the caption its sub-caption is made of (the whole caption when
the panel has no sub-caption of its own).
"""

from __future__ import annotations

from dataclasses import dataclass

from transforms.segment.panel_geometry import Box
from transforms.segment.subcaptions import CaptionSplit, Span


@dataclass(frozen=True)
class Alignment:
    label: str | None
    subcaption: str | None
    preamble: str | None
    status: str
    spans: tuple[Span, ...] = ()


def whole_caption(caption: str | None) -> tuple[Span, ...]:
    return ((0, len(caption)),) if caption else ()


def _rows(boxes: list[Box]) -> list[tuple[int, int, int, int]]:
    """(row, rows, column, columns) of each box, boxes being in reading order."""
    rows: list[list[int]] = []
    for index, box in enumerate(boxes):
        centre = (box[1] + box[3]) / 2
        if rows and boxes[rows[-1][0]][1] <= centre <= boxes[rows[-1][0]][3]:
            rows[-1].append(index)
        else:
            rows.append([index])
    place = [(0, 0, 0, 0)] * len(boxes)
    for r, row in enumerate(rows):
        for c, index in enumerate(row):
            place[index] = (r, len(rows), c, len(row))
    return place


def _matches(word: str, place: tuple[int, int, int, int]) -> bool:
    row, rows, col, cols = place
    checks = {
        "top": row == 0 and rows > 1,
        "upper": row == 0 and rows > 1,
        "bottom": row == rows - 1 and rows > 1,
        "lower": row == rows - 1 and rows > 1,
        "left": col == 0 and cols > 1,
        "right": col == cols - 1 and cols > 1,
        "middle": 0 < row < rows - 1 or 0 < col < cols - 1,
        "centre": 0 < row < rows - 1 or 0 < col < cols - 1,
        "center": 0 < row < rows - 1 or 0 < col < cols - 1,
    }
    return all(checks.get(w, False) for w in word.split())


def _letter_order(label: str) -> tuple[str, int]:
    digits = "".join(c for c in label[1:] if c.isdigit())
    return (label[:1].lower(), int(digits or 0))


def align(
    caption: str | None, split: CaptionSplit, labels: list[str | None], boxes: list[Box]
) -> list[Alignment]:
    """One Alignment per panel (panels in reading order, `labels` as read on them)."""
    n = len(boxes)
    preamble = split.preamble or None
    if not split.parts:
        whole = whole_caption(caption)
        return [Alignment(lab, caption, None, "unmarked", whole) for lab in labels]
    out: list[Alignment | None] = [None] * n
    used: set[str] = set()
    for i, lab in enumerate(labels):
        text = split.text_for(lab) if lab else None
        if text is not None:
            out[i] = Alignment(lab, text, preamble, "label", split.spans_for(lab) or ())
            used.add(lab.lower())
    rest = [i for i in range(n) if out[i] is None]
    if split.style == "position" and rest:
        places = _rows(boxes)
        for i in rest:
            parts = [p for p in split.parts if _matches(p.labels[0], places[i])]
            if parts:
                text = " ".join(p.text for p in parts)
                spans = tuple(span for p in parts for span in p.spans)
                out[i] = Alignment(labels[i], text, preamble, "position", spans)
    elif rest:
        # panels in reading order carry their letters in alphabetical order, whatever
        # order the caption names them in ("(A, C) … (B, D)")
        free = sorted((lab for lab in split.labels if lab.lower() not in used), key=_letter_order)
        parts = sorted(
            (p for p in split.parts if not used & {x.lower() for x in p.labels}),
            key=lambda p: _letter_order(p.labels[0]),
        )
        if len(free) == len(rest):
            for i, lab in zip(rest, free, strict=True):
                spans = split.spans_for(lab) or ()
                out[i] = Alignment(lab, split.text_for(lab), preamble, "order", spans)
        elif len(parts) == len(rest):
            for i, part in zip(rest, parts, strict=True):
                label = ",".join(part.labels)
                out[i] = Alignment(label, part.text, preamble, "order", part.spans)
    whole = whole_caption(caption)
    return [a or Alignment(labels[i], caption, None, "unaligned", whole) for i, a in enumerate(out)]
