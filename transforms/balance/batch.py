"""The balance stage over Arrow tables (batched units).

Only the columns the entries come from, the keys and the entries themselves become
Python objects; image bytes and every other column pass through in Arrow, and kept rows
are taken from the batch. The per-row decision is `keep.judge`, the same as for one
record dict, so both paths keep exactly the same records.
"""

from __future__ import annotations

from collections.abc import Iterable

import pyarrow as pa
import pyarrow.compute as pc

from transforms.balance.entries import EntryExtractor
from transforms.balance.keep import BalanceOptions, judge
from transforms.balance.pool import (
    EntryCountCombine,
    EntryCounts,
    PoolAccumulator,
    batch_counts,
)
from transforms.ledger import Drop, UnitResult

Batch = pa.Table | pa.RecordBatch
ENTRIES_TYPE = pa.list_(pa.string())
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
    concepts = _array(concepts)
    if concepts.offset:  # a slice: offsets and a null mask cannot be rebuilt over it
        concepts = pa.concat_arrays([concepts])
    flat = concepts.values
    fields = [flat.field(name) for name in CONCEPT_FIELDS]
    slim = pa.StructArray.from_arrays(fields, names=list(CONCEPT_FIELDS))
    return pa.ListArray.from_arrays(concepts.offsets, slim, mask=concepts.is_null())


def add_entries(batch: Batch, extractor: EntryExtractor) -> Batch:
    """The batch with its `entries` column (replacing any it had)."""
    present = [c for c in source_columns(extractor) if c in batch.schema.names]
    columns = {c: batch.column(c) for c in present}
    if "concepts" in columns:
        columns["concepts"] = _slim_concepts(columns["concepts"])
    rows = pa.table(columns).to_pylist() if columns else [{}] * batch.num_rows
    entries = pa.array([list(extractor(row)) for row in rows], ENTRIES_TYPE)
    return _without(batch, "entries").append_column("entries", entries)


def _array(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column


def concept_names(batch: Batch) -> dict[str, str]:
    """CUI -> concept name over a batch's `concepts` column."""
    if "concepts" not in batch.schema.names:
        return {}
    flat = pc.list_flatten(_array(batch.column("concepts")))
    cuis = flat.field("cui").to_pylist()
    names = flat.field("name").to_pylist()
    return {c: n for c, n in zip(cuis, names, strict=True) if c and n and c != n}


class TableEntryCounts:
    """`EntryCountCombine` over batches with `key` and `entries` columns: counts in Arrow,
    names from `concepts` when the batch has them, the sample from the keys."""

    def __init__(self, combine: EntryCountCombine) -> None:
        self.combine = combine

    def create_accumulator(self) -> PoolAccumulator:
        return self.combine.create_accumulator()

    def add_input(self, acc: PoolAccumulator, batch: Batch) -> PoolAccumulator:
        entries = _array(batch.column("entries"))
        counts, records, empty = batch_counts(entries)
        names = concept_names(batch)
        self.combine.add_counts(
            acc, counts, records, empty, {e: names[e] for e in counts if e in names}
        )
        if self.combine.sample_size:
            keys = batch.column("key").to_pylist()
            self.combine.add_sample(acc, keys, (e or () for e in entries.to_pylist()))
        return acc

    def merge_accumulators(self, accumulators: Iterable[PoolAccumulator]) -> PoolAccumulator:
        return self.combine.merge_accumulators(accumulators)

    def extract_output(self, acc: PoolAccumulator) -> EntryCounts:
        return self.combine.extract_output(acc)


def decide_batch(batch: Batch, pool: EntryCounts, t: float, options: BalanceOptions) -> UnitResult:
    """Kept rows (with `keep_prob`) as one batch; a Drop for each other row."""
    keys = batch.column("key").to_pylist()
    sources = batch.column("source_uri").to_pylist()
    kept, probabilities, drops = [], [], []
    for index, entries in enumerate(batch.column("entries").to_pylist()):
        verdict = judge(keys[index], entries or [], pool, t, options)
        if verdict.reason:
            drops.append(Drop(keys[index], verdict.reason, sources[index] or "", verdict.detail))
        else:
            kept.append(index)
            probabilities.append(verdict.keep_prob)
    records = _without(batch, "keep_prob").take(pa.array(kept, pa.int64()))
    records = records.append_column("keep_prob", pa.array(probabilities, pa.float32()))
    return UnitResult(records=records, drops=drops)


def kept_keys_and_entries(
    batch: Batch, pool: EntryCounts, t: float, options: BalanceOptions
) -> pa.Table:
    """`key` and `entries` of the rows `decide_batch` keeps, for the after-balancing counts."""
    records = decide_batch(batch.select(["key", "source_uri", "entries"]), pool, t, options).records
    return pa.Table.from_batches([records]) if isinstance(records, pa.RecordBatch) else records
