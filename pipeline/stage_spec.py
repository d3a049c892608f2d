"""What a stage is to the Beam wiring (contract v2).

A stage is its name, the record kinds it reads and writes, its options and config, and a
unit function from `transforms/` that maps one unit to a `UnitResult`. Whole-pool stages
add any of:

- `prepare`: a per-record step run before the pool pass (e.g. balance's entries), loaded
  once per worker;
- `pool`: a whole-pool pass (a combine, or a small Beam sub-pipeline) whose one result
  reaches the unit function as a side input: `fn(unit, pool)`;
- `group_key`: units are groups of records, `(group_key, [records])`, after a GroupByKey;
  it may send one record to several groups: its home group, where it is a unit row, and
  others as a query-only copy flagged `VISITOR` (dedup's cluster visitors), never a row;
- `extra_outputs`: named tables beside `data-*`, from `UnitResult.extra` or from the pool;
- `outputs`: the shard writers (default: one Parquet `data-*` set);
- `resource_hints`: Beam resource hints (e.g. an accelerator for dedup);
- `batched`: units are pyarrow RecordBatches and records come back as batches;
- `regroup`: after the units, records meet by a group key and one function keeps some
  (extract: one source per article);
- `finalize`: files made from the finished folder after the run (export's card);
- `summary`: from the pool's result, keys for `stats.json` and files beside it (balance's
  head/tail statistics, its effective t and `entry_counts.png`).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from transforms.ledger import VISITOR, UnitResult
from transforms.shards import ParquetShardWriter, ShardWriter

StageFn = Callable[..., UnitResult]
Record = dict[str, Any]


def group_pairs(keys: str | list[tuple[str, Record]], record: Record) -> list[tuple[str, Record]]:
    """A `group_key` result as (group, record) pairs: a plain key is the home group alone;
    a list is (home group, record) first, then (group, visitor copy with VISITOR set)."""
    if isinstance(keys, str):
        return [(keys, record)]
    return keys


def unit_members(records: list[Record]) -> list[Record]:
    """A group's own rows: its records less the visitor copies."""
    return [r for r in records if not r.get(VISITOR)]


@dataclass(frozen=True)
class PoolPass:
    """A step over the stage's whole input; its result is the unit function's side input.

    Give `make_combine` (config -> an object with create_accumulator, add_input,
    merge_accumulators and extract_output, wrapped in a `beam.CombineFn`) or
    `make_transform` (config -> a PTransform from the records to one value)."""

    make_combine: Callable[[Any], Any] | None = None
    make_transform: Callable[[Any], Any] | None = None


@dataclass(frozen=True)
class Regroup:
    """After the units: records meet by `group_key` and `fn((group_key, records))` keeps
    some and drops the rest (extract's one source per article)."""

    group_key: Callable[[Record], str]
    # (group, side) -> kept records and drops; `side` is None without a side table
    fn: Callable[[tuple[str, list[Record]], Any], UnitResult]
    # an extra table of the units whose rows, made one value by `index`, reach `fn` as
    # `side` (extract: the retraction notices' targets)
    side_table: str | None = None
    index: Callable[[list[Record]], Any] | None = None


@dataclass(frozen=True)
class ExtraOutput:
    """A named table written beside `data-*`: `name-SSSSS-of-NNNNN.parquet`."""

    name: str
    schema: pa.Schema
    # the column that shards and orders it
    key_field: str
    # rows made from the pool's result; without it rows come from `UnitResult.extra[name]`
    from_pool: Callable[[Any], Iterable[Record]] | None = None


@dataclass(frozen=True)
class ShardOutput:
    """One set of shard files a stage writes its records to.

    `path(partition, index, total)` names a shard relative to the stage folder; records are
    partitioned by `partition_field` (None: one partition, "") and each partition gets its
    own shard count; `order(table)` puts a shard's rows in their final order."""

    writer: ShardWriter
    path: Callable[[str, int, int], str]
    # the shard files, relative to the stage folder, for reading the row count back
    glob: str
    partition_field: str | None = None
    order: Callable[[pa.Table], pa.Table] | None = None
    # rows per shard for this set (None: the run's --records-per-shard)
    rows_per_shard: int | None = None
    # partitions written even when they get no rows (None: the stage folder's default)
    partitions: tuple[str, ...] | None = None


def data_shard_path(partition: str, index: int, total: int) -> str:
    return f"data-{index:05d}-of-{total:05d}.parquet"


def parquet_data_output(schema: pa.Schema) -> ShardOutput:
    return ShardOutput(
        writer=ParquetShardWriter(schema), path=data_shard_path, glob="data-*.parquet"
    )


@dataclass(frozen=True)
class StageSpec:
    name: str
    # folder name of the record kind it writes, e.g. "figures"
    output_kind: str
    # record kind it reads, or None for article sources (extract)
    input_kind: str | None
    add_arguments: Callable[[argparse.ArgumentParser], None]
    # builds a picklable config from the CLI arguments
    make_config: Callable[[argparse.Namespace], Any]
    # builds the unit function from the config, once per worker (DoFn.setup)
    make_fn: Callable[[Any], StageFn]
    # (key, source_uri) of an input unit, for error records
    unit_key: Callable[[Any], tuple[str, str]]
    prepare: Callable[[Any], Callable[[Record], Record]] | None = None
    pool: PoolPass | None = None
    # config -> (record, pool) -> group key, or [(home key, record), (key, visitor), ...]
    group_key: Callable[[Any], Callable[[Record, Any], str]] | None = None
    extra_outputs: tuple[ExtraOutput, ...] = ()
    # config -> the shard sets its records go to; None: Parquet `data-*`
    outputs: Callable[[Any], list[ShardOutput]] | None = None
    # config -> Beam resource hints, e.g. {"accelerator": "type:nvidia-l4;count:1"}
    resource_hints: Callable[[Any], dict[str, str]] | None = None
    batched: bool = False
    regroup: Regroup | None = None
    # (config, folder, input folder) -> None: files made from the finished folder (export's
    # sizes.json, card, croissant.json), run after the folder is in place
    finalize: Callable[[Any, str, str], None] | None = None
    # config -> (pool result -> (keys added to stats.json, files written beside it by name))
    summary: Callable[[Any], Callable[[Any], tuple[dict[str, Any], dict[str, bytes]]]] | None = None
    # dotted config fields naming files or folders the workers read (lexicon, model): on a
    # remote runner local ones are staged, and workers copy gs:// or s3:// ones to local disk
    staged_paths: tuple[str, ...] = ()


def record_key(record: Record) -> tuple[str, str]:
    return record.get("key") or "", record.get("source_uri") or ""
