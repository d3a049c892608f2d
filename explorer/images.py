"""One image cell read from a shard by (file, row), and its thumbnail."""

from __future__ import annotations

import io

import pyarrow.parquet as pq
from PIL import Image

from explorer.folders import OutFolder

THUMB_SIDE = 256
MAX_PIXELS = 100_000_000  # a decompression-bomb guard for thumbnails


def image_bytes(out: OutFolder, path: str, row: int) -> bytes | None:
    """The `image.bytes` of row `row` of the shard at `path`: only its row group is read."""
    with out.fs.open(path, "rb") as handle:
        shard = pq.ParquetFile(handle)
        if "image" not in shard.schema_arrow.names or not 0 <= row < shard.metadata.num_rows:
            return None
        first = 0
        for group in range(shard.metadata.num_row_groups):
            rows = shard.metadata.row_group(group).num_rows
            if row < first + rows:
                cell = shard.read_row_group(group, columns=["image"]).column(0)[row - first]
                value = cell.as_py()
                return value.get("bytes") if value else None
            first += rows
    return None


def thumbnail(data: bytes) -> bytes:
    """A JPEG at most THUMB_SIDE on a side; raises for bytes PIL cannot decode."""
    with Image.open(io.BytesIO(data)) as image:
        if image.width * image.height > MAX_PIXELS:
            raise ValueError("image too large to thumbnail")
        image.draft("RGB", (THUMB_SIDE, THUMB_SIDE))
        small = image.convert("RGB")
        small.thumbnail((THUMB_SIDE, THUMB_SIDE))
        buffer = io.BytesIO()
        small.save(buffer, "JPEG", quality=85)
        return buffer.getvalue()


def media_type(data: bytes) -> str:
    """The served type of original bytes, from their magic number (never from the record)."""
    for magic, kind in (
        (b"\x89PNG", "image/png"),
        (b"\xff\xd8", "image/jpeg"),
        (b"GIF8", "image/gif"),
        (b"RIFF", "image/webp"),
    ):
        if data.startswith(magic):
            return kind
    return "application/octet-stream"
