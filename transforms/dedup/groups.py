"""Which copy to keep, and duplicate groups from pairwise links.

The keep rule, in this order: the image with more pixels; a caption over an empty one;
the later article version; the smaller key. `keep_rank` orders records by it, so the
first of a group is the one kept, whatever order the records arrived in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from transforms.dedup.hashes import caption_hash


@dataclass(frozen=True)
class Duplicate:
    key: str
    dup_of: str
    kind: str  # exact | phash | phash_crop | caption | image
    score: float  # Hamming distance for hashes, cosine for embeddings, 0 for exact

    def row(self) -> dict[str, Any]:
        return {"key": self.key, "dup_of": self.dup_of, "kind": self.kind, "score": self.score}


def has_image(record: dict[str, Any]) -> bool:
    image = record.get("image") or {}
    return bool(image.get("bytes")) and record.get("image_status", "ok") != "missing"


def pixels(record: dict[str, Any]) -> int:
    if not has_image(record):
        return 0
    return int(record.get("width") or 0) * int(record.get("height") or 0)


def article_version(record: dict[str, Any]) -> int:
    # figures carry no version column yet; a record that has one is ranked by it
    try:
        return int(record.get("article_version") or 0)
    except (TypeError, ValueError):
        return 0


def keep_rank(record: dict[str, Any]) -> tuple[int, int, int, str]:
    """Smaller is kept: more pixels, then a caption, then a later version, then the key."""
    has_caption = caption_hash(record.get("caption")) is not None
    return (-pixels(record), -int(has_caption), -article_version(record), record["key"])


class UnionFind:
    """Groups over item indices; the root is always the index with the smallest rank."""

    def __init__(self, ranks: list[Any]) -> None:
        self.ranks = ranks
        self.parent = list(range(len(ranks)))

    def find(self, item: int) -> int:
        root = item
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[item] != root:
            self.parent[item], item = root, self.parent[item]
        return root

    def union(self, a: int, b: int) -> None:
        root_a, root_b = self.find(a), self.find(b)
        if root_a == root_b:
            return
        if self.ranks[root_b] < self.ranks[root_a]:
            root_a, root_b = root_b, root_a
        self.parent[root_b] = root_a


def resolve_links(
    keys: list[str], ranks: list[Any], links: Iterable[tuple[int, int, str, float]]
) -> dict[str, Duplicate]:
    """Removed key -> Duplicate(dup_of = its group's best-ranked member).

    Each removed record reports the link that joined it first (links are taken in the
    order given, so callers pass them sorted: exact before perceptual, then by index).
    """
    groups = UnionFind(ranks)
    first_link: dict[int, tuple[str, float]] = {}
    for a, b, kind, score in links:
        first_link.setdefault(a, (kind, score))
        first_link.setdefault(b, (kind, score))
        groups.union(a, b)
    removed: dict[str, Duplicate] = {}
    for item, (kind, score) in sorted(first_link.items()):
        root = groups.find(item)
        if root != item:
            removed[keys[item]] = Duplicate(keys[item], keys[root], kind, score)
    return removed


def attach_to_best(
    members: list[int],
    candidates: dict[int, list[int]],
    ranks: list[Any],
    keys: list[str],
    kind: str,
    scores: dict[tuple[int, int], float] | None = None,
) -> dict[str, Duplicate]:
    """Star links: each member is a duplicate of its best-ranked candidate, if better than it.

    Used for caption-only records, which never join image records into one group:
    a stock caption shared by two different images must not merge those images.
    """
    removed: dict[str, Duplicate] = {}
    for member in members:
        better = [c for c in candidates.get(member, []) if ranks[c] < ranks[member]]
        if better:
            best = min(better, key=lambda c: ranks[c])
            score = (scores or {}).get((member, best), 1.0)
            removed[keys[member]] = Duplicate(keys[member], keys[best], kind, score)
    return removed


def compress_chains(
    removed: dict[str, Duplicate], elsewhere: dict[str, Duplicate] | None = None
) -> dict[str, Duplicate]:
    """Point every record of `removed` at a kept one, following chains through `removed`
    and then `elsewhere` (ranks fall along a chain, so it ends)."""
    elsewhere = elsewhere or {}
    out: dict[str, Duplicate] = {}
    for key, dup in removed.items():
        target = dup.dup_of
        seen = {key}
        while target not in seen:
            seen.add(target)
            step = removed.get(target) or elsewhere.get(target)
            if step is None:
                break
            target = step.dup_of
        out[key] = Duplicate(key, target, dup.kind, dup.score)
    return out
