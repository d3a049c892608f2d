"""Write a stage's folder: sorted, hash-sharded Parquet, dead letters, stats.json."""

from __future__ import annotations

import json
import math
import zlib
from typing import Any

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from schemas import DROP_SCHEMA, ERROR_SCHEMA
from transforms.ledger import Ledger, stats_json

ROW_GROUP_ROWS = 256


def shard_of(key: str, num_shards: int) -> int:
    return zlib.crc32(key.encode("utf-8")) % num_shards


def shard_name(prefix: str, index: int, total: int) -> str:
    return f"{prefix}-{index:05d}-of-{total:05d}.parquet"


def _sort_key(record: dict[str, Any]) -> tuple[str, str, str]:
    return (
        record.get("key") or "",
        record.get("image_sha256") or "",
        record.get("source_uri") or "",
    )


def write_parquet(path: str, schema: pa.Schema, records: list[dict[str, Any]]) -> None:
    records = sorted(records, key=_sort_key)
    table = pa.Table.from_pylist(records, schema=schema)
    with FileSystems.create(path) as handle:
        pq.write_table(table, handle, row_group_size=ROW_GROUP_ROWS, compression="zstd")


class WriteShards(beam.PTransform):
    """Records -> `prefix-SSSSS-of-NNNNN.parquet`, N from the count, every shard written."""

    def __init__(self, folder: str, prefix: str, schema: pa.Schema, records_per_shard: int):
        super().__init__(label=f"Write{prefix.capitalize()}")
        self.folder = folder.rstrip("/")
        self.prefix = prefix
        self.schema = schema
        self.records_per_shard = records_per_shard

    def expand(self, records):
        rps = self.records_per_shard
        count = records | "Count" >> beam.combiners.Count.Globally()
        nshards = count | "NumShards" >> beam.Map(lambda c: max(1, math.ceil(c / rps)))
        keyed = records | "Key" >> beam.Map(
            lambda r, n: (shard_of(r.get("key") or "", n), r), n=beam.pvalue.AsSingleton(nshards)
        )
        every_shard = nshards | "AllShards" >> beam.FlatMap(lambda n: [(i, None) for i in range(n)])
        grouped = (every_shard, keyed) | "Flatten" >> beam.Flatten() | "Group" >> beam.GroupByKey()
        folder, prefix, schema = self.folder, self.prefix, self.schema

        def write(item, n):
            index, rows = item
            path = f"{folder}/{shard_name(prefix, index, n)}"
            write_parquet(path, schema, [r for r in rows if r is not None])
            return path

        return grouped | "Write" >> beam.Map(write, n=beam.pvalue.AsSingleton(nshards))


class WriteStageFolder(beam.PTransform):
    """The stage contract's folder: data shards, errors, dropped, stats.json."""

    def __init__(
        self, folder: str, stage: str, schema: pa.Schema, records_per_shard: int = 2000
    ) -> None:
        super().__init__(label=f"Write{stage.capitalize()}Folder")
        self.folder = folder.rstrip("/")
        self.stage = stage
        self.schema = schema
        self.records_per_shard = records_per_shard

    def expand(self, outputs: dict[str, Any]):
        outputs["records"] | WriteShards(self.folder, "data", self.schema, self.records_per_shard)
        outputs["errors"] | WriteShards(self.folder, "errors", ERROR_SCHEMA, 100_000)
        outputs["drops"] | WriteShards(self.folder, "dropped", DROP_SCHEMA, 100_000)
        folder, stage = self.folder, self.stage

        def write_stats(ledger: Ledger) -> dict[str, Any]:
            stats = ledger.to_stats(stage)
            with FileSystems.create(f"{folder}/stats.json") as handle:
                handle.write(stats_json(stats).encode("utf-8"))
            return stats

        return outputs["ledger"] | "WriteStats" >> beam.Map(write_stats)


def read_stats(folder: str) -> dict[str, Any]:
    with FileSystems.open(f"{folder.rstrip('/')}/stats.json") as handle:
        return json.loads(handle.read().decode("utf-8"))
