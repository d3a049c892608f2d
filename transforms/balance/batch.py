"""The balance stage over Arrow tables (batched units).

Image bytes and every other column pass through in Arrow, and kept rows are taken from
the batch. With the default entries (CUIs) no row becomes a Python object: entries,
counts and keep decisions are computed over columns (`columns.py`), giving exactly what
`EntryExtractor` and `keep.judge` give for one record dict; other entry options make row
dicts of only the columns the entries come from.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from transforms.balance.columns import (
    ENTRIES_TYPE,
    Decisions,
    as_array,
    concept_entries,
    decide,
    has_span_fields,
)
from transforms.balance.entries import EntryExtractor
from transforms.balance.keep import NO_ENTRIES_DETAIL, BalanceOptions, not_sampled_detail
from transforms.balance.pool import (
    EntryCountCombine,
    EntryCounts,
    PoolAccumulator,
    batch_counts,
    sample_ranks,
)
from transforms.ledger import Drop, UnitResult

Batch = pa.Table | pa.RecordBatch
# what entries are made from: concepts, modality tags, the panel's own text
ENTRY_SOURCES = ("concepts", "modalities", "caption", "subcaption", "caption_preamble")


def _without(batch: Batch, name: str) -> Batch:
    return batch.drop_columns([name]) if name in batch.schema.names else batch


def source_columns(extractor: EntryExtractor) -> list[str]:
    """The columns this extractor reads: only these become Python objects."""
    options = extractor.options
    wanted = ["concepts"] if options.concepts else []
    wanted += ["modalities"] if options.modalities else []
    wanted += ENTRY_SOURCES[2:] if extractor.matcher is not None else []
    return wanted


CONCEPT_FIELDS = ("cui", "name", "start", "end", "negated")  # what the extractor reads


def _slim_concepts(concepts: pa.Array | pa.ChunkedArray) -> pa.Array:
    """`concepts` with only the fields entries need: semantic types never become Python."""
    concepts = as_array(concepts)
    if concepts.offset:  # a slice: offsets and a null mask cannot be rebuilt over it
        concepts = pa.concat_arrays([concepts])
    flat = concepts.values
    fields = [flat.field(name) for name in CONCEPT_FIELDS]
    slim = pa.StructArray.from_arrays(fields, names=list(CONCEPT_FIELDS))
    return pa.ListArray.from_arrays(concepts.offsets, slim, mask=concepts.is_null())


def add_entries(batch: Batch, extractor: EntryExtractor) -> Batch:
    """The batch with its `entries` column (replacing any it had)."""
    options = extractor.options
    concepts_only = options.concepts and not options.modalities and extractor.matcher is None
    if concepts_only and "concepts" in batch.schema.names:
        if has_span_fields(batch.schema.field("concepts").type):  # in Arrow, no row dicts
            entries = concept_entries(batch.column("concepts"), options.one_cui_per_span)
            return _without(batch, "entries").append_column("entries", entries)
    present = [c for c in source_columns(extractor) if c in batch.schema.names]
    columns = {c: batch.column(c) for c in present}
    if "concepts" in columns:
        columns["concepts"] = _slim_concepts(columns["concepts"])
    rows = pa.table(columns).to_pylist() if columns else [{}] * batch.num_rows
    entries = pa.array([list(extractor(row)) for row in rows], ENTRIES_TYPE)
    return _without(batch, "entries").append_column("entries", entries)


def concept_names(batch: Batch) -> dict[str, str]:
    """CUI -> concept name over a batch's `concepts` column (the smallest, if several)."""
    if "concepts" not in batch.schema.names:
        return {}
    flat = pc.list_flatten(as_array(batch.column("concepts")))
    pairs = pa.table({"cui": pc.struct_field(flat, "cui"), "name": pc.struct_field(flat, "name")})
    named = pc.and_(pc.not_equal(pairs["name"], ""), pc.not_equal(pairs["cui"], pairs["name"]))
    pairs = pairs.filter(pc.and_(pc.not_equal(pairs["cui"], ""), named))
    # the smallest name of each CUI, as merging accumulators picks (any batch split agrees)
    smallest = pairs.group_by("cui").aggregate([("name", "min")])
    return dict(zip(smallest["cui"].to_pylist(), smallest["name_min"].to_pylist(), strict=True))


class TableEntryCounts:
    """`EntryCountCombine` over batches with `key` and `entries` columns: counts in Arrow,
    names from `concepts` when the batch has them, the sample from the keys."""

    def __init__(self, combine: EntryCountCombine) -> None:
        self.combine = combine

    def create_accumulator(self) -> PoolAccumulator:
        return self.combine.create_accumulator()

    def add_input(self, acc: PoolAccumulator, batch: Batch) -> PoolAccumulator:
        entries = as_array(batch.column("entries"))
        counts, records, empty = batch_counts(entries)
        names = concept_names(batch)
        self.combine.add_counts(
            acc, counts, records, empty, {e: names[e] for e in counts if e in names}
        )
        if self.combine.sample_size:
            self._offer_sample(acc, batch.column("key").to_pylist(), entries)
        return acc

    def _offer_sample(self, acc: PoolAccumulator, keys: list[str], entries: pa.Array) -> None:
        """Offer the rows to the bottom-k sample; once it is full, only rows ranked at or
        below its current highest can enter, and only their entries become Python lists."""
        combine = self.combine
        ranks = sample_ranks(combine.seed, keys)
        rows = range(len(keys))
        if len(acc.sample) >= combine.sample_size:
            highest = -acc.sample[0][0]
            rows = [row for row in rows if ranks[row] <= highest]
        sets = entries.take(pa.array(rows, pa.int64())).to_pylist()
        combine.offer_many(
            acc, ((-ranks[r], keys[r], tuple(s or ())) for r, s in zip(rows, sets, strict=True))
        )

    def merge_accumulators(self, accumulators: Iterable[PoolAccumulator]) -> PoolAccumulator:
        return self.combine.merge_accumulators(accumulators)

    def extract_output(self, acc: PoolAccumulator) -> EntryCounts:
        return self.combine.extract_output(acc)


def decide_batch(batch: Batch, pool: EntryCounts, t: float, options: BalanceOptions) -> UnitResult:
    """Kept rows (with `keep_prob`) as one batch; a Drop for each other row."""
    keys = batch.column("key")
    verdicts = decide(batch.column("entries"), keys, pool, t, options.seed, options.keep_no_entries)
    kept = np.flatnonzero(verdicts.kept)
    records = _without(batch, "keep_prob").take(pa.array(kept))
    keep_prob = pa.array(verdicts.keep_prob[kept].astype(np.float32), pa.float32())
    records = records.append_column("keep_prob", keep_prob)
    return UnitResult(records=records, drops=_drops(batch, verdicts, pool, t))


def _drops(batch: Batch, verdicts: Decisions, pool: EntryCounts, t: float) -> list[Drop]:
    """A Drop for each row not kept, in row order, as `keep.judge` words it."""
    dropped = np.flatnonzero(~verdicts.kept)
    if not len(dropped):
        return []
    indices = pa.array(dropped)
    keys = batch.column("key").take(indices).to_pylist()
    sources = batch.column("source_uri").take(indices).to_pylist()
    heads = iter(zip(verdicts.entries, verdicts.counts, strict=True))
    drops = []
    for row, key, source in zip(dropped.tolist(), keys, sources, strict=True):
        if verdicts.no_entries[row]:
            drops.append(Drop(key, "no_entries", source or "", NO_ENTRIES_DETAIL))
            continue
        entries, counts = next(heads)
        detail = not_sampled_detail(pool, entries, counts, float(verdicts.keep_prob[row]), t)
        drops.append(Drop(key, "not_sampled", source or "", detail))
    return drops


def kept_keys_and_entries(
    batch: Batch, pool: EntryCounts, t: float, options: BalanceOptions
) -> pa.Table:
    """`key` and `entries` of the rows `decide_batch` keeps, for the after-balancing counts."""
    verdicts = decide(
        batch.column("entries"), batch.column("key"), pool, t, options.seed, options.keep_no_entries
    )
    records = batch.select(["key", "entries"]).take(pa.array(np.flatnonzero(verdicts.kept)))
    return pa.Table.from_batches([records]) if isinstance(records, pa.RecordBatch) else records
