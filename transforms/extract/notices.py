"""Retraction notices in the input. A notice (`article-type="retraction"`) names the
article it retracts with `<related-article related-article-type="retracted-article">`,
by DOI (PLOS: `xlink:href="info:doi/10.1371/journal.pone.0035142"`), PMCID or PMID. The
notice's unit reports each target as a row of the `notices` table; extract's regroup
step then drops every figure of a named article found in the same input with reason
`retracted` (`--retracted-pmcids` covers articles retracted by notices elsewhere).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from lxml import etree

from transforms.extract.jats_meta import XLINK_HREF
from transforms.extract.jats_text import local

NOTICES = "notices"
# article types whose related articles are retracted (not corrections, not concerns)
RETRACTING_TYPES = frozenset({"retraction", "retraction-notice"})
TARGET_TYPES = frozenset({"retracted-article"})
_DOI_PREFIX = re.compile(r"^(?:info:doi/|doi:\s*|https?://(?:dx\.)?doi\.org/)", re.IGNORECASE)
_DOI = re.compile(r"10\.\d{4,9}/\S+")
_PMC = re.compile(r"(?:PMC)?(\d{1,10})(?:\.\d+)?", re.IGNORECASE)


def normalise_target(href: str, link_type: str = "") -> str | None:
    """`doi:10.x/y` (lower case), `pmcid:PMC123` or `pmid:123`; None for anything else."""
    href, link_type = href.strip(), link_type.strip().lower()
    if not href:
        return None
    pmc = _PMC.fullmatch(href)
    if pmc and (href.upper().startswith("PMC") or link_type in ("pmc", "pmcid")):
        return f"pmcid:PMC{int(pmc.group(1))}"
    if href.isdigit() and link_type in ("pubmed", "pmid"):
        return f"pmid:{int(href)}"
    doi = _DOI_PREFIX.sub("", href)
    return f"doi:{doi.lower()}" if _DOI.fullmatch(doi) else None


def retraction_targets(article: etree._Element) -> tuple[str, ...]:
    """The articles a retraction notice retracts, normalised, unique, in document order."""
    found: list[str] = []
    for element in article.iter():
        if local(element.tag) != "related-article":
            continue
        if (element.get("related-article-type") or "").lower() not in TARGET_TYPES:
            continue
        target = normalise_target(
            element.get(XLINK_HREF) or element.get("href") or "", element.get("ext-link-type") or ""
        )
        if target and target not in found:
            found.append(target)
    return tuple(found)


def record_ids(record: dict[str, Any]) -> set[str]:
    """The identifiers a figure record's article is known by, in the targets' form."""
    ids = set()
    if record.get("pmcid"):
        ids.add(normalise_target(record["pmcid"], "pmc"))
    if record.get("pmid"):
        ids.add(f"pmid:{record['pmid']}")
    if record.get("doi"):
        ids.add(f"doi:{str(record['doi']).strip().lower()}")
    ids.discard(None)
    return ids


def notice_index(rows: Iterable[dict[str, Any]]) -> dict[str, str]:
    """Target -> the key of the (first, by key) notice that retracts it."""
    index: dict[str, str] = {}
    for row in sorted(rows, key=lambda r: (r["retracts"], r["notice_key"])):
        index.setdefault(row["retracts"], row["notice_key"])
    return index
