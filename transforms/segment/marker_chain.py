"""The heaviest increasing run of panel markers, in O(m log m) for m markers.

A run starts at "a"/"A", keeps one case, and its markers' first labels ascend and do not
overlap. Each marker's best run ends at the best earlier marker that has ended before it
starts and whose first label orders lower, so a prefix-maximum tree over label order
(26 letters x 100 sub-numbers per case) answers what a scan of every earlier marker did,
with the same ties: the highest score, then the earliest marker.
"""

from __future__ import annotations

import heapq
import re
from dataclasses import dataclass

_LABEL_RE = re.compile(r"([A-Za-z])([0-9]{1,2})?")
_ORDERS = 26 * 100  # letter x sub-number
_NONE = (-1, 0)  # a tree slot no marker has reached


@dataclass(frozen=True)
class Marker:
    start: int
    end: int
    labels: tuple[str, ...]
    weight: int  # 3 at a sentence start, 1 inside a sentence
    strong: bool = False  # "(A) Text", "A. Text", "A) Text" at a sentence start

    @property
    def first(self) -> tuple[int, int]:
        return label_order(self.labels[0])

    @property
    def upper(self) -> bool:
        return self.labels[0][0].isupper()


def label_order(label: str) -> tuple[int, int]:
    m = _LABEL_RE.fullmatch(label)
    if m is None:
        return (-1, 0)
    return (ord(m.group(1).lower()) - ord("a"), int(m.group(2) or 0))


class _PrefixMax:
    """Fenwick tree of (score, -index) over label orders: the best entry below an order."""

    def __init__(self) -> None:
        self.tree = [_NONE] * (_ORDERS + 1)

    def add(self, order: int, value: tuple[int, int]) -> None:
        at = order + 1
        while at <= _ORDERS:
            if value > self.tree[at]:
                self.tree[at] = value
            at += at & -at

    def best_below(self, order: int) -> tuple[int, int]:
        best, at = _NONE, order  # orders 0 .. order-1 are slots 1 .. order
        while at > 0:
            if self.tree[at] > best:
                best = self.tree[at]
            at -= at & -at
        return best


def best_chain(markers: list[Marker]) -> list[Marker]:
    """Heaviest increasing run of markers (sorted by start) starting at 'a'/'A'."""
    best: list[tuple[int, int]] = []  # (score, previous index) per marker
    trees = {True: _PrefixMax(), False: _PrefixMax()}  # by case
    ended: list[tuple[int, int]] = []  # heap of (end, index) not yet in a tree
    for i, m in enumerate(markers):
        while ended and ended[0][0] <= m.start:
            _, j = heapq.heappop(ended)
            if best[j][0] >= 0:
                letter, number = markers[j].first
                trees[markers[j].upper].add(letter * 100 + number, (best[j][0], -j))
        score, prev = (m.weight, -1) if m.first == (0, 0) else (-1, -1)
        letter, number = m.first
        if letter >= 0:
            found, negative_j = trees[m.upper].best_below(letter * 100 + number)
            if found >= 0 and found + m.weight > score:
                score, prev = found + m.weight, -negative_j
        best.append((score, prev))
        heapq.heappush(ended, (m.end, i))
    if not best:
        return []
    end = max(range(len(best)), key=lambda i: (best[i][0], -i))
    chain: list[Marker] = []
    while end >= 0 and best[end][0] >= 0:
        chain.append(markers[end])
        end = best[end][1]
    chain.reverse()
    if all(m.weight < 2 for m in chain):
        return []
    if sum(len(m.labels) for m in chain) < 2 and not chain[0].strong:
        return []
    return chain
