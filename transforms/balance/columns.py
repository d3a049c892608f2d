"""The batched passes' per-row work in Arrow and numpy, with no Python object per row.

`concept_entries` is `EntryExtractor` for the default options (the non-negated CUIs of
`concepts`, the smallest CUI of each span) over a whole `concepts` column; `decide` is
`keep.judge` over a whole `entries` column. Both give exactly what the per-record code
gives (tests/test_balance.py checks it): only the seeded draw of a record whose entries
are all heads, and the detail of a Drop, are computed per row in Python.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from transforms.balance.pool import EntryCounts
from transforms.ledger import StageError

ENTRIES_TYPE = pa.list_(pa.string())
SPAN_FIELDS = ("cui", "start", "end", "negated")  # what the default entries depend on


def as_array(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column


def has_span_fields(concepts_type: pa.DataType) -> bool:
    """Whether a `concepts` column has the list<struct> shape `concept_entries` reads."""
    if not pa.types.is_list(concepts_type) or not pa.types.is_struct(concepts_type.value_type):
        return False
    struct = concepts_type.value_type
    return set(SPAN_FIELDS) <= {struct.field(i).name for i in range(struct.num_fields)}


def _ints(values: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(values with nulls as 0, null mask): a null start or end is its own span value."""
    nulls = np.asarray(pc.is_null(values))
    return np.asarray(pc.fill_null(values, 0).cast(pa.int64())), nulls


def _first_of_groups(group: list[np.ndarray], order_by: list[np.ndarray]) -> np.ndarray:
    """Positions, ascending, of the first element of each group of equal `group` keys,
    first meaning least by `order_by` (the last of which must be unique)."""
    order = np.lexsort([*order_by[::-1], *group[::-1]])
    if not len(order):
        return order
    new = np.ones(len(order), dtype=bool)
    new[1:] = np.any([k[order][1:] != k[order][:-1] for k in group], axis=0)
    return np.sort(order[new])


def concept_entries(concepts: pa.Array | pa.ChunkedArray, one_cui_per_span: bool) -> pa.Array:
    """The default entries of each row, as `EntryExtractor(EntryOptions())` finds them."""
    concepts = as_array(concepts)
    rows = len(concepts)
    parents = np.asarray(pc.list_parent_indices(concepts)).astype(np.int64)
    flat = pc.list_flatten(concepts)
    cuis = pc.struct_field(flat, "cui").cast(pa.string())
    negated = pc.fill_null(pc.struct_field(flat, "negated"), False)
    usable = pc.and_(pc.fill_null(pc.not_equal(cuis, ""), False), pc.invert(negated))
    picked = np.flatnonzero(np.asarray(usable))
    cuis, parents = cuis.take(picked), parents[picked]
    encoded = pc.dictionary_encode(cuis)
    rank = np.empty(len(encoded.dictionary), dtype=np.int64)  # codes -> string order
    rank[np.asarray(pc.sort_indices(encoded.dictionary))] = np.arange(len(rank))
    cui_rank = rank[np.asarray(encoded.indices)]
    position = np.arange(len(cuis))
    keep = position
    if one_cui_per_span:  # of each (row, start, end), the first smallest CUI
        start, start_null = _ints(pc.struct_field(flat, "start").take(picked))
        end, end_null = _ints(pc.struct_field(flat, "end").take(picked))
        span = [parents, start, start_null, end, end_null]
        keep = _first_of_groups(span, [cui_rank, position])
    # each CUI once per row, where it first appears
    first = _first_of_groups([parents[keep], cui_rank[keep]], [position[keep]])
    keep = keep[first]
    lengths = np.bincount(parents[keep], minlength=rows)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), cuis.take(pa.array(keep)))


@dataclass
class Decisions:
    """`decide`'s verdicts for a batch's rows."""

    kept: np.ndarray  # bool per row
    keep_prob: np.ndarray  # float64 per row (0 for a row without entries, unless kept)
    no_entries: np.ndarray  # bool per row: dropped for having no entry
    entries: list[list[str]]  # per row, only for rows dropped as not sampled
    counts: list[list[int]]  # their entries' counts


def _draws_any(seed: int, key: str, entries: list[str], counts: list[int], t: float) -> bool:
    """`keep.draw` for each entry in order until one draws the record (all are heads)."""
    for entry, count in zip(entries, counts, strict=True):
        digest = hashlib.blake2b(f"{seed}\x1f{entry}\x1f{key}".encode(), digest_size=8).digest()
        if int.from_bytes(digest, "big") / 2**64 < t / count:
            return True
    return False


def decide(
    entries: pa.Array | pa.ChunkedArray,
    keys: pa.Array | pa.ChunkedArray,
    pool: EntryCounts,
    t: float,
    seed: int,
    keep_no_entries: bool,
) -> Decisions:
    """Keep or drop each row: `keep.judge` over the whole `entries` column."""
    entries = as_array(entries)
    rows = len(entries)
    lengths = np.asarray(pc.fill_null(pc.list_value_length(entries), 0)).astype(np.int64)
    encoded = pc.dictionary_encode(pc.list_flatten(entries))
    names = encoded.dictionary.to_pylist()
    known = [pool.counts.get(name) for name in names]
    if encoded.indices.null_count or None in known:  # the first one, in row order
        missing = None if encoded.indices.null_count else names[known.index(None)]
        raise StageError("entry_not_counted", f"entry {missing!r} missing from the counts")
    codes = np.asarray(encoded.indices)
    count = np.asarray(known, dtype=np.float64)[codes]
    probability = np.where(count <= t, 1.0, t / np.maximum(count, 1.0))
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    miss = np.ones(rows)
    for j in range(int(lengths.max(initial=0))):  # in entry order, as keep_probability does
        holding = lengths > j
        miss[holding] *= 1.0 - probability[starts[holding] + j]
    has_tail = np.bincount(np.repeat(np.arange(rows), lengths)[count <= t], minlength=rows) > 0
    empty = lengths == 0
    keep_prob = np.where(empty, 1.0 if keep_no_entries else 0.0, 1.0 - miss)
    kept = has_tail | (empty & keep_no_entries)
    dropped_entries: list[list[str]] = []
    dropped_counts: list[list[int]] = []
    heads_only = np.flatnonzero(~has_tail & ~empty)
    if len(heads_only):
        key_list = keys.take(pa.array(heads_only)).to_pylist()
        for row, key in zip(heads_only.tolist(), key_list, strict=True):
            span = codes[starts[row] : starts[row] + lengths[row]].tolist()
            row_entries = [names[c] for c in span]
            row_counts = [known[c] for c in span]
            if _draws_any(seed, key, row_entries, row_counts, t):
                kept[row] = True
            else:
                dropped_entries.append(row_entries)
                dropped_counts.append(row_counts)
    no_entries = empty & ~kept
    return Decisions(kept, keep_prob, no_entries, dropped_entries, dropped_counts)
