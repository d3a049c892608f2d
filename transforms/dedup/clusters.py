"""SemDeDup clusters: k-means centroids from a sample, and each record's group key.

Below `exact_limit` records the whole pool is one group (one exact search). Above it,
spherical k-means (faiss.Kmeans, seeded) on a seeded sample of caption embeddings gives
about pool/target_cluster_size centroids; a centroid whose share of the sample says it
will hold over `max_cluster_size` records is split by a second k-means on its own sample
points, and a record goes to its nearest centroid, then sub-centroid. Memory per unit is
then bounded by the cluster size, not the pool. With `--embed none` records group by
caption hash (so identical captions meet for the crop rule), and a caption hash held by
over `max_cluster_size` records is spread over buckets by the key.
"""

from __future__ import annotations

import logging
import math
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from transforms.dedup.config import DedupConfig

log = logging.getLogger(__name__)

# a cluster id is top * SPLIT_BASE + sub, so it fits the int32 `dedup_cluster`
SPLIT_BASE = 1000


@dataclass
class ClusterModel:
    centroids: np.ndarray
    sub_centroids: dict[int, np.ndarray] = field(default_factory=dict)

    def assign(self, vectors: np.ndarray) -> np.ndarray:
        """Cluster ids (int64) of unit-norm vectors: nearest centroid, then sub-centroid."""
        top = np.argmax(vectors @ self.centroids.T, axis=1)
        ids = top.astype(np.int64) * SPLIT_BASE
        for cluster, subs in self.sub_centroids.items():
            rows = np.flatnonzero(top == cluster)
            if len(rows):
                ids[rows] += np.argmax(vectors[rows] @ subs.T, axis=1)
        return ids


def kmeans(vectors: np.ndarray, k: int, config: DedupConfig) -> np.ndarray:
    """Unit-norm centroids of spherical k-means, seeded; FAISS when present, else numpy."""
    k = max(1, min(k, len(vectors)))
    try:
        import faiss
    except ImportError:
        faiss = None
    if faiss is not None:
        model = faiss.Kmeans(
            vectors.shape[1], k, niter=config.kmeans_iterations, seed=config.seed, spherical=True
        )
        model.train(np.ascontiguousarray(vectors, dtype=np.float32))
        return model.centroids.copy()
    rng = np.random.default_rng(config.seed)
    centroids = vectors[rng.choice(len(vectors), size=k, replace=False)].copy()
    for _ in range(config.kmeans_iterations):
        nearest = np.argmax(vectors @ centroids.T, axis=1)
        for c in range(k):
            members = vectors[nearest == c]
            if len(members):
                mean = members.sum(axis=0)
                centroids[c] = mean / max(np.linalg.norm(mean), 1e-12)
    return centroids.astype(np.float32)


def build_clusters(captions: list[str], pool_size: int, config: DedupConfig) -> ClusterModel:
    """Centroids from a caption sample, with oversize clusters split."""
    from transforms.dedup.embed import embed_texts

    vectors = embed_texts(captions, config.embed_model)
    k = math.ceil(pool_size / config.target_cluster_size)
    k = max(1, min(k, len(vectors) // config.kmeans_min_points))
    model = ClusterModel(kmeans(vectors, k, config))
    nearest = np.argmax(vectors @ model.centroids.T, axis=1)
    scale = pool_size / max(len(vectors), 1)
    for cluster in range(len(model.centroids)):
        members = vectors[nearest == cluster]
        expected = len(members) * scale
        if expected > config.max_cluster_size:
            parts = min(SPLIT_BASE, math.ceil(expected / config.target_cluster_size))
            model.sub_centroids[cluster] = kmeans(members, parts, config)
    log.info(
        "dedup clusters: %d centroids from %d sampled captions, %d split",
        len(model.centroids),
        len(vectors),
        len(model.sub_centroids),
    )
    return model


def bucket(text: str, buckets: int) -> int:
    return zlib.crc32(text.encode("utf-8")) % buckets


def make_group_key(config: DedupConfig) -> Callable[[dict[str, Any], Any], str]:
    """(prepared record, pool) -> the group the record is deduplicated within."""

    def group_key(record: dict[str, Any], pool: Any) -> str:
        caption_hash = record.get("caption_hash")
        if pool.clusters is not None and caption_hash:
            from transforms.dedup.embed import embed_texts

            vector = embed_texts([record["caption"]], config.embed_model)
            return str(int(pool.clusters.assign(vector)[0]))
        if pool.clusters is None and config.embed == "caption":
            return "0"  # the pool fits one exact search
        if caption_hash is None:
            return f"k{bucket(record['key'], config.hash_buckets)}"
        if caption_hash in pool.big_caption_groups:
            spread = math.ceil(config.max_cluster_size / config.target_cluster_size)
            return f"c{caption_hash}/{bucket(record['key'], spread * 8)}"
        return f"c{bucket(caption_hash, config.hash_buckets)}"

    return group_key


def cluster_number(group_key: str) -> int:
    """The int32 `dedup_cluster` written for a group key."""
    if group_key.isdigit():
        return int(group_key)
    return -1 - (zlib.crc32(group_key.encode("utf-8")) & 0x3FFFFFFF)
