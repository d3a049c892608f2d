"""What happened to records: the stage ledger, drops and errors by reason, a record's fate in
each later stage, dedup's groups and balance's entry counts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from explorer.query import Explorer

LIST_LIMIT = 500  # rows on one drops/errors/duplicates page


@dataclass
class StageLedger:
    stage: str
    stats: dict[str, Any] | None  # stats.json, None when the folder has none
    errors: dict[str, int]  # error_type -> rows, read from errors-*
    dropped: dict[str, int]  # reason -> rows, read from dropped-*
    files: list[str]  # the folder's JSON, Markdown and PNG files, relative to OUT


def ledger(explorer: Explorer) -> list[StageLedger]:
    """Per stage: stats.json beside the counts read back from its errors and dropped shards."""
    rows = []
    for stage in explorer.out.stages:
        rows.append(
            StageLedger(
                stage,
                explorer.out.read_json(stage, "stats.json"),
                _counts(explorer, stage, "errors", "error_type"),
                _counts(explorer, stage, "dropped", "reason"),
                _side_files(explorer, stage),
            )
        )
    return rows


def _side_files(explorer: Explorer, stage: str) -> list[str]:
    """stats.json, run.json, the export's card, croissant and plots: linked from the ledger."""
    folder = explorer.out.stages[stage].path
    found = [
        p for pattern in ("*.json", "*.md", "*.png") for p in explorer.out.glob(folder, pattern)
    ]
    return [f"{stage}/{p.rsplit('/', 1)[-1]}" for p in sorted(found)]


def _counts(explorer: Explorer, stage: str, table: str, column: str) -> dict[str, int]:
    files = explorer.out.table_files(stage, table)
    if not files:
        return {}
    rows = explorer.sql(
        f"SELECT {column} AS v, count(*) AS n FROM read_parquet(?) GROUP BY v ORDER BY n DESC, v",
        [files],
    )
    return {str(r["v"]): r["n"] for r in rows}


def losses(explorer: Explorer, stage: str, table: str, reason: str) -> list[dict[str, Any]]:
    """The rows of `dropped` (by reason) or `errors` (by error type) in a stage folder."""
    column = {"dropped": "reason", "errors": "error_type"}[table]
    return explorer.table(
        stage, table, f"WHERE {column} = ? ORDER BY key LIMIT {LIST_LIMIT}", [reason]
    )


@dataclass
class Fate:
    stage: str
    status: str  # kept, dropped, error, duplicate, absent
    detail: str = ""


def fates(explorer: Explorer, stage: str, key: str) -> list[Fate]:
    """The record's fate in every later folder. A figure's panels are looked up by parent."""
    result = []
    for later in explorer.out.later(stage):
        if stage == "figures" and later != "export":
            result.append(_figure_fate(explorer, later, key))
            continue
        found = explorer.record(later, key) if stage != "figures" else None
        if found is not None:
            result.append(Fate(later, "kept", found.get("split") or ""))
            continue
        result.append(_loss(explorer, later, key))
    return result


def _figure_fate(explorer: Explorer, stage: str, key: str) -> Fate:
    files = explorer.out.data_urls(stage)
    if files and "parent_key" in explorer.columns(stage):
        n = explorer.sql(
            "SELECT count(*) AS n FROM read_parquet(?) WHERE parent_key = ?", [files, key]
        )[0]["n"]
        if n:
            return Fate(stage, "kept", f"{n} panel(s)")
    return _loss(explorer, stage, key)


def _loss(explorer: Explorer, stage: str, key: str) -> Fate:
    for row in explorer.table(stage, "dropped", "WHERE key = ? LIMIT 1", [key]):
        return Fate(stage, "dropped", f"{row['reason']}: {row.get('detail') or ''}".strip(": "))
    for row in explorer.table(stage, "errors", "WHERE key = ? LIMIT 1", [key]):
        return Fate(stage, "error", f"{row['error_type']}: {row.get('message') or ''}")
    for row in explorer.table(stage, "duplicates", "WHERE key = ? LIMIT 1", [key]):
        return Fate(stage, "duplicate", f"of {row['dup_of']} ({row['kind']}, {row['score']})")
    return Fate(stage, "absent")


@dataclass
class DuplicateGroup:
    kept: str
    removed: list[dict[str, Any]]  # key, kind, score


def duplicate_groups(explorer: Explorer, stage: str = "deduped") -> list[DuplicateGroup]:
    if stage not in explorer.out.stages:
        return []
    rows = explorer.table(stage, "duplicates", f"ORDER BY dup_of, key LIMIT {LIST_LIMIT}")
    groups: dict[str, DuplicateGroup] = {}
    for row in rows:
        group = groups.setdefault(row["dup_of"], DuplicateGroup(row["dup_of"], []))
        group.removed.append(row)
    return list(groups.values())


def entry_counts(explorer: Explorer, stage: str = "balanced") -> tuple[list, list]:
    """(before, after): entry counts over the pool (`entry_counts-*`) and over the records
    balance kept, both most frequent first."""
    if stage not in explorer.out.stages:
        return [], []
    rows = explorer.table(stage, "entry_counts", "ORDER BY count_before DESC, entry")
    before = [{**row, "count": row["count_before"]} for row in rows]
    files = explorer.out.data_urls(stage)
    after = []
    if files and "entries" in explorer.columns(stage):
        after = explorer.sql(
            "SELECT entry, count(*) AS count FROM (SELECT unnest(entries) AS entry FROM "
            "read_parquet(?)) GROUP BY entry ORDER BY count DESC, entry",
            [files],
        )
    return before, after
