"""Pass 1: records per entry over the whole pool, as a mergeable combine.

`EntryCountCombine` is a plain class with the four CombineFn methods; the pipeline wraps
it in a `beam.CombineFn`. The accumulator is a Counter (500k entries are ~60 MB, merged
by addition), the display names of entries that have one (CUIs), and, for
`--target-size`, a seeded bottom-k sample of the records' entry sets: each record is
ranked by a hash of (seed, key), so the sample is the same on any runner, worker count or
input order, and the bisection for t runs on it (`keep.solve_t`) without a second pass.
"""

from __future__ import annotations

import hashlib
import heapq
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain

import pyarrow as pa
import pyarrow.compute as pc

SAMPLE_SIZE = 100_000  # entry sets kept for --target-size; ~1.5% error on a 10% target


def sample_rank(seed: int, key: str) -> int:
    """A record's rank in the bottom-k sample: 64 bits of blake2b over (seed, key)."""
    digest = hashlib.blake2b(f"sample\x1f{seed}\x1f{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def sample_ranks(seed: int, keys: Iterable[str]) -> list[int]:
    """`sample_rank` of each key (one loop: this runs for every record, twice)."""
    blake2b, from_bytes = hashlib.blake2b, int.from_bytes
    return [
        from_bytes(blake2b(f"sample\x1f{seed}\x1f{key}".encode(), digest_size=8).digest(), "big")
        for key in keys
    ]


@dataclass
class PoolAccumulator:
    counts: Counter = field(default_factory=Counter)
    names: dict[str, str] = field(default_factory=dict)  # only where name != entry
    records: int = 0
    no_entries: int = 0
    # max-heap by rank (ranks negated) of (-rank, key, entries): the k lowest ranks
    sample: list[tuple[int, str, tuple[str, ...]]] = field(default_factory=list)


@dataclass(frozen=True)
class EntryCounts:
    """The combine's output and the keep pass's side input."""

    counts: dict[str, int]
    names: dict[str, str]
    records: int
    no_entries: int
    sample: tuple[tuple[str, ...], ...]  # entry sets of the sampled records, by rank

    def name(self, entry: str) -> str:
        return self.names.get(entry, entry)


class EntryCountCombine:
    """Counts records per entry. `sample_size` 0 keeps no sample (a fixed t needs none)."""

    def __init__(self, sample_size: int = 0, seed: int = 0) -> None:
        self.sample_size = sample_size
        self.seed = seed

    def create_accumulator(self) -> PoolAccumulator:
        return PoolAccumulator()

    def add_input(
        self,
        acc: PoolAccumulator,
        entries: Sequence[str] | Mapping[str, str],
        key: str | None = None,
    ) -> PoolAccumulator:
        """One record's distinct entries (a mapping also gives their names). The sample
        needs the record's key; without one the record is counted only."""
        acc.records += 1
        if not entries:
            acc.no_entries += 1
        if isinstance(entries, Mapping):
            _add_names(acc.names, entries.items())
            entries = entries.keys()  # Counter.update would add a mapping's values
        acc.counts.update(entries)
        if self.sample_size and key is not None:
            self.offer(acc, sample_rank(self.seed, key), key, tuple(entries))
        return acc

    def add_counts(
        self,
        acc: PoolAccumulator,
        counts: Mapping[str, int],
        records: int,
        no_entries: int = 0,
        names: Mapping[str, str] | None = None,
    ) -> PoolAccumulator:
        """Pre-aggregated counts of `records` records (e.g. from `batch_counts`)."""
        acc.counts.update(counts)
        acc.records += records
        acc.no_entries += no_entries
        if names:
            _add_names(acc.names, names.items())
        return acc

    def add_sample(
        self, acc: PoolAccumulator, keys: Iterable[str], entry_sets: Iterable[Sequence[str]]
    ) -> PoolAccumulator:
        """Offer a batch's records to the sample (counts come through `add_counts`)."""
        if self.sample_size:
            for key, entries in zip(keys, entry_sets, strict=True):
                self.offer(acc, sample_rank(self.seed, key), key, tuple(entries))
        return acc

    def merge_accumulators(self, accumulators: Iterable[PoolAccumulator]) -> PoolAccumulator:
        merged = PoolAccumulator()
        accumulators = list(accumulators)
        for acc in accumulators:
            merged.counts.update(acc.counts)
            _add_names(merged.names, acc.names.items())
            merged.records += acc.records
            merged.no_entries += acc.no_entries
        # the k lowest ranks of all the samples, at C speed rather than one offer each
        samples = [acc.sample for acc in accumulators if acc.sample]
        merged.sample = heapq.nlargest(self.sample_size, chain(*samples)) if samples else []
        heapq.heapify(merged.sample)
        return merged

    def extract_output(self, acc: PoolAccumulator) -> EntryCounts:
        ranked = sorted((-negative, key, entries) for negative, key, entries in acc.sample)
        return EntryCounts(
            counts=dict(acc.counts),
            names=dict(acc.names),
            records=acc.records,
            no_entries=acc.no_entries,
            sample=tuple(entries for _, _, entries in ranked),
        )

    def offer(self, acc: PoolAccumulator, rank: int, key: str, entries: tuple[str, ...]) -> None:
        self.offer_many(acc, [(-rank, key, entries)])

    def offer_many(
        self, acc: PoolAccumulator, items: Iterable[tuple[int, str, tuple[str, ...]]]
    ) -> None:
        """Offer (-rank, key, entries) items to the sample."""
        sample, size = acc.sample, self.sample_size
        push, replace = heapq.heappush, heapq.heapreplace
        for item in items:
            if len(sample) < size:
                push(sample, item)
            elif item > sample[0]:  # a lower rank than the highest kept
                replace(sample, item)


def _add_names(names: dict[str, str], pairs: Iterable[tuple[str, str]]) -> None:
    # the smaller name wins, so merge order never changes the result
    for entry, name in pairs:
        if name != entry and (entry not in names or name < names[entry]):
            names[entry] = name


def batch_counts(entries: pa.Array | pa.ChunkedArray) -> tuple[Counter, int, int]:
    """(records per entry, records, records without entries) of a list<string> column of
    distinct-per-record entries, counted in Arrow."""
    if isinstance(entries, pa.ChunkedArray):
        entries = entries.combine_chunks()
    lengths = pc.fill_null(pc.list_value_length(entries), 0)
    empty = pc.sum(pc.equal(lengths, 0)).as_py() or 0
    tallies = pc.value_counts(pc.list_flatten(entries))
    values, tally = tallies.field("values").to_pylist(), tallies.field("counts").to_pylist()
    return Counter(dict(zip(values, tally, strict=True))), len(entries), empty
