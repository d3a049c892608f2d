"""Dedup search backends, SemDeDup clusters and the caption-embedding path."""

from __future__ import annotations

import numpy as np
import pytest
from dedup_run import run_dedup
from dedup_variants import encode, record, skimage_images

from transforms.dedup import search
from transforms.dedup.clusters import ClusterModel, kmeans, make_group_key
from transforms.dedup.config import DedupConfig
from transforms.dedup.pool import DedupPool


def planted_vectors(n: int, dim: int, pairs: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(n, dim)).astype(np.float32)
    vectors[n - pairs :] = vectors[:pairs] + 0.05 * rng.normal(size=(pairs, dim))
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def brute_force(vectors: np.ndarray, threshold: float) -> list[tuple[int, int, float]]:
    sims = np.round((vectors @ vectors.T).astype(np.float64), search.SCORE_DECIMALS)
    rows, cols = np.nonzero(np.triu(sims >= threshold, k=1))
    return [(int(a), int(b), float(sims[a, b])) for a, b in zip(rows, cols, strict=True)]


def test_faiss_cpu_and_torch_match_brute_force():
    vectors = planted_vectors(2000, 48, 60, seed=1)
    truth = brute_force(vectors, 0.9)
    assert len(truth) >= 60
    assert [p[:2] for p in search.cosine_pairs(vectors, 0.9, "faiss-cpu")] == [p[:2] for p in truth]
    assert [p[:2] for p in search.cosine_pairs(vectors, 0.9, "torch")] == [p[:2] for p in truth]


def test_knn_threshold_doubles_k_until_no_query_is_saturated():
    # 40 copies of one vector: every query has 39 neighbours above the threshold
    vectors = np.repeat(planted_vectors(1, 16, 0, seed=2), 40, axis=0)
    vectors = np.concatenate([vectors, planted_vectors(200, 16, 0, seed=3)])
    pairs = search.cosine_matches(vectors, vectors, 0.99, "torch", same_set=True, k=2)
    assert len(pairs) == 40 * 39 // 2


def test_knn_threshold_refuses_to_truncate_at_max_k():
    vectors = np.repeat(planted_vectors(1, 8, 0, seed=4), 10, axis=0)
    torch_search = search._torch_search(vectors, vectors)
    with pytest.raises(RuntimeError, match="neighbours above"):
        search.knn_threshold(torch_search, 10, 10, 0.9, k=2, max_k=4)


def test_torch_tiles_merge_top_k_across_base_tiles():
    vectors = planted_vectors(500, 24, 30, seed=5)
    tiled = search._torch_search(vectors, vectors, base_tile=64)
    whole = search._torch_search(vectors, vectors)
    rows = np.arange(500)
    tiled_sims, tiled_ids = tiled(rows, 5)
    whole_sims, whole_ids = whole(rows, 5)
    np.testing.assert_allclose(tiled_sims, whole_sims, atol=1e-5)
    assert (tiled_ids[:, 0] == whole_ids[:, 0]).all()


def test_hamming_multihash_equals_flat_scan(monkeypatch):
    rng = np.random.default_rng(6)
    codes = rng.integers(0, 2**63, size=3000, dtype=np.uint64)
    codes[2900:] = codes[:100] ^ np.uint64(0b1011001)  # 4 bits apart
    flat = search.hamming_pairs(codes, 6)
    monkeypatch.setattr(search, "MULTIHASH_MIN_CODES", 10)
    assert search.hamming_pairs(codes, 6) == flat
    assert {(a, b) for a, b, _ in flat} >= {(i, 2900 + i) for i in range(100)}


def test_kmeans_is_seeded_and_oversize_clusters_split():
    vectors = planted_vectors(4000, 32, 0, seed=7)
    config = DedupConfig(seed=11)
    first, second = kmeans(vectors, 20, config), kmeans(vectors, 20, config)
    np.testing.assert_array_equal(first, second)
    model = ClusterModel(first[:2], {0: first[2:6]})
    ids = model.assign(vectors)
    assert set(np.unique(ids)) <= {0, 1, 2, 3, 1000}
    assert (ids // 1000 == np.argmax(vectors @ first[:2].T, axis=1)).all()


def test_common_stock_caption_is_spread_over_groups_with_embed_none():
    config = DedupConfig(embed="none", max_cluster_size=4, target_cluster_size=2)
    stock = record("PMC1/F1", None, "Representative images are shown.")
    stock["caption_hash"] = "h-stock"
    rare = {**stock, "key": "PMC1/F2", "caption_hash": "h-rare"}
    pool = DedupPool(10, {}, None, frozenset({"h-stock"}), None)
    group_of = make_group_key(config)
    keys = {group_of({**stock, "key": f"PMC{i}/F1"}, pool) for i in range(200)}
    assert len(keys) > 4 and all(k.startswith("ch-stock/") for k in keys)
    assert group_of(rare, pool) == group_of({**rare, "key": "PMC9/F9"}, pool)


def test_caption_embedding_path_end_to_end():
    """The bundled MiniLM, offline: caption-only near-duplicates go; a stock caption on two
    different images stays; k-means clusters when the pool is over exact_limit."""
    photos = skimage_images()
    records = [
        record("PMC1/F1", encode(photos["coins"]), "Representative images are shown."),
        record("PMC1/F2", encode(photos["moon"]), "Representative images are shown"),
        record("PMC2/F1", None, "Kaplan-Meier survival curves of patients by expression."),
        record("PMC2/F2", None, "Kaplan Meier survival curves of patients, by expression"),
        record("PMC3/F1", None, "Western blot of lysates from treated cells."),
    ]
    run = run_dedup(records, DedupConfig(embed="caption"))
    assert run.kept_keys == {"PMC1/F1", "PMC1/F2", "PMC2/F1", "PMC3/F1"}
    (row,) = run.duplicates
    assert (row["key"], row["dup_of"], row["kind"]) == ("PMC2/F2", "PMC2/F1", "caption")
    assert row["score"] >= 0.95
    clustered = run_dedup(
        records,
        DedupConfig(embed="caption", exact_limit=2, target_cluster_size=2, kmeans_min_points=1),
    )
    assert clustered.kept_keys == run.kept_keys
    assert {r["dedup_cluster"] for r in clustered.kept} != {0}
