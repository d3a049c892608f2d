"""Pair search: Hamming-radius pairs of 64-bit hashes, cosine-threshold pairs of vectors.

The backend is chosen at run time and logged: FAISS on GPU when FAISS sees one,
FAISS on CPU, else PyTorch (CUDA when torch sees a GPU, else its CPU tensors, which is
also how the tiling and top-k logic is tested here). FAISS has no `range_search` on
GPU, so the GPU paths (FAISS GPU and PyTorch) run k-NN and keep the neighbours above
the threshold, doubling k for any query whose k-th neighbour still passes: the result
equals an exact range search. Scores are rounded to `SCORE_DECIMALS` before the
threshold, so batch order and backend do not change which pairs pass.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

import numpy as np

log = logging.getLogger(__name__)

SCORE_DECIMALS = 4
BACKENDS = ("auto", "faiss-gpu", "faiss-cpu", "torch")
# above this many codes the binary index hashes 16-bit blocks instead of scanning all
MULTIHASH_MIN_CODES = 200_000

Pairs = list[tuple[int, int, float]]


def _faiss():
    try:
        import faiss
    except ImportError:
        return None
    return faiss


@functools.lru_cache(maxsize=8)
def choose_backend(requested: str = "auto") -> str:
    """The vector-search backend to use, decided and logged once per process."""
    if requested not in BACKENDS:
        raise ValueError(f"unknown search backend {requested!r}; one of {BACKENDS}")
    faiss = _faiss()
    if requested == "auto":
        if faiss is not None and faiss.get_num_gpus() > 0:
            requested = "faiss-gpu"
        elif faiss is not None:
            requested = "faiss-cpu"
        else:
            requested = "torch"
    if requested.startswith("faiss") and faiss is None:
        raise RuntimeError("FAISS is not installed: pip install 'biomed-curate[faiss]'")
    if requested == "faiss-gpu" and faiss.get_num_gpus() == 0:
        raise RuntimeError("backend faiss-gpu asked for, but FAISS sees no GPU")
    if requested == "torch":
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
        log.info("dedup search backend: torch on %s", device)
    else:
        log.info("dedup search backend: %s", requested)
    return requested


def _round(scores: np.ndarray) -> np.ndarray:
    return np.round(scores.astype(np.float64), SCORE_DECIMALS)


def _as_uint8_codes(codes: np.ndarray) -> np.ndarray:
    """uint64 hashes as FAISS binary codes, most significant byte first."""
    return np.ascontiguousarray(np.asarray(codes, dtype=">u8")).view(np.uint8).reshape(-1, 8)


def hamming_pairs(codes: np.ndarray, radius: int) -> Pairs:
    """All (i, j, distance) with i < j and Hamming(codes[i], codes[j]) <= radius."""
    return hamming_matches(codes, codes, radius, same_set=True)


def hamming_matches(
    queries: np.ndarray, base: np.ndarray, radius: int, same_set: bool = False
) -> Pairs:
    """(query index, base index, distance) for every pair within `radius` bits."""
    queries = np.asarray(queries, dtype=np.uint64)
    base = np.asarray(base, dtype=np.uint64)
    if len(queries) == 0 or len(base) == 0:
        return []
    faiss = _faiss()
    if faiss is None:
        return _hamming_numpy(queries, base, radius, same_set)
    index = _binary_index(faiss, _as_uint8_codes(base), radius)
    lims, dist, ids = index.range_search(_as_uint8_codes(queries), radius + 1)
    out: Pairs = []
    for q in range(len(queries)):
        for pos in range(lims[q], lims[q + 1]):
            b = int(ids[pos])
            if not same_set or q < b:
                out.append((q, b, float(dist[pos])))
    out.sort()
    return out


def _binary_index(faiss, codes: np.ndarray, radius: int):
    if len(codes) < MULTIHASH_MIN_CODES:
        index = faiss.IndexBinaryFlat(64)
    else:
        # 4 tables of 16-bit blocks: two codes within `radius` bits differ in at most
        # radius // 4 bits of some block, so probing that many flips is exact
        index = faiss.IndexBinaryMultiHash(64, 4, 16)
        index.nflip = radius // 4
    index.add(codes)
    return index


def _hamming_numpy(queries: np.ndarray, base: np.ndarray, radius: int, same_set: bool) -> Pairs:
    out: Pairs = []
    for start in range(0, len(queries), 1024):
        block = queries[start : start + 1024, None] ^ base[None, :]
        dist = np.bitwise_count(block)
        for q, b in zip(*np.nonzero(dist <= radius), strict=True):
            q_index = start + int(q)
            if not same_set or q_index < int(b):
                out.append((q_index, int(b), float(dist[q, b])))
    return out


def cosine_pairs(vectors: np.ndarray, threshold: float, backend: str = "auto") -> Pairs:
    """All (i, j, cosine) with i < j and rounded cosine >= threshold (unit-norm rows)."""
    return cosine_matches(vectors, vectors, threshold, backend, same_set=True)


def member_pairs(
    members: np.ndarray, visitors: np.ndarray, threshold: float, backend: str = "auto"
) -> Pairs:
    """A cluster's search: (a, b, cosine) with b a member row and a a member row < b or a
    visitor (numbered after the members, len(members) + row); visitors never meet."""
    if len(members) == 0:
        return []
    queries = members if len(visitors) == 0 else np.concatenate([members, visitors])
    pairs = cosine_matches(queries, members, threshold, backend)
    return [(a, b, s) for a, b, s in pairs if a != b and (a >= len(members) or a < b)]


def cosine_matches(
    queries: np.ndarray,
    base: np.ndarray,
    threshold: float,
    backend: str = "auto",
    same_set: bool = False,
    k: int = 64,
) -> Pairs:
    """(query index, base index, cosine) for every pair with rounded cosine >= threshold."""
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    base = np.ascontiguousarray(base, dtype=np.float32)
    if len(queries) == 0 or len(base) == 0:
        return []
    backend = choose_backend(backend)
    if backend == "faiss-cpu":
        pairs = _faiss_range(queries, base, threshold)
    elif backend == "faiss-gpu":
        pairs = knn_threshold(
            _faiss_gpu_search(queries, base),
            len(queries),
            len(base),
            threshold,
            k,
            max_k=FAISS_GPU_MAX_K,
        )
    else:
        pairs = knn_threshold(_torch_search(queries, base), len(queries), len(base), threshold, k)
    if same_set:
        pairs = [(q, b, s) for q, b, s in pairs if q < b]
    pairs.sort()
    return pairs


def _faiss_range(queries: np.ndarray, base: np.ndarray, threshold: float) -> Pairs:
    import faiss

    index = faiss.IndexFlatIP(base.shape[1])
    index.add(base)
    # a margin below the threshold, so rounding decides the border cases everywhere
    lims, sims, ids = index.range_search(queries, threshold - 10.0**-SCORE_DECIMALS)
    sims = _round(sims)
    out: Pairs = []
    for q in range(len(queries)):
        for pos in range(lims[q], lims[q + 1]):
            if sims[pos] >= threshold:
                out.append((q, int(ids[pos]), float(sims[pos])))
    return out


# (query rows, k) -> (similarities, base ids), each rows x k, best first
KnnSearch = Callable[[np.ndarray, int], tuple[np.ndarray, np.ndarray]]
FAISS_GPU_MAX_K = 2048  # FAISS GPU's largest k


def knn_threshold(
    search: KnnSearch,
    n_queries: int,
    n_base: int,
    threshold: float,
    k: int,
    tile: int = 4096,
    max_k: int | None = None,
) -> Pairs:
    """Range search through k-NN: a query whose k-th score passes is searched again with 2k.

    A query still saturated at `max_k` (FAISS GPU stops at 2048) is searched exactly
    by brute force over the base through `search` in slices, never truncated.
    """
    limit = n_base if max_k is None else min(max_k, n_base)
    out: Pairs = []
    for start in range(0, n_queries, tile):
        rows = np.arange(start, min(start + tile, n_queries))
        k_now = min(k, limit)
        while len(rows):
            sims, ids = search(rows, k_now)
            sims = _round(sims)
            passing = sims[:, -1] >= threshold
            at_limit = k_now >= limit
            if at_limit and limit < n_base and passing.any():
                raise RuntimeError(
                    f"{int(passing.sum())} queries have over {limit} neighbours above "
                    f"{threshold}; lower the cluster size or use the faiss-cpu backend"
                )
            saturated = passing & (not at_limit)
            for r in np.flatnonzero(~saturated):
                for s, b in zip(sims[r], ids[r], strict=True):
                    if b >= 0 and s >= threshold:
                        out.append((int(rows[r]), int(b), float(s)))
            rows = rows[saturated]
            k_now = min(2 * k_now, limit)
    return out


def _faiss_gpu_search(queries: np.ndarray, base: np.ndarray) -> KnnSearch:
    import faiss

    resources = faiss.StandardGpuResources()
    index = faiss.GpuIndexFlatIP(resources, base.shape[1])
    index.add(base)

    def search(rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        return index.search(queries[rows], k)

    return search


def _torch_search(queries: np.ndarray, base: np.ndarray, base_tile: int = 1 << 20) -> KnnSearch:
    """Tiled matrix product plus top-k: the query tile against base tiles, merged."""
    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    base_t = torch.from_numpy(base).to(device)

    def search(rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        query_t = torch.from_numpy(queries[rows]).to(device)
        best_vals, best_ids = None, None
        for start in range(0, base_t.shape[0], base_tile):
            sims = query_t @ base_t[start : start + base_tile].T
            top = torch.topk(sims, k=min(k, sims.shape[1]), dim=1)
            vals, ids = top.values, top.indices + start
            if best_vals is not None:
                vals = torch.cat([best_vals, vals], dim=1)
                ids = torch.cat([best_ids, ids], dim=1)
                top = torch.topk(vals, k=min(k, vals.shape[1]), dim=1)
                vals, ids = top.values, torch.gather(ids, 1, top.indices)
            best_vals, best_ids = vals, ids
        return best_vals.float().cpu().numpy(), best_ids.cpu().numpy()

    return search
