"""One source per article: when several sources give the same article, one wins.

The same article can reach extract more than once: two XML files of it (versions 1 and 2,
or a copy), its XML and its PDF, its PMC Cloud folder and a legacy `.tar.gz` package. Their
figures share the article part of the key (`PMC1234567` in `PMC1234567/F1`), so keys would
repeat within the folder. All figure records of one article key are compared source by
source (a source is one `source_uri`), and the winning source is the first by:

1. the newer `article_version` (a source without one counts as the oldest);
2. JATS over PDF (`source_kind`);
3. a folder over a package (a `source_uri` inside a `.tar.gz`/`.tgz`, `pkg.tar.gz#a.xml`);
4. the smallest `source_uri`, so the choice never depends on input order.

Every record of a losing source becomes `Drop(key, "duplicate_source", source_uri,
detail="lost to <winner uri>: <the rule that decided>")`. Keys must then be unique among
the kept records; one source that repeats a key is an extract bug, raised as
`StageError("duplicate_key")` rather than hidden by picking one.

The pipeline groups figure records by `article_group_key` and calls `resolve_article` on
each group, as a grouped unit function.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from transforms.extract.notices import record_ids
from transforms.extract.retracted import RETRACTED
from transforms.extract.sources import ARCHIVE_SUFFIXES
from transforms.keys import article_of
from transforms.ledger import Drop, StageError, UnitResult

DUPLICATE_SOURCE = "duplicate_source"
_KIND_ORDER = {"jats": 0, "pdf": 1}  # any other kind after these


def article_group_key(record: dict[str, Any]) -> str:
    """The article part of a record's key: what the duplicate-source pass groups by."""
    return article_of(record["key"])


def in_package(source_uri: str) -> bool:
    """A file inside a `.tar.gz` package: `s3://b/PMC1.tar.gz#PMC1/a.nxml`."""
    container, inside, _ = source_uri.partition("#")
    return bool(inside) and container.lower().endswith(ARCHIVE_SUFFIXES)


class _Source:
    """One source's records in a group, and what the rule compares."""

    def __init__(self, uri: str, records: list[dict[str, Any]]) -> None:
        self.uri = uri
        self.records = records
        versions = [r.get("article_version") for r in records]
        self.version: int | None = max((v for v in versions if v is not None), default=None)
        self.kind: str = records[0].get("source_kind") or ""
        self.packaged = in_package(uri)

    def rank(self) -> tuple[int, int, bool, str]:
        """Sorts the winner first."""
        version = -1 if self.version is None else self.version
        return (-version, _KIND_ORDER.get(self.kind, len(_KIND_ORDER)), self.packaged, self.uri)

    def why_beats(self, other: _Source) -> str:
        """The first rule that puts this source before `other`."""
        if self.version != other.version:
            return f"newer article_version ({self.version} over {other.version})"
        if self.kind != other.kind:
            return f"{self.kind or 'unknown'} over {other.kind or 'unknown'} source_kind"
        if self.packaged != other.packaged:
            return "folder over package"
        return "smallest source_uri"


def _check_unique(source: _Source) -> None:
    repeated = [k for k, n in Counter(r["key"] for r in source.records).items() if n > 1]
    if repeated:
        raise StageError(
            "duplicate_key",
            f"{source.uri}: {len(repeated)} key(s) repeat within one source, "
            f"e.g. {sorted(repeated)[0]!r}",
        )


def choose_source(records: Iterable[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[Drop]]:
    """The winning source's records (sorted by key) and a Drop for every other record.

    `records` are all figure records of one article key, in any order.
    """
    by_uri: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        by_uri.setdefault(record.get("source_uri") or "", []).append(record)
    sources = sorted((_Source(uri, recs) for uri, recs in by_uri.items()), key=_Source.rank)
    for source in sources:
        _check_unique(source)
    if not sources:
        return [], []
    winner, losers = sources[0], sources[1:]
    drops = [
        Drop(
            r["key"],
            DUPLICATE_SOURCE,
            loser.uri,
            f"lost to {winner.uri}: {winner.why_beats(loser)}",
        )
        for loser in losers
        for r in sorted(loser.records, key=lambda r: r["key"])
    ]
    return sorted(winner.records, key=lambda r: r["key"]), drops


def resolve_article(
    unit: tuple[str, Iterable[dict[str, Any]]], retracted_by: dict[str, str] | None = None
) -> UnitResult:
    """Grouped unit function: (article key, its figure records) -> kept records and drops.

    `retracted_by` maps the articles that retraction notices in the input name (`doi:…`,
    `pmcid:PMC…`, `pmid:…`) to the notice's key: their records are dropped, `retracted`.
    """
    group_key, records = unit
    records = list(records)
    strays = sorted({article_group_key(r) for r in records} - {group_key})
    if strays:
        raise StageError(
            "mixed_group", f"group {group_key!r} holds records of other articles: {strays[:3]}"
        )
    retracted = []
    if retracted_by:
        for record in records:
            named = sorted(record_ids(record) & retracted_by.keys())
            if named:
                detail = f"{named[0]} is retracted by notice {retracted_by[named[0]]}"
                retracted.append(
                    Drop(record["key"], RETRACTED, record.get("source_uri") or "", detail)
                )
        gone = {d.key for d in retracted}
        records = [r for r in records if r["key"] not in gone]
    kept, drops = choose_source(records)
    drops = [*retracted, *drops]
    return UnitResult(
        records=kept, drops=drops, empty_reason=None if kept else "no_records_in_group"
    )
