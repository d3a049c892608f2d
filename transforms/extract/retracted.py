"""Articles named as retracted (`--retracted-pmcids FILE`): their figures are dropped with
reason `retracted`, so the ledger shows them and nothing of theirs reaches training.

The file holds PMCIDs, one or more a line, separated by spaces, tabs or commas; `#` starts
a comment. `PMC123`, `pmc123`, `123` and a versioned `PMC123.2` all name PMC123."""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace

from transforms.ledger import Drop, UnitResult

RETRACTED = "retracted"
_PMCID = re.compile(r"(?:PMC)?(\d{1,10})(?:\.\d+)?", re.IGNORECASE)


class RetractedListError(ValueError):
    """A line of the list that is not a PMCID: the run was asked for wrongly, so it stops."""


def parse_pmcids(text: str, name: str = "the list") -> tuple[str, ...]:
    """The PMCIDs a list names, normalised (`PMC123`), unique and sorted."""
    found: set[str] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        for token in re.split(r"[\s,]+", line.split("#", 1)[0].strip()):
            if not token:
                continue
            match = _PMCID.fullmatch(token)
            if match is None:
                raise RetractedListError(f"{name} line {number}: {token!r} is not a PMCID")
            found.add(f"PMC{int(match.group(1))}")
    return tuple(sorted(found))


def digest(pmcids: tuple[str, ...]) -> str:
    """A short fingerprint of a list: it stands for the list in the stage's options."""
    return hashlib.sha256("\n".join(pmcids).encode("utf-8")).hexdigest()[:16]


def drop_retracted(result: UnitResult, retracted: frozenset[str], listed_in: str) -> UnitResult:
    """Move the records of retracted articles from `result.records` to its drops."""
    if not retracted or result.error is not None:
        return result
    kept, drops = [], list(result.drops)
    for record in result.records:
        if (record.get("pmcid") or "") in retracted:
            detail = f"{record['pmcid']} is listed in {listed_in}"
            drops.append(
                Drop(record.get("key") or "", RETRACTED, record.get("source_uri") or "", detail)
            )
        else:
            kept.append(record)
    if len(kept) == len(result.records):
        return result
    empty_reason = result.empty_reason or (RETRACTED if not kept else None)
    return replace(result, records=kept, drops=drops, empty_reason=empty_reason)
