"""Which export shard a record goes to, and its place within the shard.

Within a shard the rows follow a seeded hash of the key, not the key: sorted keys put an
article's sibling panels side by side, and a training batch full of them is full of
near-negatives that are really positives. The hash order is still the same on every run.

A shard is a seeded hash of the key modulo the shard count; the count comes from the
record count and the planned bytes, so shards stay near a target size (HF suggests about
500 MB) and under a sample bound.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any

DEFAULT_ORDER_SEED = 0
DEFAULT_SHARD_BYTES = 500_000_000
DEFAULT_SHARD_SAMPLES = 5_000


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


def shard_of(key: str, num_shards: int, seed: int = DEFAULT_ORDER_SEED) -> int:
    """The export shard of `key`: a seeded hash, independent of the order hash."""
    return key_hash(key, seed, "shard") % num_shards


@dataclass(frozen=True)
class ShardPlan:
    """How one split is cut into shards."""

    records: int
    total_bytes: int
    num_shards: int


def plan_shards(
    records: int,
    total_bytes: int,
    shard_bytes: int = DEFAULT_SHARD_BYTES,
    shard_samples: int = DEFAULT_SHARD_SAMPLES,
) -> ShardPlan:
    """Enough shards that each holds about `shard_bytes` and `shard_samples` at most on
    average (a hash spreads records only about evenly); at least one, so every split has a
    file to load."""
    if shard_bytes <= 0 or shard_samples <= 0:
        raise ValueError("shard bytes and shard samples must be positive")
    by_bytes = math.ceil(total_bytes / shard_bytes)
    by_samples = math.ceil(records / shard_samples)
    return ShardPlan(records, total_bytes, max(1, by_bytes, by_samples))
