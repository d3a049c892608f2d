"""Parquet shards for export: HF `Features` embedded, row groups bounded in bytes.

The features travel as the contract's Parquet writer stores them (`transforms.shards`), so
`image` decodes to PIL. Row groups are cut by the bytes they hold, not a row count:
figures vary from kilobytes to megabytes, and the HF viewer fails above about 286 MiB a
row group.
"""

from __future__ import annotations

from typing import BinaryIO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from schemas.records import EXPORT_METADATA_SCHEMA, EXPORT_SCHEMA
from transforms.shards import with_hf_features

DEFAULT_ROW_GROUP_BYTES = 100_000_000
MAX_ROW_GROUP_ROWS = 10_000
# the columns besides the image and texts: a fixed allowance per row
_ROW_OVERHEAD_BYTES = 512
_TEXT_COLUMNS = ("caption", "text", "text_full", "subcaption")


def row_bytes(table: pa.Table) -> list[int]:
    """About the bytes each row takes: image bytes, texts, and a fixed allowance."""
    sizes = pa.array([_ROW_OVERHEAD_BYTES] * table.num_rows, pa.int64())
    columns = [name for name in _TEXT_COLUMNS if name in table.column_names]
    if "image" in table.column_names:
        images = pc.struct_field(table.column("image"), "bytes")
        columns_arrays = [images, *(table.column(name) for name in columns)]
    else:
        columns_arrays = [table.column(name) for name in columns]
    for array in columns_arrays:
        lengths = pc.fill_null(pc.binary_length(array), 0).cast(pa.int64())
        sizes = pc.add(sizes, lengths)
    return sizes.to_pylist()


def row_group_bounds(
    sizes: list[int], max_bytes: int, max_rows: int = MAX_ROW_GROUP_ROWS
) -> list[tuple[int, int]]:
    """(offset, length) of consecutive row groups each within `max_bytes` (a single larger
    row alone) and `max_rows`."""
    bounds: list[tuple[int, int]] = []
    start, total = 0, 0
    for index, nbytes in enumerate(sizes):
        rows = index - start
        if rows and (total + nbytes > max_bytes or rows >= max_rows):
            bounds.append((start, rows))
            start, total = index, 0
        total += nbytes
    if start < len(sizes):
        bounds.append((start, len(sizes) - start))
    return bounds


class ByteBoundedParquetWriter:
    """A `ShardWriter` for Parquet with HF features and byte-bounded row groups."""

    suffix = ".parquet"

    def __init__(
        self, schema: pa.Schema = EXPORT_SCHEMA, row_group_bytes: int = DEFAULT_ROW_GROUP_BYTES
    ) -> None:
        if row_group_bytes <= 0:
            raise ValueError("row group bytes must be positive")
        self.schema = with_hf_features(schema)
        self.row_group_bytes = row_group_bytes

    def write(self, table: pa.Table, handle: BinaryIO) -> int:
        table = table.select(self.schema.names).cast(self.schema)
        # an empty shard has the schema and no row group: `datasets` reads a first row
        # group's size as its batch size and fails on 0
        with pq.ParquetWriter(handle, self.schema, compression="zstd") as writer:
            for offset, length in row_group_bounds(row_bytes(table), self.row_group_bytes):
                writer.write_table(table.slice(offset, length), row_group_size=length)
        return table.num_rows


def metadata_writer(row_group_bytes: int = DEFAULT_ROW_GROUP_BYTES) -> ByteBoundedParquetWriter:
    """The metadata-only table: every export column but the image bytes."""
    return ByteBoundedParquetWriter(EXPORT_METADATA_SCHEMA, row_group_bytes)
