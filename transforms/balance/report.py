"""What the balance stage reports: the entry-count table and the head/tail statistics.

`before` is the count pass over the stage's input, `after` the same combine over the
records it kept. Tail entries (count <= t) keep every record, so their two counts are
equal; a head entry ends near t plus the records other entries kept for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from transforms.balance.plot import plot_entry_counts
from transforms.balance.pool import EntryCounts

TOP_HEAD = 10


def entry_count_rows(before: EntryCounts, after: EntryCounts) -> list[dict[str, Any]]:
    """One row per counted entry (ENTRY_COUNT_SCHEMA), largest count first, then by entry."""
    order = sorted(before.counts.items(), key=lambda item: (-item[1], item[0]))
    return [
        {
            "entry": entry,
            "name": before.name(entry),
            "count_before": count,
            "count_after": after.counts.get(entry, 0),
        }
        for entry, count in order
    ]


def _pair_share(pool: EntryCounts, head: set[str]) -> float:
    total = sum(pool.counts.values())
    return sum(pool.counts.get(e, 0) for e in head) / total if total else 0.0


def _record_share(pool: EntryCounts, head: set[str]) -> float:
    # from the bottom-k sample: exact when the pool fits in it
    if not pool.sample:
        return 0.0
    return sum(any(e in head for e in s) for s in pool.sample) / len(pool.sample)


def balance_stats(before: EntryCounts, after: EntryCounts, t: float) -> dict[str, Any]:
    """Head/tail statistics for stats.json (the effective t under `t`)."""
    head = {e for e, c in before.counts.items() if c > t}
    top = entry_count_rows(before, after)[:TOP_HEAD]
    return {
        "t": t,
        "entries": len(before.counts),
        "head_entries": len(head),
        "tail_entries": len(before.counts) - len(head),
        "records_before": before.records,
        "records_after": after.records,
        "records_without_entries": before.no_entries,
        # share of (record, entry) pairs that belong to head entries
        "head_pair_share_before": round(_pair_share(before, head), 6),
        "head_pair_share_after": round(_pair_share(after, head), 6),
        # share of records holding at least one head entry, over each pass's sample
        "head_record_share_before": round(_record_share(before, head), 6),
        "head_record_share_after": round(_record_share(after, head), 6),
        "record_share_sampled": [len(before.sample), len(after.sample)],
        "top_entries": top,
    }


@dataclass(frozen=True)
class BalanceOutcome:
    """The whole-pool result of balancing: counts before and after, and the t used."""

    before: EntryCounts
    after: EntryCounts
    t: float

    def rows(self) -> list[dict[str, Any]]:
        return entry_count_rows(self.before, self.after)

    def stats(self) -> dict[str, Any]:
        return balance_stats(self.before, self.after, self.t)

    def plot(self) -> bytes:
        return plot_entry_counts(self.before.counts.values(), self.after.counts.values(), self.t)
