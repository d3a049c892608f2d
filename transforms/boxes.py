"""Box arithmetic shared by figure segmentation (pixel boxes) and PDF layout (points).

A box is `(x0, y0, x1, y1)` with int or float coordinates; results keep that type.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
Number = int | float
AnyBox = tuple[Number, Number, Number, Number]


def area(box: AnyBox) -> Number:
    return max(0, box[2] - box[0]) * max(0, box[3] - box[1])


def intersection(a: AnyBox, b: AnyBox) -> Number:
    return max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))


def union(a: AnyBox, b: AnyBox) -> AnyBox:
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def iou(a: AnyBox, b: AnyBox) -> float:
    inter = intersection(a, b)
    total = area(a) + area(b) - inter
    return inter / total if total else 0.0


def merge_until_stable(
    items: list[T], should_merge: Callable[[T, T], bool], merge: Callable[[T, T], T]
) -> list[T]:
    """Merge the first pair that should merge, and start again, until no pair should."""
    items = list(items)
    changed = True
    while changed:
        changed = False
        for i in range(len(items)):
            for j in range(i + 1, len(items)):
                if should_merge(items[i], items[j]):
                    items[i] = merge(items[i], items[j])
                    del items[j]
                    changed = True
                    break
            if changed:
                break
    return items
