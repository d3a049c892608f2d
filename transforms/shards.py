"""The `ShardWriter` interface: one shard's rows, in order, into one file.

The stage contract (pipeline/) decides which rows share a shard, puts them in a
deterministic order (by key, or export's seeded hash order) and opens the destination;
a writer only turns the ordered table into bytes. Parquet is the default writer; export
adds WebDataset tar behind the same interface, with no new Beam wiring.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import BinaryIO, Protocol

import pyarrow as pa
import pyarrow.parquet as pq

from schemas.records import hf_features

DEFAULT_ROW_GROUP_ROWS = 256


class ShardWriter(Protocol):
    # file name suffix of the shards it writes, e.g. ".parquet", ".tar"
    suffix: str

    def write(self, table: pa.Table, handle: BinaryIO) -> int:
        """Write `table`, already in its final order, to `handle`; return the rows written."""
        ...


@lru_cache(maxsize=64)
def _features_json(schema: pa.Schema) -> bytes:
    return json.dumps({"info": {"features": hf_features(schema).to_dict()}}).encode("utf-8")


def with_hf_features(schema: pa.Schema) -> pa.Schema:
    """`schema` carrying its HF `Features` (the `huggingface` metadata key that `datasets`
    reads), so `load_dataset("parquet", ...)` decodes `image` to PIL and keeps the types."""
    return schema.with_metadata({**(schema.metadata or {}), b"huggingface": _features_json(schema)})


class ParquetShardWriter:
    """zstd Parquet with the HF features embedded; row groups of at most `row_group_rows`."""

    suffix = ".parquet"

    def __init__(self, schema: pa.Schema, row_group_rows: int = DEFAULT_ROW_GROUP_ROWS) -> None:
        self.schema = with_hf_features(schema)
        self.row_group_rows = row_group_rows

    def write(self, table: pa.Table, handle: BinaryIO) -> int:
        table = table.select(self.schema.names).cast(self.schema)
        pq.write_table(table, handle, row_group_size=self.row_group_rows, compression="zstd")
        return table.num_rows
