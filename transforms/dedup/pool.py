"""The whole-pool pass: exact and perceptual duplicates across the pool, and clusters.

The combine keeps one compact row per record (key, keep rank, sha256, 64-bit pHash,
caption hash: about 200 bytes in Python, some 5 GB at 24M records, so the pass runs on
one high-memory worker) and a bounded, seeded sample of caption vectors for k-means (the
vectors prepare made on every worker: the pass itself embeds nothing). Its output,
the unit function's side input, holds only what the units need:

- `removed`: key -> Duplicate for every record that is an exact (same sha256) or
  perceptual (pHash within `phash_radius`, FAISS binary range search) copy of a better
  one anywhere in the pool, and for caption-only records whose normalised caption a
  better record has (star links: a stock caption never joins two images);
- `clusters`: SemDeDup centroids when the pool outgrows one exact search, else None;
- `big_caption_groups`: caption hashes too common to sit in one unit with `--embed none`.
"""

from __future__ import annotations

import hashlib
import heapq
import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from transforms.dedup.clusters import ClusterModel, build_clusters, caption_vector
from transforms.dedup.config import DedupConfig
from transforms.dedup.decontam import EvalSet, load_eval_set
from transforms.dedup.groups import (
    Duplicate,
    attach_to_best,
    compress_chains,
    has_image,
    keep_rank,
    resolve_links,
)
from transforms.dedup.hashes import hex_bits
from transforms.dedup.search import hamming_pairs

log = logging.getLogger(__name__)

# key, keep rank, sha256, pHash (int or None), caption hash, has image
PoolRow = tuple[str, tuple, str | None, int | None, str | None, bool]


def sample_weight(key: str, seed: int) -> int:
    """A seeded 64-bit hash of the key: the k-means sample is the smallest of these."""
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8, salt=seed.to_bytes(8, "big"))
    return int.from_bytes(digest.digest(), "big")


@dataclass
class PoolAccumulator:
    rows: list[PoolRow] = field(default_factory=list)
    # (sample weight, key, packed caption vector), at most config.kmeans_sample of the
    # smallest weights
    sample: list[tuple[int, str, bytes]] = field(default_factory=list)


@dataclass
class DedupPool:
    size: int
    removed: dict[str, Duplicate]
    clusters: ClusterModel | None
    big_caption_groups: frozenset[str]
    eval_set: EvalSet | None


class DedupPoolCombine:
    """Plain combine (the pipeline wraps it in a beam.CombineFn) over prepared records."""

    def __init__(self, config: DedupConfig) -> None:
        self.config = config

    def create_accumulator(self) -> PoolAccumulator:
        return PoolAccumulator()

    def add_input(self, acc: PoolAccumulator, record: dict[str, Any]) -> PoolAccumulator:
        phash = record.get("image_phash")
        image = has_image(record)
        acc.rows.append(
            (
                record["key"],
                keep_rank(record),
                record.get("image_sha256") if image else None,
                hex_bits(phash) if phash else None,
                record.get("caption_hash"),
                image,
            )
        )
        if self.config.embed == "caption" and record.get("caption_hash"):
            weight = -sample_weight(record["key"], self.config.seed)
            if len(acc.sample) < self.config.kmeans_sample or weight > acc.sample[0][0]:
                item = (weight, record["key"], caption_vector(record, self.config))
                if len(acc.sample) < self.config.kmeans_sample:
                    heapq.heappush(acc.sample, item)
                else:
                    heapq.heapreplace(acc.sample, item)
        return acc

    def merge_accumulators(self, accs: list[PoolAccumulator]) -> PoolAccumulator:
        merged = PoolAccumulator()
        for acc in accs:
            merged.rows.extend(acc.rows)
            merged.sample.extend(acc.sample)
        if len(merged.sample) > self.config.kmeans_sample:
            merged.sample = heapq.nlargest(self.config.kmeans_sample, merged.sample)
        heapq.heapify(merged.sample)
        return merged

    def extract_output(self, acc: PoolAccumulator) -> DedupPool:
        rows = sorted(acc.rows, key=lambda row: row[0])
        removed = pool_duplicates(rows, self.config)
        clusters = None
        if self.config.embed == "caption" and len(rows) > self.config.exact_limit:
            vectors = [vector for _, _, vector in sorted(acc.sample, key=lambda s: s[1])]
            clusters = build_clusters(vectors, len(rows), self.config)
        counts = Counter(row[4] for row in rows if row[4])
        big = frozenset(h for h, n in counts.items() if n > self.config.max_cluster_size)
        eval_set = (
            load_eval_set(self.config) if self.config.exclude or self.config.exclude_ids else None
        )
        log.info("dedup pool: %d records, %d duplicates across the pool", len(rows), len(removed))
        return DedupPool(len(rows), removed, clusters, big, eval_set)


def pool_duplicates(rows: list[PoolRow], config: DedupConfig) -> dict[str, Duplicate]:
    """Exact and perceptual image duplicates, then caption-only records by caption."""
    keys = [row[0] for row in rows]
    ranks = [row[1] for row in rows]
    links: list[tuple[int, int, str, float]] = []
    by_sha: dict[str, list[int]] = defaultdict(list)
    for index, row in enumerate(rows):
        if row[2]:
            by_sha[row[2]].append(index)
    for members in by_sha.values():
        links += [(members[0], other, "exact", 0.0) for other in members[1:]]
    hashed = [index for index, row in enumerate(rows) if row[5] and row[3] is not None]
    codes = np.array([rows[i][3] for i in hashed], dtype=np.uint64)
    for a, b, distance in hamming_pairs(codes, config.phash_radius):
        links.append((hashed[a], hashed[b], "phash", distance))
    removed = resolve_links(keys, ranks, links)
    removed.update(caption_only_duplicates(rows, ranks, keys))
    return compress_chains(removed)


def caption_only_duplicates(
    rows: list[PoolRow], ranks: list[tuple], keys: list[str]
) -> dict[str, Duplicate]:
    by_caption: dict[str, list[int]] = defaultdict(list)
    for index, row in enumerate(rows):
        if row[4]:
            by_caption[row[4]].append(index)
    members = [i for i, row in enumerate(rows) if not row[5] and row[4]]
    candidates = {i: [j for j in by_caption[rows[i][4]] if j != i] for i in members}
    return attach_to_best(members, candidates, ranks, keys, "caption")
