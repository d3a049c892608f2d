"""WebDataset tar shards: `{tar_key}.jpg|png`, `{tar_key}.txt`, `{tar_key}.json` per sample.

WebDataset groups a tar's members into samples by the name before the first `.`, so the
member names use `transforms.keys.tar_key` (no `/`, no `.`) and the JSON keeps the
original key. Every member has fixed metadata (mtime 0, uid and gid 0, no user names,
mode 0644), so the same records in the same order give the same bytes on every run.
"""

from __future__ import annotations

import io
import json
import tarfile
from typing import Any, BinaryIO

from schemas.records import EXPORT_METADATA_SCHEMA
from transforms.keys import tar_key

IMAGE_EXTENSIONS = {"jpeg": "jpg", "png": "png"}
METADATA_FIELDS = tuple(EXPORT_METADATA_SCHEMA.names)


def sample_metadata(record: dict[str, Any]) -> dict[str, Any]:
    """The sample's `.json`: every column but the image bytes (the original key included)."""
    return {name: record.get(name) for name in METADATA_FIELDS}


def _member(name: str, data: bytes) -> tuple[tarfile.TarInfo, io.BytesIO]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = 0
    info.mode = 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.type = tarfile.REGTYPE
    return info, io.BytesIO(data)


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
    """The `ShardWriter` for WebDataset tars."""

    suffix = ".tar"

    def write(self, records: list[dict[str, Any]], handle: BinaryIO) -> int:
        # "w|": a plain stream, so Beam's FileSystems handles (GCS, S3) take it as it is
        with tarfile.open(fileobj=handle, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            for record in records:
                for name, data in sample_members(record):
                    info, payload = _member(name, data)
                    tar.addfile(info, payload)
        return len(records)
