"""Pass 2: keep or drop each record, MetaCLIP's balancing against entry counts.

An entry counted in at most t records keeps them all. A head entry (count c > t) draws
each of its records with probability t/c, from a uniform number hashed from
(seed, entry, record key), never from global random state, so the outcome is the same on
any runner and worker count and in any input order. A record is kept when any of its
entries draws it, so its keep probability is 1 - prod(1 - min(1, t/c_e)).

`--target-size N` picks t by bisection on the count pass's seeded sample of entry sets:
the expected kept share of the sample is monotone in t.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from schemas import BALANCED_SCHEMA, new_record
from transforms.balance.entries import EntryExtractor
from transforms.balance.pool import SAMPLE_SIZE, EntryCountCombine, EntryCounts
from transforms.ledger import Drop, StageError, UnitResult

DEFAULT_T = 20_000  # MetaCLIP's t for 400M pairs over 500k entries
BISECTION_STEPS = 60
NO_ENTRIES_DETAIL = "no concept, modality or list entry to balance by"
_BALANCED_FIELDS = frozenset(BALANCED_SCHEMA.names)


@dataclass(frozen=True)
class BalanceOptions:
    t: float | None = None  # None with no target_size means DEFAULT_T
    target_size: int | None = None  # records wanted; t is solved on the pool's sample
    seed: int = 0
    # MetaCLIP drops text that matches no entry: it carries no metadata to balance by
    keep_no_entries: bool = False

    def __post_init__(self) -> None:
        if self.t is not None and self.target_size is not None:
            raise ValueError("balance: give either t or a target size, not both")
        if self.t is not None and not self.t > 0:
            raise ValueError(f"balance: t must be positive, got {self.t}")
        if self.target_size is not None and self.target_size <= 0:
            raise ValueError(f"balance: target size must be positive, got {self.target_size}")


def draw(seed: int, entry: str, key: str) -> float:
    """The uniform [0, 1) number that decides whether `entry` draws record `key`."""
    digest = hashlib.blake2b(f"{seed}\x1f{entry}\x1f{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def entry_probability(count: int, t: float) -> float:
    return 1.0 if count <= t else t / count


def keep_probability(counts: list[int], t: float) -> float:
    """1 - prod(1 - min(1, t/c)) over a record's entry counts; 0 for no entries."""
    miss = 1.0
    for count in counts:
        miss *= 1.0 - entry_probability(count, t)
    return 1.0 - miss


def expected_share(
    sample: tuple[tuple[str, ...], ...],
    counts: dict[str, int],
    t: float,
    keep_no_entries: bool = False,
) -> float:
    """The mean keep probability over the sampled entry sets."""
    return float(np.mean(_SampleArrays(sample, counts, keep_no_entries).keep(t)))


class _SampleArrays:
    """The sample flattened to (record index, entry count) pairs for vectorised keep."""

    def __init__(
        self, sample: tuple[tuple[str, ...], ...], counts: dict[str, int], keep_no_entries: bool
    ) -> None:
        self.size = len(sample)
        self.rows = np.repeat(np.arange(self.size), [len(s) for s in sample])
        self.counts = np.array([counts[e] for s in sample for e in s], dtype=np.float64)
        empty = np.array([not s for s in sample], dtype=bool)
        self.empty_keep = empty * (1.0 if keep_no_entries else 0.0)
        self.empty = empty

    def keep(self, t: float) -> np.ndarray:
        with np.errstate(divide="ignore"):
            log_miss = np.log1p(-np.minimum(1.0, t / self.counts))
        miss = np.exp(np.bincount(self.rows, weights=log_miss, minlength=self.size))
        return np.where(self.empty, self.empty_keep, 1.0 - miss)


def solve_t(pool: EntryCounts, target_size: int, keep_no_entries: bool = False) -> float:
    """The t whose expected kept count over the pool is `target_size`, from the sample.

    A target above what any t keeps gives the largest count (nothing capped)."""
    if not pool.records:
        return 1.0  # nothing to keep: any t does
    if not pool.sample:
        raise ValueError("balance: a target size needs the count pass's sample (sample_size > 0)")
    largest = float(max(pool.counts.values(), default=1))
    arrays = _SampleArrays(pool.sample, pool.counts, keep_no_entries)
    share = target_size / pool.records
    if arrays.keep(largest).mean() <= share:
        return largest
    low, high = 0.0, largest
    for _ in range(BISECTION_STEPS):
        middle = (low + high) / 2
        if arrays.keep(middle).mean() < share:
            low = middle
        else:
            high = middle
    return high


def count_combine(options: BalanceOptions) -> EntryCountCombine:
    """The count pass for these options; the sample also feeds the head-record shares."""
    return EntryCountCombine(sample_size=SAMPLE_SIZE, seed=options.seed)


def effective_t(pool: EntryCounts, options: BalanceOptions) -> float:
    if options.target_size is not None:
        return solve_t(pool, options.target_size, options.keep_no_entries)
    return float(options.t if options.t is not None else DEFAULT_T)


class Verdict(NamedTuple):
    keep_prob: float
    reason: str  # "" when kept, else the Drop reason
    detail: str = ""


def judge(
    key: str, entries: list[str], pool: EntryCounts, t: float, options: BalanceOptions
) -> Verdict:
    """Keep or drop one record with these entries: the seeded draw and its keep_prob."""
    if not entries:
        if options.keep_no_entries:
            return Verdict(1.0, "")
        return Verdict(0.0, "no_entries", NO_ENTRIES_DETAIL)
    counts = []
    for entry in entries:
        if entry not in pool.counts:
            raise StageError("entry_not_counted", f"entry {entry!r} missing from the counts")
        counts.append(pool.counts[entry])
    keep_prob = keep_probability(counts, t)
    for entry, count in zip(entries, counts, strict=True):
        if count <= t or draw(options.seed, entry, key) < t / count:  # a tail entry always draws
            return Verdict(keep_prob, "")
    detail = not_sampled_detail(pool, entries, counts, keep_prob, t)
    return Verdict(keep_prob, "not_sampled", detail)


def not_sampled_detail(
    pool: EntryCounts, entries: list[str], counts: list[int], keep_prob: float, t: float
) -> str:
    """A not_sampled Drop's detail: its keep_prob and its three largest entries."""
    heads = sorted(zip(counts, entries, strict=True), reverse=True)[:3]
    named = ", ".join(_label(pool, e, c) for c, e in heads)
    return f"keep_prob={keep_prob:.4g} at t={t:g}; its largest entries: {named}"


class Balancer:
    """The unit function: (tagged record, entry counts) -> balanced record or a Drop.

    A record that already carries `entries` (annotated once upstream, so both passes
    share one extraction) is balanced on them; otherwise the extractor finds them. The
    effective t is solved once per pool object (a side input is one object per worker),
    or given to `decide` by a caller that already has it."""

    def __init__(self, extractor: EntryExtractor | None, options: BalanceOptions) -> None:
        self.extractor = extractor
        self.options = options
        self._pool: EntryCounts | None = None
        self._t = 0.0

    def t_for(self, pool: EntryCounts) -> float:
        if pool is not self._pool:  # holding the pool keeps its identity unique
            self._t, self._pool = effective_t(pool, self.options), pool
        return self._t

    def entries_of(self, record: dict[str, Any]) -> list[str]:
        entries = record.get("entries")
        if entries is not None:
            return list(entries)
        if self.extractor is None:
            raise StageError("entries_missing", "record has no `entries` and no extractor")
        return list(self.extractor(record))

    def __call__(self, record: dict[str, Any], pool: EntryCounts) -> UnitResult:
        return self.decide(record, pool, self.t_for(pool))

    def decide(self, record: dict[str, Any], pool: EntryCounts, t: float) -> UnitResult:
        key, entries = record["key"], self.entries_of(record)
        verdict = judge(key, entries, pool, t, self.options)
        if verdict.reason:
            source = record.get("source_uri") or ""
            return UnitResult(drops=[Drop(key, verdict.reason, source, verdict.detail)])
        return UnitResult(records=[_out(record, entries, verdict.keep_prob)])


def _out(record: dict[str, Any], entries: list[str], keep_prob: float) -> dict[str, Any]:
    out = dict(record)  # one copy: this runs for every kept record
    out["entries"], out["keep_prob"] = list(entries), keep_prob
    if out.keys() != _BALANCED_FIELDS:  # a record short of fields, or with extra ones
        return new_record(BALANCED_SCHEMA, **out)
    return out


def _label(pool: EntryCounts, entry: str, count: int) -> str:
    name = pool.name(entry)
    return f"{entry} ({count})" if name == entry else f"{entry} {name} ({count})"
