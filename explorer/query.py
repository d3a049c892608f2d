"""The explorer's questions as DuckDB SQL over the Parquet shards in place (no import step).

Every user value reaches DuckDB as a bound parameter, never as SQL text. A filter whose
column a stage folder lacks (split before export, concepts before tag) is reported in
`Page.unavailable` and matches nothing, so a page never silently ignores what was asked.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field, fields, replace
from typing import Any

import duckdb

from explorer.folders import OutFolder

PAGE_SIZE = 48
COUNT_CAP = 10_000  # matches counted exactly up to here; past it a page says "10000+"
CUI = re.compile(r"C\d{7}")
# the training text shown under a thumbnail: export's `text`, else the panel's own text
GRID_COLUMNS = ("key", "caption", "subcaption", "caption_preamble", "text", "license", "split")


@dataclass(frozen=True)
class Filters:
    stage: str = ""
    modality: str = ""  # "radiology" matches every "radiology/..."; "radiology/ct" exactly
    semgroup: str = ""
    concept: str = ""  # a CUI, or a concept name (case-insensitive)
    text: str = ""  # free text in the caption (case-insensitive substring)
    license: str = ""
    split: str = ""
    entry: str = ""  # a balance entry

    @classmethod
    def from_params(cls, params: dict[str, str]) -> Filters:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v.strip()[:500] for k, v in params.items() if k in names})

    def active(self) -> dict[str, str]:
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name)}


# filter -> (the columns it needs, its SQL with ? for the value, how many times the value binds)
FILTER_SQL: dict[str, tuple[tuple[str, ...], str, int]] = {
    "modality": (
        ("modalities",),
        "(list_contains(modalities, ?) OR "
        "list_contains(list_transform(modalities, lambda m: split_part(m, '/', 1)), ?))",
        2,
    ),
    "semgroup": (
        ("concepts",),
        "list_contains(list_transform(concepts, lambda c: c.semgroup), ?)",
        1,
    ),
    # a CUI is matched as a CUI, anything else as a name: one list pass, not two
    "concept": (("concepts",), "list_contains(list_transform(concepts, lambda c: c.cui), ?)", 1),
    "concept_name": (
        ("concepts",),
        "list_contains(list_transform(concepts, lambda c: lower(c.name)), lower(?))",
        1,
    ),
    "text": (("caption",), "contains(lower(caption), lower(?))", 1),
    "license": (("license",), "license = ?", 1),
    "split": (("split",), "split = ?", 1),
    "entry": (("entries",), "list_contains(entries, ?)", 1),
}


def where_clause(filters: Filters, columns: set[str]) -> tuple[str, list[Any], list[str]]:
    """(WHERE text, its parameters, the filters this folder cannot apply)."""
    terms: list[str] = []
    params: list[Any] = []
    unavailable: list[str] = []
    for name, value in filters.active().items():
        if name == "stage":
            continue
        is_cui = name == "concept" and CUI.fullmatch(value.upper())
        if is_cui:
            value = value.upper()
        form = "concept_name" if name == "concept" and not is_cui else name
        needed, sql, binds = FILTER_SQL[form]
        if not set(needed) <= columns:
            unavailable.append(name)
            continue
        terms.append(sql)
        params.extend([value] * binds)
    if unavailable:
        terms.append("FALSE")
    return (" WHERE " + " AND ".join(terms)) if terms else "", params, unavailable


@dataclass
class Page:
    stage: str
    rows: list[dict[str, Any]]
    total: int  # matches, counted up to the cap
    page: int
    pages: int
    unavailable: list[str] = field(default_factory=list)
    capped: bool = False  # more than `total` match: counting stopped there

    @property
    def has_next(self) -> bool:
        return self.page < self.pages or (self.capped and len(self.rows) > 0)


class Explorer:
    """Read-only queries over one OUT folder; safe to share between request threads."""

    def __init__(self, out: OutFolder, count_cap: int = COUNT_CAP) -> None:
        self.out = out
        self.count_cap = count_cap
        self._con = duckdb.connect(":memory:")
        # the folder is read-only for us, so its Parquet footers can be kept: paging and
        # top-N then prune row groups by their key statistics without rereading footers
        self._con.execute("SET parquet_metadata_cache = true")
        if out.protocol != "file":
            self._con.register_filesystem(out.fs)
        self._lock = threading.Lock()
        self._columns: dict[str, set[str]] = {}
        self._facets: dict[tuple[str, str], list[tuple[str, int]]] = {}
        self._totals: dict[Filters, int] = {}  # every page of a filter has the same total

    def sql(self, query: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        with self._lock:
            cursor = self._con.cursor()  # one cursor per call: cursors are not shared
        try:
            result = cursor.execute(query, params or [])
            names = [d[0] for d in result.description]
            return [dict(zip(names, row, strict=True)) for row in result.fetchall()]
        finally:
            cursor.close()

    def column_names(self, files: list[str]) -> list[str]:
        with self._lock:
            cursor = self._con.cursor()
        try:
            result = cursor.execute(f"SELECT * FROM {_source(files)} LIMIT 0", [files])
            return [d[0] for d in result.description]
        finally:
            cursor.close()

    def forget_totals(self) -> None:
        """Drop the cached match counts (for measuring a filter's first page)."""
        self._totals.clear()

    def default_stage(self) -> str:
        for name in ("tagged", "panels", "deduped", "balanced", "figures", "export"):
            if self.out.stages.get(name) and self.out.stages[name].data_files:
                return name
        raise FileNotFoundError(f"{self.out.root} holds no stage folder with data shards")

    def columns(self, stage: str) -> set[str]:
        if stage not in self._columns:
            files = self.out.data_urls(stage)
            self._columns[stage] = set(self.column_names(files)) if files else set()
        return self._columns[stage]

    def grid(self, filters: Filters, page: int = 1, page_size: int = PAGE_SIZE) -> Page:
        stage = filters.stage if filters.stage in self.out.stages else self.default_stage()
        files = self.out.data_urls(stage)
        columns = self.columns(stage)
        if not files:
            return Page(stage, [], 0, 1, 1)
        where, params, unavailable = where_clause(filters, columns)
        source = _source(files, with_position=True)
        counted = replace(filters, stage=stage)
        if counted not in self._totals:
            # counting stops past the cap: a broad filter's first page need not scan it all
            query = f"SELECT count(*) AS n FROM (SELECT 1 FROM {source}{where} LIMIT ?)"
            limit = self.count_cap + 1
            self._totals[counted] = self.sql(query, [files, *params, limit])[0]["n"]
        total = self._totals[counted]
        capped = total > self.count_cap
        total = min(total, self.count_cap)
        pages = max(1, -(-total // page_size))
        page = max(1, page) if capped else min(max(1, page), pages)
        shown = ", ".join(c if c in columns else f"NULL AS {c}" for c in GRID_COLUMNS)
        rows = self.sql(
            f"SELECT {shown}, filename, file_row_number FROM {source}{where} "
            "ORDER BY key LIMIT ? OFFSET ?",
            [files, *params, page_size, (page - 1) * page_size],
        )
        index = {url: i for i, url in enumerate(files)}
        for row in rows:
            row["shard"] = index[row.pop("filename")]
            row["row"] = row.pop("file_row_number")
            row["training_text"] = training_text(row)
        return Page(stage, rows, total, page, pages, unavailable, capped)

    def facet(self, stage: str, name: str) -> list[tuple[str, int]]:
        """The values of a filter in a stage folder, most frequent first (for the menus)."""
        key = (stage, name)
        if key not in self._facets:
            expression = {
                # a top level ("radiology") and every "top/sub"; a record counts once per value
                "modality": "unnest(list_distinct(list_concat(modalities, list_transform("
                "modalities, lambda m: split_part(m, '/', 1)))))",
                "semgroup": "unnest(list_transform(concepts, lambda c: c.semgroup))",
                "license": "license",
                "split": "split",
            }[name]
            needed = FILTER_SQL[name][0]
            order = "v" if name == "modality" else "n DESC, v"  # a top just before its subs
            files = self.out.data_urls(stage)
            if not files or not set(needed) <= self.columns(stage):
                self._facets[key] = []
            else:
                rows = self.sql(
                    f"SELECT v, count(*) AS n FROM (SELECT {expression} AS v FROM "
                    f"{_source(files)}) WHERE v IS NOT NULL GROUP BY v ORDER BY {order}",
                    [files],
                )
                self._facets[key] = [(r["v"], r["n"]) for r in rows]
        return self._facets[key]

    def record(self, stage: str, key: str) -> dict[str, Any] | None:
        files = self.out.data_urls(stage)
        if not files:
            return None
        rows = self.sql(
            f"SELECT *, filename, file_row_number FROM {_source(files, with_position=True)} "
            "WHERE key = ? LIMIT 1",
            [files, key],
        )
        if not rows:
            return None
        row = rows[0]
        row["shard"] = files.index(row.pop("filename"))
        row["row"] = row.pop("file_row_number")
        row.pop("image", None)  # bytes go through the image routes, never into a page
        return row

    def panels_of(self, parent_key: str) -> list[dict[str, Any]]:
        """Every panel of a figure with its bbox, from the panels folder."""
        if "panels" not in self.out.stages or not self.out.data_urls("panels"):
            return []
        files = self.out.data_urls("panels")
        return self.sql(
            f"SELECT key, panel_index, panel_label, bbox FROM {_source(files)} "
            "WHERE parent_key = ? ORDER BY panel_index",
            [files, parent_key],
        )

    def table(
        self, stage: str, table: str, where: str = "", params: list[Any] | None = None
    ) -> list[dict[str, Any]]:
        """Rows of `errors`, `dropped`, `duplicates` or `entry_counts` in a stage folder."""
        if table not in ("errors", "dropped", "duplicates", "entry_counts"):
            raise ValueError(f"not an explorer table: {table}")
        files = self.out.table_files(stage, table)
        if not files:
            return []
        return self.sql(f"SELECT * FROM {_source(files)} {where}", [files, *(params or [])])


def _source(files: list[str], with_position: bool = False) -> str:
    """read_parquet over a bound list of files (a listing, never a glob of user text)."""
    extra = ", filename = true, file_row_number = true" if with_position else ""
    return f"read_parquet(?{extra})"


def training_text(row: dict[str, Any]) -> str:
    """Export's `text` when the folder has it; else the panel's preamble and sub-caption,
    else the caption (figures)."""
    if row.get("text"):
        return row["text"]
    own = " ".join(p for p in (row.get("caption_preamble"), row.get("subcaption")) if p)
    return own or row.get("caption") or ""
