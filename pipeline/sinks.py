"""Write a stage's folder: hash-sharded, ordered shards through `ShardWriter`s, the extra
tables, dead letters and dropped records. `stats.json` is made afterwards, from what was
written (pipeline/ledger_check.py)."""

from __future__ import annotations

import json
import math
import zlib
from collections import Counter
from typing import Any

import apache_beam as beam
import pyarrow as pa
from apache_beam.io.filesystems import FileSystems

from pipeline.run_stage import DROPS, ERRORS, LEDGER, RECORDS, extra_tag
from pipeline.stage_spec import ExtraOutput, ShardOutput, parquet_data_output
from schemas import DROP_SCHEMA, ERROR_SCHEMA
from transforms.ledger import Ledger, stats_json
from transforms.shards import ParquetShardWriter

DEAD_LETTERS_PER_SHARD = 100_000
ORDER_FIELDS = ("key", "image_sha256", "source_uri")


def shard_of(key: str, num_shards: int) -> int:
    return zlib.crc32(key.encode("utf-8")) % num_shards


def shard_name(prefix: str, index: int, total: int) -> str:
    return f"{prefix}-{index:05d}-of-{total:05d}.parquet"


def by_key(table: pa.Table, key_field: str = "key") -> pa.Table:
    """The default shard order: by key, ties by image hash and source."""
    fields = [key_field] + [f for f in ORDER_FIELDS if f != key_field]
    present = [f for f in fields if f in table.column_names]
    return table.sort_by([(f, "ascending") for f in present])


def as_table(pieces: list[Any], schema: pa.Schema) -> pa.Table:
    """One table from a shard's pieces: record dicts and tables/batches, in any mix."""
    rows = [p for p in pieces if isinstance(p, dict)]
    tables = [pa.Table.from_pylist(rows, schema=schema)] if rows or not pieces else []
    for piece in pieces:
        if isinstance(piece, pa.RecordBatch):
            piece = pa.Table.from_batches([piece])
        if isinstance(piece, pa.Table):
            tables.append(piece.select(schema.names).cast(schema))
    return pa.concat_tables(tables) if tables else schema.empty_table()


def _partition_counts(element: Any, field: str | None) -> list[tuple[str, int]]:
    if isinstance(element, dict):
        return [((element.get(field) or "") if field else "", 1)]
    if field is None:
        return [("", len(element))]
    counts = Counter(element.column(field).to_pylist())
    return [(k or "", n) for k, n in counts.items()]


def _shard_pieces(element: Any, key_field: str, field: str | None, nshards: dict[str, int]):
    """(partition, shard) -> a record dict, or the rows of a batch that fall in that shard."""
    if isinstance(element, dict):
        part = (element.get(field) or "") if field else ""
        yield (part, shard_of(element.get(key_field) or "", nshards[part])), element
        return
    keys = element.column(key_field).to_pylist()
    parts = element.column(field).to_pylist() if field else [""] * len(keys)
    groups: dict[tuple[str, int], list[int]] = {}
    for i, (key, part) in enumerate(zip(keys, parts, strict=True)):
        part = part or ""
        groups.setdefault((part, shard_of(key or "", nshards[part])), []).append(i)
    for shard, indices in groups.items():
        yield shard, element.take(pa.array(indices, pa.int64()))


class WriteShards(beam.PTransform):
    """Rows (dicts or tables) -> the shard files of one `ShardOutput`; every shard of every
    partition is written, its count following from the rows and `rows_per_shard`."""

    def __init__(
        self,
        folder: str,
        name: str,
        output: ShardOutput,
        schema: pa.Schema,
        rows_per_shard: int,
        key_field: str = "key",
        partitions: tuple[str, ...] = ("",),
    ) -> None:
        super().__init__(label=f"Write[{name}]")
        self.folder = folder.rstrip("/")
        self.output = output
        self.schema = schema
        self.rows_per_shard = rows_per_shard
        self.key_field = key_field
        self.partitions = partitions

    def expand(self, rows):
        rps, field, key_field = self.rows_per_shard, self.output.partition_field, self.key_field
        forced = self.partitions if field else ("",)
        counts = (
            rows
            | "CountParts" >> beam.FlatMap(_partition_counts, field)
            | "SumParts" >> beam.CombinePerKey(sum)
            | "AllCounts" >> beam.combiners.ToDict()
            | "NumShards"
            >> beam.Map(lambda c: {p: max(1, math.ceil(c.get(p, 0) / rps)) for p in {*c, *forced}})
        )
        nshards = beam.pvalue.AsSingleton(counts)
        keyed = rows | "Key" >> beam.FlatMap(_shard_pieces, key_field, field, nshards)
        every_shard = counts | "AllShards" >> beam.FlatMap(
            lambda n: [((p, i), None) for p, total in n.items() for i in range(total)]
        )
        grouped = (every_shard, keyed) | "Flatten" >> beam.Flatten() | "Group" >> beam.GroupByKey()
        folder, output, schema = self.folder, self.output, self.schema

        def write(item, n):
            (part, index), pieces = item
            table = as_table([p for p in pieces if p is not None], schema)
            table = output.order(table) if output.order else by_key(table, key_field)
            path = f"{folder}/{output.path(part, index, n[part])}"
            with FileSystems.create(path) as handle:
                output.writer.write(table, handle)
            return path

        return grouped | "Write" >> beam.Map(write, n=nshards)


def parquet_table(name: str, schema: pa.Schema) -> ShardOutput:
    return ShardOutput(
        writer=ParquetShardWriter(schema),
        path=lambda _part, i, n: shard_name(name, i, n),
        glob=f"{name}-*.parquet",
    )


class WriteStageFolder(beam.PTransform):
    """The stage contract's folder: record shards, extra tables, errors, dropped, and the
    unit-side ledger (`stats.json`, replaced by the checked one after the run)."""

    def __init__(
        self,
        folder: str,
        stage: str,
        schema: pa.Schema,
        records_per_shard: int = 2000,
        outputs: list[ShardOutput] | None = None,
        extra_outputs: tuple[ExtraOutput, ...] = (),
        partitions: tuple[str, ...] = ("",),
        listing: Any = None,
    ) -> None:
        super().__init__(label=f"Write{stage.capitalize()}Folder")
        # extract's listing counts (one dict), kept in stats.json for the ledger check
        self.listing = listing
        self.folder = folder.rstrip("/")
        self.stage = stage
        self.schema = schema
        self.records_per_shard = records_per_shard
        self.outputs = outputs or [parquet_data_output(schema)]
        self.extra_outputs = extra_outputs
        self.partitions = partitions

    def expand(self, outputs: dict[str, Any]):
        folder, rps = self.folder, self.records_per_shard
        for i, shard_output in enumerate(self.outputs):
            rows = shard_output.rows_per_shard or rps
            partitions = shard_output.partitions or self.partitions
            outputs[RECORDS] | f"Records{i}" >> WriteShards(
                folder, f"records{i}", shard_output, self.schema, rows, partitions=partitions
            )
        for extra in self.extra_outputs:
            outputs[extra_tag(extra.name)] | f"Extra[{extra.name}]" >> WriteShards(
                folder,
                extra.name,
                parquet_table(extra.name, extra.schema),
                extra.schema,
                DEAD_LETTERS_PER_SHARD,
                key_field=extra.key_field,
            )
        for tag, schema, name in (
            (ERRORS, ERROR_SCHEMA, "errors"),
            (DROPS, DROP_SCHEMA, "dropped"),
        ):
            outputs[tag] | f"Dead[{name}]" >> WriteShards(
                folder, name, parquet_table(name, schema), schema, DEAD_LETTERS_PER_SHARD
            )
        stage = self.stage

        def write_unit_ledger(ledger: Ledger, listing: Any = None) -> dict[str, Any]:
            stats = ledger.to_stats(stage)
            if listing is not None:
                stats["listing"] = listing
            with FileSystems.create(f"{folder}/stats.json") as handle:
                handle.write(stats_json(stats).encode("utf-8"))
            return stats

        side = {"listing": beam.pvalue.AsSingleton(self.listing)} if self.listing else {}
        return outputs[LEDGER] | "WriteStats" >> beam.Map(write_unit_ledger, **side)


def read_stats(folder: str) -> dict[str, Any]:
    with FileSystems.open(f"{folder.rstrip('/')}/stats.json") as handle:
        return json.loads(handle.read().decode("utf-8"))
