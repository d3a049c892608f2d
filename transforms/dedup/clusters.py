"""SemDeDup clusters: k-means centroids from a sample, and each record's groups.

Below `exact_limit` records the whole pool is one group (one exact search). Above it,
spherical k-means (faiss.Kmeans, seeded) on a seeded sample of caption embeddings gives
about pool/target_cluster_size centroids; a centroid whose share of the sample says it
will hold over `max_cluster_size` records is replaced by a second k-means on its own
sample points. A record's home is its nearest centroid: memory per unit is bounded by
the cluster size, not the pool.

Visitors: a near-duplicate pair split by a cluster border would be missed by searching
within clusters alone (0.82 of planted pairs at 1M random vectors). So a record is also
sent, as a query-only visitor, to the clusters whose Voronoi cell it lies within `eps`
of, where eps is the distance of two unit vectors at the caption threshold: a record y
within eps of x that lives in cell j is on j's side of the bisector of x's home and j,
so x is within eps of that hyperplane. The test is exact (no pair within eps is lost to
it); the `max_visits` nearest such cells are kept (a cap, since in 384 dimensions
nearly every cell is that close). The unit searches (home members) x (members and
visitors), and decides for its members only, so a pair counts when the better record
meets the other in the other's home.

With `--embed none` records group by caption hash (so identical captions meet for the
crop rule), and a caption hash held by over `max_cluster_size` records is spread over
buckets by the key.
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
from transforms.ledger import VISITOR

log = logging.getLogger(__name__)

# the caption vector a record carries from its group key to its unit (float32 bytes): the
# unit searches with the vector it was routed by, so the visitor test holds exactly
VECTOR = "_caption_vector"
# rounding slack: scores are rounded to 4 decimals before the threshold
SLACK = 1e-4


def pair_radius(threshold: float) -> float:
    """Euclidean distance of two unit vectors whose rounded cosine just passes `threshold`."""
    return math.sqrt(max(2.0 - 2.0 * (threshold - SLACK), 0.0)) + SLACK


@dataclass
class ClusterModel:
    centroids: np.ndarray  # k x dim; a record's cluster id is its nearest centroid's row
    # float64 centroids, squared norms and Gram matrix, made once: route() is called per record
    _geometry: tuple[np.ndarray, np.ndarray, np.ndarray] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def geometry(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self._geometry is None:
            centroids = self.centroids.astype(np.float64)
            self._geometry = (centroids, (centroids**2).sum(axis=1), centroids @ centroids.T)
        return self._geometry

    def assign(self, vectors: np.ndarray) -> np.ndarray:
        """Home cluster ids (int64): the nearest centroid (squared Euclidean distance)."""
        return self.route(vectors, 0.0, 0)[0]

    def route(
        self, vectors: np.ndarray, eps: float, max_visits: int, block: int = 16384
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """(home ids, per row the ids of up to `max_visits` other cells within `eps`, nearest
        cell border first)."""
        centroids, norms, gram = self.geometry()
        homes: list[np.ndarray] = []
        visits: list[np.ndarray] = []
        for start in range(0, len(vectors), block):
            rows = np.asarray(vectors[start : start + block], dtype=np.float64)
            # ||x - c||^2 less ||x||^2, the same for every c
            dist = norms[None, :] - 2.0 * rows @ centroids.T
            home = np.argmin(dist, axis=1)
            homes.append(home)
            if max_visits <= 0 or len(centroids) < 2:
                visits += [np.zeros(0, dtype=np.int64)] * len(rows)
                continue
            # distance from x to the bisector of its home c_h and c_j:
            # (||x-c_j||^2 - ||x-c_h||^2) / (2 ||c_h - c_j||)
            apart = norms[home][:, None] + norms[None, :] - 2.0 * gram[home]
            apart = np.sqrt(np.maximum(apart, 1e-24))
            border = (dist - dist[np.arange(len(rows)), home][:, None]) / (2.0 * apart)
            border[np.arange(len(rows)), home] = np.inf
            take = min(max_visits, len(centroids) - 1)
            near = np.argpartition(border, take - 1, axis=1)[:, :take]
            near_border = np.take_along_axis(border, near, axis=1)
            # nearest border first, ties by cluster id: the same on every worker
            order = np.lexsort((near, near_border), axis=1)
            near = np.take_along_axis(near, order, axis=1)
            near_border = np.take_along_axis(near_border, order, axis=1)
            visits += [n[b <= eps].astype(np.int64) for n, b in zip(near, near_border, strict=True)]
        if not homes:
            return np.zeros(0, dtype=np.int64), []
        return np.concatenate(homes).astype(np.int64), visits


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


def cluster_vectors(vectors: np.ndarray, pool_size: int, config: DedupConfig) -> ClusterModel:
    """Centroids from a sample of vectors, an oversize cluster replaced by its own k-means."""
    k = math.ceil(pool_size / config.target_cluster_size)
    k = max(1, min(k, len(vectors) // config.kmeans_min_points))
    top = kmeans(vectors, k, config)
    nearest = ClusterModel(top).assign(vectors)
    scale = pool_size / max(len(vectors), 1)
    parts = []
    split = 0
    for cluster in range(len(top)):
        members = vectors[nearest == cluster]
        expected = len(members) * scale
        if expected > config.max_cluster_size and len(members) > 1:
            parts.append(kmeans(members, math.ceil(expected / config.target_cluster_size), config))
            split += 1
        else:
            parts.append(top[cluster : cluster + 1])
    log.info(
        "dedup clusters: %d centroids from %d sampled vectors, %d split",
        len(top),
        len(vectors),
        split,
    )
    return ClusterModel(np.concatenate(parts).astype(np.float32))


def build_clusters(vectors: list[bytes], pool_size: int, config: DedupConfig) -> ClusterModel:
    """Centroids from a sample of packed caption vectors (see `cluster_vectors`)."""
    matrix = np.stack([np.frombuffer(v, dtype=np.float32) for v in vectors])
    return cluster_vectors(matrix, pool_size, config)


def caption_vector(record: dict[str, Any], config: DedupConfig) -> bytes:
    """The record's unit-norm caption embedding as float32 bytes: the one prepare made, or
    made here for a record that did not pass through prepare."""
    packed = record.get(VECTOR)
    if packed:
        return packed
    from transforms.dedup.embed import embed_texts

    return embed_texts([record["caption"]], config.embed_model)[0].tobytes()


def visitor_copy(record: dict[str, Any], vector: bytes) -> dict[str, Any]:
    """What a visitor carries: enough to be searched and ranked, never its image."""
    from transforms.dedup.groups import keep_rank

    return {
        "key": record["key"],
        "caption": record.get("caption"),
        "caption_hash": record.get("caption_hash"),
        VISITOR: True,
        VECTOR: vector,
        RANK: list(keep_rank(record)),
    }


# a visitor's keep rank (groups.keep_rank), since it travels without its image
RANK = "_keep_rank"


def bucket(text: str, buckets: int) -> int:
    return zlib.crc32(text.encode("utf-8")) % buckets


def make_group_key(config: DedupConfig) -> Callable[[dict[str, Any], Any], str]:
    """(prepared record, pool) -> the group the record is deduplicated within, or, on the
    clustered path, [(home cluster, record with its vector), (cluster, visitor copy)...]."""

    eps = pair_radius(config.caption_cosine)

    def group_key(record: dict[str, Any], pool: Any) -> str | list[tuple[str, dict[str, Any]]]:
        caption_hash = record.get("caption_hash")
        if pool.clusters is not None and caption_hash:
            packed = caption_vector(record, config)
            vector = np.frombuffer(packed, dtype=np.float32)[None, :]
            homes, visits = pool.clusters.route(vector, eps, config.max_visits)
            pairs = [(str(int(homes[0])), {**record, VECTOR: packed})]
            copy = visitor_copy(record, packed)
            return pairs + [(str(int(c)), copy) for c in visits[0]]
        if pool.clusters is None and config.embed == "caption":
            return "0"  # the pool fits one exact search
        if config.image_model is not None and pool.size <= config.exact_limit:
            return "0"  # image embeddings are compared across the whole pool
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
