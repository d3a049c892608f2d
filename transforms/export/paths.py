"""Where export's files go, relative to `OUT/export/` (the `ShardOutput` path functions)."""

from __future__ import annotations

PARQUET_GLOB = "parquet/*.parquet"
TARS_GLOB = "wds/*/*.tar"
METADATA_GLOB = "metadata-*.parquet"


def parquet_path(split: str, index: int, total: int) -> str:
    return f"parquet/{split}-{index:05d}-of-{total:05d}.parquet"


def tar_path(split: str, index: int, total: int) -> str:
    return f"wds/{split}/{index:05d}.tar"


def tar_name(index: int) -> str:
    return f"{index:05d}.tar"


def metadata_path(_partition: str, index: int, total: int) -> str:
    return f"metadata-{index:05d}-of-{total:05d}.parquet"


def sizes_path(split: str) -> str:
    return f"wds/{split}/sizes.json"
