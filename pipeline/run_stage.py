"""The generic Beam transform that runs any stage's unit function."""

from __future__ import annotations

from typing import Any

import apache_beam as beam
from apache_beam.metrics import Metrics

from pipeline.stage_spec import StageSpec
from transforms.ledger import Ledger, run_unit

RECORDS, DROPS, ERRORS, LEDGER = "records", "drops", "errors", "ledger"


class StageDoFn(beam.DoFn):
    def __init__(self, spec: StageSpec, config: Any) -> None:
        self.spec = spec
        self.config = config
        self.fn = None

    def setup(self) -> None:
        # heavy things (automata, models) load once per worker, here
        self.fn = self.spec.make_fn(self.config)

    def _count(self, name: str, n: int = 1) -> None:
        if n:
            Metrics.counter(self.spec.name, name).inc(n)

    def process(self, unit: Any):
        key, uri = self.spec.unit_key(unit)
        result = run_unit(self.fn, unit, key, uri)
        ledger = Ledger.of(result)
        self._count("in")
        self._count("in_with_output", ledger.in_with_output)
        self._count("in_empty", ledger.in_empty)
        self._count("found", ledger.found)
        self._count("out", ledger.out)
        for error_type, n in ledger.errors.items():
            self._count(f"errors.{error_type}", n)
        for reason, n in ledger.dropped.items():
            self._count(f"dropped.{reason}", n)
        yield from result.records
        for drop in result.drops:
            yield beam.pvalue.TaggedOutput(
                DROPS,
                {
                    "stage": self.spec.name,
                    "key": drop.key,
                    "source_uri": drop.source_uri or uri,
                    "reason": drop.reason,
                    "detail": drop.detail,
                },
            )
        if result.error is not None:
            err = result.error
            yield beam.pvalue.TaggedOutput(
                ERRORS,
                {
                    "stage": self.spec.name,
                    "key": err.key,
                    "source_uri": err.source_uri,
                    "error_type": err.error_type,
                    "message": err.message,
                },
            )
        yield beam.pvalue.TaggedOutput(LEDGER, ledger)


class MergeLedgers(beam.CombineFn):
    def create_accumulator(self) -> Ledger:
        return Ledger()

    def add_input(self, acc: Ledger, ledger: Ledger) -> Ledger:
        return acc.merge(ledger)

    def merge_accumulators(self, accs) -> Ledger:
        return Ledger.total(accs)

    def extract_output(self, acc: Ledger) -> Ledger:
        return acc


class RunStage(beam.PTransform):
    """units -> {records, drops, errors, ledger (one merged Ledger)}."""

    def __init__(self, spec: StageSpec, config: Any) -> None:
        super().__init__(label=f"Run{spec.name.capitalize()}")
        self.spec = spec
        self.config = config

    def expand(self, units):
        outs = units | "Process" >> beam.ParDo(StageDoFn(self.spec, self.config)).with_outputs(
            DROPS, ERRORS, LEDGER, main=RECORDS
        )
        ledger = outs[LEDGER] | "MergeLedger" >> beam.CombineGlobally(MergeLedgers())
        return {
            RECORDS: outs[RECORDS],
            DROPS: outs[DROPS],
            ERRORS: outs[ERRORS],
            LEDGER: ledger,
        }
