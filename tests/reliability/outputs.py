"""A chain's output folder as comparable contents: every Parquet table's rows (sorted, any
shard split), every WebDataset tar's members and each stage's ledger, so that two runs
can be compared record for record."""

from __future__ import annotations

import hashlib
import json
import tarfile
from collections import defaultdict
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

# the ledger in stats.json; timings and run records are not part of what a run produced
LEDGER_KEYS = ("in", "in_with_output", "in_empty", "in_empty_reasons", "errors", "found")
LEDGER_KEYS += ("out", "dropped", "ledger_ok")


def canonical(value: Any) -> Any:
    """Bytes as their digest (images), containers recursively: a JSON-able value."""
    if isinstance(value, bytes):
        return "sha256:" + hashlib.sha256(value).hexdigest()
    if isinstance(value, dict):
        return {k: canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [canonical(v) for v in value]
    if isinstance(value, float):
        return round(value, 9)
    return value


def table_name(path: Path, root: Path) -> str:
    """`panels/data-00001-of-00004.parquet` -> `panels/data`: shards of one table meet."""
    relative = path.relative_to(root)
    return str(relative.parent / relative.name.split("-", 1)[0])


def contents(root: Path) -> dict[str, Any]:
    """Table name -> sorted canonical rows; tar -> {member: digest}; stage -> ledger."""
    tables: dict[str, list[str]] = defaultdict(list)
    for path in sorted(root.rglob("*.parquet")):
        rows = pq.read_table(path).to_pylist()
        tables[table_name(path, root)].extend(
            json.dumps(canonical(r), sort_keys=True, default=str) for r in rows
        )
    found: dict[str, Any] = {name: sorted(rows) for name, rows in tables.items()}
    for path in sorted(root.rglob("*.tar")):
        with tarfile.open(path) as tar:
            members = {
                m.name: hashlib.sha256(tar.extractfile(m).read()).hexdigest()
                for m in tar.getmembers()
                if m.isfile()
            }
        found[str(path.relative_to(root))] = members
    for path in sorted(root.glob("*/stats.json")):
        stats = json.loads(path.read_text())
        found[f"{path.parent.name}/ledger"] = {k: stats.get(k) for k in LEDGER_KEYS}
    return found


def differences(left: dict[str, Any], right: dict[str, Any]) -> list[str]:
    """What differs, table by table, for a readable failure."""
    out = [f"{name}: only in the first" for name in sorted(set(left) - set(right))]
    out += [f"{name}: only in the second" for name in sorted(set(right) - set(left))]
    for name in sorted(set(left) & set(right)):
        a, b = left[name], right[name]
        if a == b:
            continue
        if isinstance(a, list):
            unshared = sorted(set(a) ^ set(b)) or ["(the same rows, repeated differently)"]
            out.append(f"{name}: {len(a)} vs {len(b)} rows; one differing: {unshared[0][:300]}")
        else:
            out.append(f"{name}: {str(a)[:300]} vs {str(b)[:300]}")
    return out
