"""The generic Beam transform that runs any stage: prepare, pool pass, grouping, units."""

from __future__ import annotations

from typing import Any

import apache_beam as beam
import pyarrow as pa
from apache_beam.metrics import Metrics
from apache_beam.transforms.window import GlobalWindows

import pipeline.arrow_coder  # noqa: F401 - registers the coder of batched units
from pipeline.stage_spec import StageSpec, group_pairs, unit_members
from pipeline.staging import localize_config
from schemas import DROP_SCHEMA
from transforms.ledger import Drop, Failure, Ledger, UnitResult, run_unit

RECORDS, DROPS, ERRORS, LEDGER, POOL = "records", "drops", "errors", "ledger", "pool"


def extra_tag(name: str) -> str:
    return f"extra:{name}"


def unit_rows(spec: StageSpec, unit: Any) -> list[dict[str, Any]] | None:
    """The rows a group or batch unit holds (None for a single-record unit)."""
    if spec.group_key is not None:
        return unit_members(list(unit[1]))
    if spec.batched:
        return unit.select(["key", "source_uri"]).to_pylist()
    return None


def row_failures(failure: Failure, rows: list[dict[str, Any]]) -> list[Failure]:
    """A failed group or batch is an error for each of its rows."""
    return [
        Failure(r.get("key") or "", r.get("source_uri") or "", failure.error_type, failure.message)
        for r in rows
    ]


class StageDoFn(beam.DoFn):
    def __init__(self, spec: StageSpec, config: Any) -> None:
        self.spec = spec
        self.config = config
        self.fn = None

    def setup(self) -> None:
        # heavy things (automata, models) load once per worker, here
        self.fn = self.spec.make_fn(localize_config(self.config, self.spec.staged_paths))

    def _count(self, name: str, n: int = 1) -> None:
        if n:
            Metrics.counter(self.spec.name, name).inc(n)

    def _call(self, unit: Any, pool: Any) -> UnitResult:
        if self.spec.pool is None:
            return self.fn(unit)
        return self.fn(unit, pool)

    def process(self, unit: Any, pool: Any = None):
        rows = unit_rows(self.spec, unit)
        if rows is None:
            key, uri = self.spec.unit_key(unit)
        else:
            key, uri = (
                (rows[0].get("key") or "", rows[0].get("source_uri") or "") if rows else ("", "")
            )
        result = run_unit(lambda u: self._call(u, pool), unit, key, uri)
        ledger = Ledger.of(result, rows=1 if rows is None else len(rows))
        self._count("in", ledger.inputs)
        self._count("out", ledger.out)
        self._count("errors", sum(ledger.errors.values()))
        self._count("dropped", sum(ledger.dropped.values()))
        if isinstance(result.records, pa.Table | pa.RecordBatch):
            if len(result.records):
                yield result.records
        else:
            yield from result.records
        drops = [drop_row(self.spec.name, drop, uri) for drop in result.drops]
        if self.spec.batched and drops:  # one table, not an element per dropped row
            yield beam.pvalue.TaggedOutput(DROPS, pa.Table.from_pylist(drops, schema=DROP_SCHEMA))
        else:
            for row in drops:
                yield beam.pvalue.TaggedOutput(DROPS, row)
        if result.error is not None:
            failures = [result.error] if rows is None else row_failures(result.error, rows)
            for err in failures:
                yield beam.pvalue.TaggedOutput(ERRORS, error_row(self.spec.name, err))
        for name, extra_rows in result.extra.items():
            for row in extra_rows:
                yield beam.pvalue.TaggedOutput(extra_tag(name), row)
        yield beam.pvalue.TaggedOutput(LEDGER, ledger)


def drop_row(stage: str, drop: Drop, uri: str = "") -> dict[str, Any]:
    return {
        "stage": stage,
        "key": drop.key,
        "source_uri": drop.source_uri or uri,
        "reason": drop.reason,
        "detail": drop.detail,
    }


def error_row(stage: str, err: Failure) -> dict[str, Any]:
    return {
        "stage": stage,
        "key": err.key,
        "source_uri": err.source_uri,
        "error_type": err.error_type,
        "message": err.message,
    }


class MergeLedgers(beam.CombineFn):
    def create_accumulator(self) -> Ledger:
        return Ledger()

    def add_input(self, acc: Ledger, ledger: Ledger) -> Ledger:
        return acc.merge(ledger)

    def merge_accumulators(self, accs) -> Ledger:
        return Ledger.total(accs)

    def extract_output(self, acc: Ledger) -> Ledger:
        return acc


class PoolCombineFn(beam.CombineFn):
    """A stage's pure-Python pool combine, as a Beam CombineFn."""

    def __init__(self, combine: Any) -> None:
        self.combine = combine

    def create_accumulator(self):
        return self.combine.create_accumulator()

    def add_input(self, acc, record):
        return self.combine.add_input(acc, record)

    def merge_accumulators(self, accs):
        return self.combine.merge_accumulators(list(accs))

    def extract_output(self, acc):
        return self.combine.extract_output(acc)


class PrepareDoFn(beam.DoFn):
    """The per-record step before the pool pass. A prepare function with a `batch` method
    (records -> prepared records) and a `batch_size` is given records that many at a time,
    the rest at the end of the bundle (dedup embeds its captions so)."""

    def __init__(self, spec: StageSpec, config: Any) -> None:
        self.spec = spec
        self.config = config
        self.prepare = None
        self.batch_size = 0  # 0: one record at a time
        self.pending: list[Any] = []

    def setup(self) -> None:
        self.prepare = self.spec.prepare(localize_config(self.config, self.spec.staged_paths))
        if hasattr(self.prepare, "batch"):
            self.batch_size = self.prepare.batch_size

    def start_bundle(self) -> None:
        self.pending = []

    def process(self, record: dict[str, Any]):
        if not self.batch_size:
            yield self.prepare(record)
            return
        self.pending.append(record)
        if len(self.pending) >= self.batch_size:
            batch, self.pending = self.pending, []
            yield from self.prepare.batch(batch)

    def finish_bundle(self):
        if self.pending:
            batch, self.pending = self.pending, []
            for prepared in self.prepare.batch(batch):
                yield GlobalWindows.windowed_value(prepared)  # stages run in the global window


class RunStage(beam.PTransform):
    """units -> {records, drops, errors, ledger (one merged Ledger), pool, extra:<name>...}."""

    def __init__(self, spec: StageSpec, config: Any) -> None:
        super().__init__(label=f"Run{spec.name.capitalize()}")
        self.spec = spec
        self.config = config

    def _pool(self, units):
        pool = self.spec.pool
        if pool.make_transform is not None:
            return units | "Pool" >> pool.make_transform(self.config)
        combine = PoolCombineFn(pool.make_combine(self.config))
        return units | "Pool" >> beam.CombineGlobally(combine)

    def expand(self, units):
        spec, config = self.spec, self.config
        if spec.prepare is not None:
            prepare = beam.ParDo(PrepareDoFn(spec, config))
            if spec.batched:  # Arrow units get ArrowCoder (pipeline/arrow_coder.py)
                prepare = prepare.with_output_types(pa.Table)
            if spec.resource_hints is not None:  # dedup embeds here: its accelerator too
                prepare = prepare.with_resource_hints(**spec.resource_hints(config))
            units = units | "Prepare" >> prepare
        pool = self._pool(units) if spec.pool is not None else None
        side = {"pool": beam.pvalue.AsSingleton(pool)} if pool is not None else {}
        if spec.group_key is not None:
            group_of = spec.group_key(config)
            units = (
                units
                | "GroupKey"
                >> beam.FlatMap(lambda r, pool=None: group_pairs(group_of(r, pool), r), **side)
                | "Group" >> beam.GroupByKey()
            )
        process = beam.ParDo(StageDoFn(spec, config), **side)
        if spec.batched:
            process = process.with_output_types(pa.Table, **{DROPS: pa.Table})
        if spec.resource_hints is not None:
            process = process.with_resource_hints(**spec.resource_hints(config))
        tags = [DROPS, ERRORS, LEDGER, *(extra_tag(x.name) for x in spec.extra_outputs)]
        outs = units | "Process" >> process.with_outputs(*tags, main=RECORDS)
        records, drops, ledgers = outs[RECORDS], outs[DROPS], outs[LEDGER]
        if spec.regroup is not None:
            from pipeline.regroup import RegroupRecords

            side_table = spec.regroup.side_table
            side_rows = outs[extra_tag(side_table)] if side_table else None
            regrouped = records | RegroupRecords(spec.name, spec.regroup, side_rows)
            records = regrouped["records"]
            drops = (drops, regrouped[DROPS]) | "AllDrops" >> beam.Flatten()
            ledgers = (ledgers, regrouped[LEDGER]) | "AllLedgers" >> beam.Flatten()
        ledger = ledgers | "MergeLedger" >> beam.CombineGlobally(MergeLedgers())
        result = {RECORDS: records, DROPS: drops, ERRORS: outs[ERRORS], LEDGER: ledger}
        if pool is not None:
            result[POOL] = pool
        for extra in spec.extra_outputs:
            if extra.from_pool is not None:
                rows = pool | f"Rows[{extra.name}]" >> beam.FlatMap(extra.from_pool)
            else:
                rows = outs[extra_tag(extra.name)]
            result[extra_tag(extra.name)] = rows
        return result
