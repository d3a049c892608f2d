"""The ledger, checked against what was written: `stats.json` from the shards on disk.

During the run each stage writes its unit-side counts (what its units took in and
yielded). After the run this module reads back the rows of the record shards, `errors-*`
and `dropped-*` from the Parquet files and replaces `stats.json` with:

- `out`, `errors` and `dropped` as read from disk;
- `in_expected`: the rows the upstream folder wrote (for extract: the units and listing
  errors the listing produced), and for extract `in_unrecognised`;
- `out_empty_reasons`: for records passed on with something empty, the counts of each
  record column named `*_empty_reason` (tag's `concepts_empty_reason`: no_match,
  language_unsupported ...), read from the shards;
- `ledger_ok`: `in == in_with_output + in_empty + Σerrors`, `found == out + Σdropped`,
  `in == in_expected`, and for extract every listed path is an article file, a media file
  of one, unrecognised (read back from `unrecognised-*`) or a listing error.

A lost shard, a lost row or an uncounted input therefore makes `ledger_ok` false.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from pipeline.sinks import read_stats
from transforms.ledger import stats_json


def shard_paths(folder: str, pattern: str) -> list[str]:
    matched = FileSystems.match([f"{folder.rstrip('/')}/{pattern}"])[0].metadata_list
    return sorted(m.path for m in matched)


def rows_written(folder: str, pattern: str) -> int:
    total = 0
    for path in shard_paths(folder, pattern):
        with FileSystems.open(path, compression_type="uncompressed") as handle:
            total += pq.ParquetFile(handle).metadata.num_rows
    return total


def column_counts(folder: str, pattern: str, column: str) -> dict[str, int]:
    counts: Counter = Counter()
    for path in shard_paths(folder, pattern):
        with FileSystems.open(path, compression_type="uncompressed") as handle:
            counts.update(pq.read_table(handle, columns=[column]).column(column).to_pylist())
    return dict(sorted(counts.items()))


def empty_reason_counts(folder: str, pattern: str) -> dict[str, dict[str, int]]:
    """column -> reason -> records, for the `*_empty_reason` columns of the record shards."""
    paths = shard_paths(folder, pattern)
    if not paths:
        return {}
    with FileSystems.open(paths[0], compression_type="uncompressed") as handle:
        names = pq.ParquetFile(handle).schema_arrow.names
    columns = [n for n in names if n.endswith("_empty_reason")]
    counts: dict[str, Counter] = {column: Counter() for column in columns}
    for path in paths if columns else []:
        with FileSystems.open(path, compression_type="uncompressed") as handle:
            table = pq.read_table(handle, columns=columns)
        for column in columns:
            counts[column].update(r for r in table.column(column).to_pylist() if r is not None)
    return {column: dict(sorted(c.items())) for column, c in counts.items()}


def checked_stats(
    folder: str,
    records_glob: str,
    in_expected: int | None,
) -> dict[str, Any]:
    """`stats.json` of a written stage folder, recomputed from its files."""
    unit_side = read_stats(folder)
    errors = column_counts(folder, "errors-*.parquet", "error_type")
    dropped = column_counts(folder, "dropped-*.parquet", "reason")
    out = rows_written(folder, records_glob)
    stats = {
        **unit_side,
        "errors": errors,
        "out": out,
        "dropped": dropped,
    }
    reasons = empty_reason_counts(folder, records_glob)
    if reasons:
        stats["out_empty_reasons"] = reasons
    checks = [
        stats["in"] == stats["in_with_output"] + stats["in_empty"] + sum(errors.values()),
        stats["found"] == out + sum(dropped.values()),
    ]
    if in_expected is not None:
        stats["in_expected"] = in_expected
        checks.append(stats["in"] == in_expected)
    listing = unit_side.get("listing")
    if listing is not None:
        unrecognised = rows_written(folder, "unrecognised-*.parquet")
        stats["in_unrecognised"] = unrecognised
        checks.append(
            listing["paths"]
            == listing["article_files"] + listing["media_files"] + unrecognised + listing["errors"]
        )
    stats["ledger_ok"] = all(checks)
    return stats


def write_checked_stats(folder: str, records_glob: str, in_expected: int | None) -> dict[str, Any]:
    stats = checked_stats(folder, records_glob, in_expected)
    with FileSystems.create(f"{folder.rstrip('/')}/stats.json") as handle:
        handle.write(stats_json(stats).encode("utf-8"))
    return stats
