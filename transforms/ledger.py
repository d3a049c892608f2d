"""The stage contract in plain Python: what one input unit yields, and the ledger.

Every stage turns one input unit (an article source, one record, a group of records or a
pyarrow `RecordBatch`) into a `UnitResult`: the records it keeps, the candidates it drops
(with a reason), rows for the stage's extra tables, or one `Failure` that stands for the
whole unit. `Ledger` adds these up so that `in == in_with_output + in_empty + sum(errors)`
and `found == out + sum(dropped)`. A unit of several rows counts as that many inputs: a
failed group is an error for each of its rows.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

# a record copy a grouped stage sends to a group other than its home one, as a query only:
# the unit sees it but never outputs it; the ledger and error records count it at home
VISITOR = "__visitor__"


class StageError(Exception):
    """A failure with a stable, countable type (e.g. `xml_malformed`)."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message


@dataclass(frozen=True)
class Drop:
    key: str
    reason: str
    source_uri: str = ""
    detail: str = ""


@dataclass(frozen=True)
class Failure:
    key: str
    source_uri: str
    error_type: str
    message: str


@dataclass
class UnitResult:
    # dicts, or one pyarrow RecordBatch/Table for batched stages
    records: Any = field(default_factory=list)
    drops: list[Drop] = field(default_factory=list)
    error: Failure | None = None
    # why a unit yielded no candidates at all, e.g. "no_figures", "notice:retraction"
    empty_reason: str | None = None
    # rows for the stage's extra tables, by table name (e.g. "duplicates")
    extra: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def run_unit(fn: Callable[[Any], UnitResult], unit: Any, key: str, source_uri: str) -> UnitResult:
    """Call a stage function; any exception becomes the unit's `Failure`."""
    try:
        return fn(unit)
    except StageError as exc:
        return UnitResult(error=Failure(key, source_uri, exc.error_type, exc.message))
    except MemoryError:
        return UnitResult(error=Failure(key, source_uri, "out_of_memory", "MemoryError"))
    except Exception as exc:  # noqa: BLE001 - a dead letter, never a crashed run
        return UnitResult(error=Failure(key, source_uri, type(exc).__name__, str(exc)[:2000]))


@dataclass
class Ledger:
    inputs: int = 0
    in_with_output: int = 0
    in_empty: int = 0
    errors: Counter = field(default_factory=Counter)
    found: int = 0
    out: int = 0
    dropped: Counter = field(default_factory=Counter)
    empty_reasons: Counter = field(default_factory=Counter)

    @classmethod
    def of(cls, result: UnitResult, rows: int = 1) -> Ledger:
        """The ledger of one unit; `rows` > 1 for a group or batch, which counts by row: each
        row in is one candidate, passed on or dropped."""
        ledger = cls(inputs=rows)
        if result.error is not None:
            ledger.errors[result.error.error_type] += rows
            return ledger
        out = len(result.records)
        ledger.found = out + len(result.drops)
        ledger.out = out
        ledger.dropped.update(d.reason for d in result.drops)
        if rows != 1:
            # a row that is neither passed on nor dropped goes uncounted, so the ledger fails
            ledger.in_with_output = out
            ledger.in_empty = len(result.drops)
            ledger.empty_reasons.update(d.reason for d in result.drops)
            return ledger
        if out:
            ledger.in_with_output = 1
        else:
            ledger.in_empty = 1
            reason = result.empty_reason or ("all_dropped" if result.drops else "no_candidates")
            ledger.empty_reasons[reason] += 1
        return ledger

    def merge(self, other: Ledger) -> Ledger:
        return Ledger(
            inputs=self.inputs + other.inputs,
            in_with_output=self.in_with_output + other.in_with_output,
            in_empty=self.in_empty + other.in_empty,
            errors=self.errors + other.errors,
            found=self.found + other.found,
            out=self.out + other.out,
            dropped=self.dropped + other.dropped,
            empty_reasons=self.empty_reasons + other.empty_reasons,
        )

    @classmethod
    def total(cls, ledgers: Iterable[Ledger]) -> Ledger:
        acc = cls()
        for ledger in ledgers:
            acc = acc.merge(ledger)
        return acc

    @property
    def ok(self) -> bool:
        return self.inputs == self.in_with_output + self.in_empty + sum(
            self.errors.values()
        ) and self.found == self.out + sum(self.dropped.values())

    def to_stats(self, stage: str, **extra: Any) -> dict[str, Any]:
        stats = {
            "stage": stage,
            "in": self.inputs,
            "in_with_output": self.in_with_output,
            "in_empty": self.in_empty,
            "in_empty_reasons": dict(sorted(self.empty_reasons.items())),
            "errors": dict(sorted(self.errors.items())),
            "found": self.found,
            "out": self.out,
            "dropped": dict(sorted(self.dropped.items())),
            "ledger_ok": self.ok,
        }
        stats.update(extra)
        return stats


def stats_json(stats: dict[str, Any]) -> str:
    return json.dumps(stats, indent=2, sort_keys=False) + "\n"
