"""`--no-intermediate`: a chain run keeps the records of `deduped` and `export` only.

A stage's `data-*` shards are removed once the stage after it is committed, so resume
still finds every input it needs; its `stats.json`, `run.json`, errors, dropped rows and
extra tables (`entry_counts-*`, `duplicates-*`) stay for the card and the explorer, with
`pruned.json` saying what was removed. A later run that must rerun a stage whose input
was pruned reruns the stage before it too (`pipeline/resume.py`).
"""

from __future__ import annotations

import json
from typing import Any

from apache_beam.io.filesystems import FileSystems

from pipeline.ledger_check import rows_written

PRUNED_FILE = "pruned.json"
DATA_GLOB = "data-*.parquet"
# the stages whose records a --no-intermediate run keeps
KEPT = ("dedup", "export")


def is_pruned(folder: str) -> bool:
    return FileSystems.exists(f"{folder.rstrip('/')}/{PRUNED_FILE}")


def prune_records(folder: str) -> dict[str, Any]:
    """Remove a committed stage folder's `data-*` shards; `pruned.json` records them."""
    folder = folder.rstrip("/")
    shards = sorted(m.path for m in FileSystems.match([f"{folder}/{DATA_GLOB}"])[0].metadata_list)
    record = {
        "why": "--no-intermediate: the records of this stage were removed once the next "
        "stage was complete; its ledger, errors, dropped rows and extra tables are kept",
        "shards": len(shards),
        "rows": rows_written(folder, DATA_GLOB),
        "bytes": sum(FileSystems.match([p])[0].metadata_list[0].size_in_bytes for p in shards),
    }
    # the marker first: a run killed between the two steps reruns this stage, never reads
    # a folder whose shards are half gone as complete
    with FileSystems.create(f"{folder}/{PRUNED_FILE}") as handle:
        handle.write(json.dumps(record, indent=2).encode("utf-8"))
    if shards:
        FileSystems.delete(shards)
    return record


def prune_before(names: list[str], current: str, folders: dict[str, str]) -> list[str]:
    """Prune every stage before `current` in the chain that is not kept; the names pruned."""
    pruned = []
    for name in names[: names.index(current)]:
        if name not in KEPT and not is_pruned(folders[name]):
            prune_records(folders[name])
            pruned.append(name)
    return pruned
