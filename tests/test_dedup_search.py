"""Dedup search backends, SemDeDup clusters and the caption-embedding path."""

from __future__ import annotations

import numpy as np
import pytest
from dedup_run import run_dedup
from dedup_variants import encode, record, skimage_images

from transforms.dedup import search
from transforms.dedup.clusters import (
    VECTOR,
    ClusterModel,
    cluster_vectors,
    kmeans,
    make_group_key,
    pair_radius,
    visitor_copy,
)
from transforms.dedup.config import DedupConfig
from transforms.dedup.pool import DedupPool
from transforms.dedup.prepare import make_prepare
from transforms.dedup.unit import dedup_group


def planted_vectors(n: int, dim: int, pairs: int, seed: int, noise: float = 0.05) -> np.ndarray:
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(n, dim)).astype(np.float32)
    vectors[n - pairs :] = vectors[:pairs] + noise * rng.normal(size=(pairs, dim))
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
    # against numpy's exact top 5: the same neighbours, in the same order of score
    sims = vectors @ vectors.T
    exact = np.argsort(-sims, axis=1, kind="stable")[:, :5]
    np.testing.assert_allclose(tiled_sims, np.take_along_axis(sims, exact, axis=1), atol=1e-5)
    assert all(set(t) == set(e) for t, e in zip(tiled_ids, exact, strict=True))


def test_member_pairs_with_visitors_agree_across_backends():
    """A cluster's search: members against members and visitors, torch (CPU tensors, small
    tiles) and FAISS CPU alike, each pair once, visitors never against each other."""
    vectors = planted_vectors(900, 24, 80, seed=12, noise=0.2)
    members, visitors = vectors[:600], vectors[600:]
    faiss_pairs = search.member_pairs(members, visitors, 0.9, "faiss-cpu")
    torch_pairs = search.member_pairs(members, visitors, 0.9, "torch")
    assert [p[:2] for p in faiss_pairs] == [p[:2] for p in torch_pairs]
    truth = {(a, b) for a, b, _ in brute_force(vectors, 0.9) if a < 600}
    found = {(min(a, b), max(a, b)) for a, b, _ in faiss_pairs}
    assert found == truth and len(truth) >= 60
    assert all(b < 600 and (a >= 600 or a < b) for a, b, _ in faiss_pairs)


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
    # 4 clusters aimed at, but at most 600 records each: every cluster of ~1000 is split
    split = DedupConfig(seed=11, target_cluster_size=1000, max_cluster_size=600)
    model = cluster_vectors(vectors, 4000, split)
    assert len(model.centroids) > 4
    assert np.bincount(model.assign(vectors)).max() <= 900


def test_visitors_reach_every_pair_split_by_a_cluster_border():
    """The border test is exact: uncapped, the better record of every pair within the
    threshold meets the other in the other's home; a cap keeps the nearest borders."""
    vectors = planted_vectors(6000, 16, 600, seed=8, noise=0.3)
    config = DedupConfig(seed=3)
    model = ClusterModel(kmeans(vectors[:3000], 40, config))
    pairs = [(a, b) for a, b, _ in brute_force(vectors, 0.9)]
    eps = pair_radius(0.9)
    homes, visits = model.route(vectors, eps, max_visits=39)
    split = [(a, b) for a, b in pairs if homes[a] != homes[b]]
    assert len(split) > 50  # the border matters here
    assert all(homes[b] in visits[a] and homes[a] in visits[b] for a, b in split)
    assert all(homes[i] not in visits[i] for i in range(len(vectors)))
    capped_homes, capped = model.route(vectors, eps, max_visits=2)
    assert (capped_homes == homes).all()
    assert all(list(c) == list(v[:2]) for c, v in zip(capped, visits, strict=True))
    # with no margin a record visits no cluster
    assert all(len(v) == 0 for v in model.route(vectors, 0.0, max_visits=5)[1])


def test_a_caption_only_copy_goes_when_its_better_twin_lives_in_another_cluster():
    """Unit level: the twin is a visitor; it is never output, and only its home decides."""
    rng = np.random.default_rng(9)
    base = rng.normal(size=16).astype(np.float32)
    twin = base + 0.01 * rng.normal(size=16).astype(np.float32)
    base, twin = base / np.linalg.norm(base), twin / np.linalg.norm(twin)
    photos = skimage_images()
    better = record("PMC1/F1", encode(photos["coins"]), "Coins on a table.")
    worse = record("PMC2/F1", None, "Coins on a table, again.")
    other = record("PMC3/F1", None, "Something else entirely.")
    prepare = make_prepare(DedupConfig(embed="none"))
    better, worse, other = (prepare(r) for r in (better, worse, other))
    far = rng.normal(size=16).astype(np.float32)
    far /= np.linalg.norm(far)
    home = [
        {**worse, VECTOR: twin.tobytes()},
        {**other, VECTOR: far.tobytes()},
    ]
    guest = visitor_copy(better, base.tobytes())
    pool = DedupPool(3, {}, None, frozenset(), None)
    config = DedupConfig(embed="caption")
    result = dedup_group(("7", [*home, guest]), pool, config, with_pdq=False)
    assert [r["key"] for r in result.records] == ["PMC3/F1"]
    assert result.records[0]["dedup_cluster"] == 7 and VECTOR not in result.records[0]
    (row,) = result.extra["duplicates"]
    assert (row["key"], row["dup_of"], row["kind"]) == ("PMC2/F1", "PMC1/F1", "caption")
    # the other way round, the visitor is worse: nothing is decided for it here
    worse_guest = visitor_copy(worse, twin.tobytes())
    unit = ("8", [{**better, VECTOR: base.tobytes()}, worse_guest])
    alone = dedup_group(unit, pool, config, with_pdq=False)
    assert [r["key"] for r in alone.records] == ["PMC1/F1"] and not alone.drops


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
    small = DedupConfig(embed="caption", exact_limit=2, target_cluster_size=2, kmeans_min_points=1)
    clustered = run_dedup(records, small)
    assert clustered.kept_keys == run.kept_keys
    assert {r["dedup_cluster"] for r in clustered.kept} != {0}
    # the pool pass over one accumulator or two: the same clusters, visitors and pairs
    one = run_dedup(records, small, split=1)
    assert one.duplicates == clustered.duplicates
    assert [(r["key"], r["dedup_cluster"]) for r in one.kept] == [
        (r["key"], r["dedup_cluster"]) for r in clustered.kept
    ]
