"""WebDataset tar shards: `{tar_key}.jpg|png`, `{tar_key}.txt`, `{tar_key}.json` per sample.

WebDataset groups a tar's members into samples by the name before the first `.`, so the
member names use `transforms.keys.tar_key` (no `/`, no `.`) and the JSON keeps the
original key. Every member has fixed metadata (mtime 0, uid and gid 0, no user names,
mode 0644), so the same records in the same order give the same bytes on every run.
"""

from __future__ import annotations

import json
import tarfile
from collections.abc import Iterator
from typing import Any, BinaryIO

import pyarrow as pa

from schemas.records import EXPORT_METADATA_SCHEMA
from transforms.keys import tar_key

IMAGE_EXTENSIONS = {"jpeg": "jpg", "png": "png"}
METADATA_FIELDS = tuple(EXPORT_METADATA_SCHEMA.names)


def iter_rows(table: pa.Table, batch_rows: int = 256) -> Iterator[dict[str, Any]]:
    """The rows of `table` as dicts, a batch at a time (never the whole shard at once)."""
    for batch in table.to_batches(max_chunksize=batch_rows):
        yield from batch.to_pylist()


def sample_metadata(record: dict[str, Any]) -> dict[str, Any]:
    """The sample's `.json`: every column but the image bytes (the original key included)."""
    return {name: record.get(name) for name in METADATA_FIELDS}


def member_header(name: str, size: int) -> bytes:
    """The tar header block(s) of a regular file with the fixed member metadata."""
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = 0
    info.mode = 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.type = tarfile.REGTYPE
    return info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")


def sample_members(record: dict[str, Any]) -> list[tuple[str, bytes]]:
    """(member name, bytes) of one sample, image first."""
    image = record.get("image") or {}
    if not image.get("bytes"):
        raise ValueError(f"record {record.get('key')!r} has no image: export drops it first")
    fmt = record.get("image_format")
    extension = IMAGE_EXTENSIONS.get(fmt or "")
    if extension is None:
        raise ValueError(f"record {record.get('key')!r} has image format {fmt!r}")
    stem = tar_key(record["key"])
    metadata = json.dumps(sample_metadata(record), ensure_ascii=False, sort_keys=True)
    return [
        (f"{stem}.{extension}", image["bytes"]),
        (f"{stem}.txt", (record.get("text") or "").encode("utf-8")),
        (f"{stem}.json", metadata.encode("utf-8")),
    ]


class WdsShardWriter:
    """The `ShardWriter` for WebDataset tars.

    It writes the blocks `tarfile` would (headers, data padded to 512 bytes, two zero
    blocks, padding to a 10240-byte record) straight to the handle: no per-member copies
    through tarfile's stream buffer, and any write-only stream (Beam's GCS or S3 handles)
    takes it as it is."""

    suffix = ".tar"

    def write(self, table: pa.Table, handle: BinaryIO) -> int:
        offset = 0
        for record in iter_rows(table):
            for name, data in sample_members(record):
                header = member_header(name, len(data))
                padding = -len(data) % tarfile.BLOCKSIZE
                handle.write(header)
                handle.write(data)
                handle.write(b"\0" * padding)
                offset += len(header) + len(data) + padding
        end = 2 * tarfile.BLOCKSIZE
        end += -(offset + end) % tarfile.RECORDSIZE
        handle.write(b"\0" * end)
        return table.num_rows
