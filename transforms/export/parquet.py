"""Parquet shards for export: HF `Features` embedded, row groups bounded in bytes.

`datasets` reads the features from the schema metadata key `huggingface` (the JSON
`{"info": {"features": ...}}` its own writer stores), so `image` decodes to PIL. Row groups
are cut by the bytes they hold, not a row count: figures vary from kilobytes to
megabytes, and the HF viewer fails above about 286 MiB a row group.
"""

from __future__ import annotations

import json
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq

from schemas.records import EXPORT_METADATA_SCHEMA, EXPORT_SCHEMA, hf_features

DEFAULT_ROW_GROUP_BYTES = 100_000_000
MAX_ROW_GROUP_ROWS = 10_000
# the columns besides the image and texts: a fixed allowance per row
_ROW_OVERHEAD_BYTES = 512


def with_hf_features(schema: pa.Schema) -> pa.Schema:
    """`schema` with the HF features metadata `datasets` reads back."""
    features = hf_features(schema)
    payload = json.dumps({"info": {"features": features.to_dict()}})
    return schema.with_metadata({b"huggingface": payload.encode("utf-8")})


def row_bytes(record: dict[str, Any]) -> int:
    image = record.get("image") or {}
    texts = (record.get(name) or "" for name in ("caption", "text", "text_full", "subcaption"))
    return len(image.get("bytes") or b"") + sum(map(len, texts)) + _ROW_OVERHEAD_BYTES


def row_groups(
    records: list[dict[str, Any]], max_bytes: int, max_rows: int = MAX_ROW_GROUP_ROWS
) -> list[list[dict[str, Any]]]:
    """Consecutive runs of `records`, each within `max_bytes` (a single larger row alone)."""
    groups: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    size = 0
    for record in records:
        nbytes = row_bytes(record)
        if current and (size + nbytes > max_bytes or len(current) >= max_rows):
            groups.append(current)
            current, size = [], 0
        current.append(record)
        size += nbytes
    if current:
        groups.append(current)
    return groups


class ParquetShardWriter:
    """A `ShardWriter` for Parquet with HF features and byte-bounded row groups."""

    suffix = ".parquet"

    def __init__(
        self, schema: pa.Schema = EXPORT_SCHEMA, row_group_bytes: int = DEFAULT_ROW_GROUP_BYTES
    ) -> None:
        if row_group_bytes <= 0:
            raise ValueError("row group bytes must be positive")
        self.schema = schema
        self.row_group_bytes = row_group_bytes
        self._schema_with_features: pa.Schema | None = None

    def file_schema(self) -> pa.Schema:
        if self._schema_with_features is None:  # datasets is imported once, when first needed
            self._schema_with_features = with_hf_features(self.schema)
        return self._schema_with_features

    def write(self, records: list[dict[str, Any]], handle: BinaryIO) -> int:
        schema = self.file_schema()
        with pq.ParquetWriter(handle, schema, compression="zstd") as writer:
            # an empty shard has the schema and no row group: `datasets` reads a first
            # row group's size as its batch size and fails on 0
            for group in row_groups(records, self.row_group_bytes):
                table = pa.Table.from_pylist(group, schema=schema)
                writer.write_table(table, row_group_size=len(group))
        return len(records)


def metadata_writer() -> ParquetShardWriter:
    """The metadata-only table: every export column but the image bytes."""
    return ParquetShardWriter(EXPORT_METADATA_SCHEMA)
