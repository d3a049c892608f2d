"""The order of the rows within an export shard: a seeded hash of the key.

Sorted keys put an article's sibling panels side by side, and a training batch full of
them is full of near-negatives that are really positives. The hash order is still the
same on every run, on any number of workers.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pyarrow as pa

DEFAULT_ORDER_SEED = 0


def key_hash(key: str, seed: int, salt: str) -> int:
    digest = hashlib.blake2b(
        key.encode("utf-8"), digest_size=8, key=f"{salt}:{seed}".encode()
    ).digest()
    return int.from_bytes(digest, "big")


def order_key(key: str, seed: int = DEFAULT_ORDER_SEED) -> tuple[int, str]:
    # the key itself breaks a (vanishingly rare) hash tie, so the order stays total
    return (key_hash(key, seed, "order"), key)


def in_shard_order(records: list[dict[str, Any]], seed: int = DEFAULT_ORDER_SEED) -> list[dict]:
    """`records` in their seeded hash order."""
    return sorted(records, key=lambda record: order_key(record["key"], seed))


def table_in_shard_order(table: pa.Table, seed: int = DEFAULT_ORDER_SEED) -> pa.Table:
    """The rows of a shard's table in their seeded hash order (the `ShardOutput.order`)."""
    keys = table.column("key").to_pylist()
    indices = sorted(range(len(keys)), key=lambda i: order_key(keys[i] or "", seed))
    return table.take(pa.array(indices, pa.int64()))
