"""The `ShardWriter` interface: one shard's records, in order, into one file.

The stage contract (pipeline/) decides which records share a shard, puts them in a
deterministic order (by key, or export's seeded hash order) and opens the destination;
a writer only turns the ordered records into bytes. Parquet is the default writer;
export adds WebDataset tar behind the same interface, with no new Beam wiring.
"""

from __future__ import annotations

from typing import Any, BinaryIO, Protocol


class ShardWriter(Protocol):
    # file name suffix of the shards it writes, e.g. ".parquet", ".tar"
    suffix: str

    def write(self, records: list[dict[str, Any]], handle: BinaryIO) -> int:
        """Write `records`, already in their final order, to `handle`; return rows written."""
        ...
