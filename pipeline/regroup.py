"""A stage's regroup step: after its units, records meet by a group key and one function
decides over each group (extract: one source per article, `duplicate_source`).

The step only removes records it had been given, so its ledger is a correction to the
stage's: `out` goes down by what it drops and `dropped` up by the same. A group whose
function fails is not lost: each of its records becomes a drop with the error's type as
the reason.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import apache_beam as beam

from pipeline.run_stage import DROPS, LEDGER, drop_row
from pipeline.stage_spec import Regroup
from transforms.ledger import Drop, Ledger, StageError


class RegroupDoFn(beam.DoFn):
    def __init__(self, stage: str, regroup: Regroup) -> None:
        self.stage = stage
        self.regroup = regroup

    def process(self, unit: tuple[str, Any], side: Any = None):
        group_key, records = unit[0], list(unit[1])
        try:
            result = self.regroup.fn((group_key, records), side)
            kept, drops = list(result.records), list(result.drops)
        except StageError as exc:
            kept = []
            drops = [
                Drop(r["key"], exc.error_type, r.get("source_uri") or "", exc.message)
                for r in records
            ]
        if len(kept) + len(drops) != len(records):
            raise RuntimeError(f"regroup of {group_key!r} lost records")  # a bug, not input
        yield from kept
        for drop in drops:
            yield beam.pvalue.TaggedOutput(DROPS, drop_row(self.stage, drop))
        if drops:
            yield beam.pvalue.TaggedOutput(
                LEDGER, Ledger(out=-len(drops), dropped=Counter(d.reason for d in drops))
            )


class RegroupRecords(beam.PTransform):
    """`side_rows`: the rows of the regroup's side table, when it names one."""

    def __init__(self, stage: str, regroup: Regroup, side_rows=None) -> None:
        super().__init__(label=f"Regroup{stage.capitalize()}")
        self.stage = stage
        self.regroup = regroup
        self.side_rows = side_rows

    def expand(self, records):
        group_of, index = self.regroup.group_key, self.regroup.index or list
        side = {}
        if self.side_rows is not None:
            value = (
                self.side_rows
                | "SideRows" >> beam.combiners.ToList()
                | "SideIndex" >> beam.Map(index)
            )
            side = {"side": beam.pvalue.AsSingleton(value)}
        return (
            records
            | "Key" >> beam.Map(lambda r: (group_of(r), r))
            | "Group" >> beam.GroupByKey()
            | "Decide"
            >> beam.ParDo(RegroupDoFn(self.stage, self.regroup), **side).with_outputs(
                DROPS, LEDGER, main="records"
            )
        )
