"""Run the dedup stage's pure parts the way the pipeline does: prepare each record, the
pool combine over two accumulators merged, group keys (a record and its visitor copies),
then the unit per group."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from pipeline.stage_spec import group_pairs, unit_members
from transforms.dedup.clusters import make_group_key
from transforms.dedup.config import DedupConfig
from transforms.dedup.pool import DedupPoolCombine
from transforms.dedup.prepare import make_prepare
from transforms.dedup.unit import make_dedup_fn
from transforms.ledger import Drop, Ledger


@dataclass
class DedupRun:
    kept: list[dict] = field(default_factory=list)
    drops: list[Drop] = field(default_factory=list)
    duplicates: list[dict] = field(default_factory=list)
    ledger: Ledger = field(default_factory=Ledger)

    @property
    def kept_keys(self) -> set[str]:
        return {r["key"] for r in self.kept}

    def dup_of(self) -> dict[str, str]:
        return {row["key"]: row["dup_of"] for row in self.duplicates}


def run_dedup(records: list[dict], config: DedupConfig, split: int = 2) -> DedupRun:
    prepare = make_prepare(config)
    prepared = [prepare(r) for r in records]
    combine = DedupPoolCombine(config)
    accs = []
    for part in range(split):
        acc = combine.create_accumulator()
        for record in prepared[part::split]:
            acc = combine.add_input(acc, record)
        accs.append(acc)
    pool = combine.extract_output(combine.merge_accumulators(accs))
    group_of = make_group_key(config)
    groups: dict[str, list[dict]] = defaultdict(list)
    for record in prepared:
        for key, copy in group_pairs(group_of(record, pool), record):
            groups[key].append(copy)
    fn = make_dedup_fn(config)
    run = DedupRun()
    for key in sorted(groups):
        result = fn((key, groups[key]), pool)
        assert result.error is None, result.error
        run.kept += result.records
        run.drops += result.drops
        run.duplicates += result.extra["duplicates"]
        rows = len(unit_members(groups[key]))
        run.ledger = run.ledger.merge(Ledger.of(result, rows=rows))
    return run
