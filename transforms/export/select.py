"""Which deduped records are exported: selection by metadata, and the quality filters.

Each test that rejects a record names a Drop reason. The tests here need no image decode,
so the shard plan can count the records that will survive them; the image tests (blank
or single-colour images) live in images.py.

Licences match by family: `CC BY` takes CC BY 2.0 to 4.0 but never CC BY-NC or CC BY-SA.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any

# documented defaults of the quality filters
DEFAULT_MIN_SIDE = 64  # pixels, the shorter side of the exported image
DEFAULT_MIN_CAPTION_WORDS = 3  # words of the training text
DEFAULT_MAX_ASPECT = 10.0  # longer side over shorter side

_VERSION = re.compile(r"\s+\d+(?:\.\d+)*$")


def license_family(license_name: str | None) -> str:
    """`CC BY 4.0` -> `cc by`, `CC0 1.0` -> `cc0`, `CC BY-NC-SA 3.0` -> `cc by-nc-sa`."""
    return _VERSION.sub("", " ".join((license_name or "").split())).lower()


def parse_name_list(text: str | None) -> tuple[str, ...]:
    """A comma-separated option value as a tuple of stripped, non-empty names."""
    return tuple(part.strip() for part in (text or "").split(",") if part.strip())


def read_exclusion_list(text: str) -> frozenset[str]:
    """PMCIDs of a takedown list: one a line, `#` comments and blank lines ignored, a bare
    number taken as `PMC<number>`. Anything else is a ValueError naming the line."""
    pmcids = set()
    for number, line in enumerate(text.splitlines(), 1):
        entry = line.split("#", 1)[0].strip()
        if not entry:
            continue
        if entry.isdigit():
            entry = f"PMC{entry}"
        if not (entry[:3].upper() == "PMC" and entry[3:].isdigit()):
            raise ValueError(f"line {number} of the exclusion list is not a PMCID: {line!r}")
        pmcids.add("PMC" + entry[3:])
    return frozenset(pmcids)


@dataclass(frozen=True)
class Selection:
    """What a user asked to export. Empty tuples select everything."""

    licenses: tuple[str, ...] = ()  # licence families, e.g. ("CC BY", "CC0")
    modalities: tuple[str, ...] = ()  # "radiology" takes "radiology/ct"
    cuis: tuple[str, ...] = ()
    semgroups: tuple[str, ...] = ()
    english_only: bool = False
    # sorted, so the config's repr (run.json, the card) is the same on every run
    exclude_pmcids: tuple[str, ...] = ()
    min_side: int = DEFAULT_MIN_SIDE
    min_caption_words: int = DEFAULT_MIN_CAPTION_WORDS
    max_aspect: float = DEFAULT_MAX_ASPECT

    @cached_property
    def excluded(self) -> frozenset[str]:
        return frozenset(self.exclude_pmcids)

    def __post_init__(self) -> None:
        if list(self.exclude_pmcids) != sorted(set(self.exclude_pmcids)):
            raise ValueError("exclude_pmcids must be sorted and unique")
        if self.min_side < 0 or self.min_caption_words < 0:
            raise ValueError("min side and min caption words must not be negative")
        if self.max_aspect < 1.0:
            raise ValueError(f"max aspect {self.max_aspect} is below 1")


def _matches_modality(record: dict[str, Any], wanted: tuple[str, ...]) -> bool:
    tags = record.get("modalities") or []
    return any(tag == want or tag.startswith(want + "/") for tag in tags for want in wanted)


def _asserted_concepts(record: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in record.get("concepts") or [] if not c.get("negated")]


def metadata_drop(record: dict[str, Any], selection: Selection) -> tuple[str, str] | None:
    """(reason, detail) when the record's metadata rules it out, else None."""
    image = record.get("image") or {}
    if not image.get("bytes"):
        return "no_image", record.get("image_status") or "no image bytes"
    pmcid = record.get("pmcid") or ""
    if pmcid and pmcid in selection.excluded:
        return "excluded", f"{pmcid} is on the exclusion list"
    if selection.licenses:
        family = license_family(record.get("license"))
        if family not in {license_family(name) for name in selection.licenses}:
            return "license", record.get("license") or "no licence"
    if selection.english_only and (record.get("language") or "").lower()[:2] != "en":
        return "language", record.get("language") or "no language"
    if selection.modalities and not _matches_modality(record, selection.modalities):
        return "selection", "modality"
    concepts = _asserted_concepts(record)
    if selection.cuis and not any(c.get("cui") in selection.cuis for c in concepts):
        return "selection", "cui"
    if selection.semgroups and not any(c.get("semgroup") in selection.semgroups for c in concepts):
        return "selection", "semgroup"
    return None


def size_drop(width: int, height: int, selection: Selection) -> tuple[str, str] | None:
    """(reason, detail) when an image of this size is too small or too elongated."""
    short, long = sorted((width, height))
    if short < max(1, selection.min_side):
        return "too_small", f"{width}x{height}"
    if long / short > selection.max_aspect:
        return "extreme_aspect", f"{width}x{height}"
    return None


def text_drop(text: str, selection: Selection) -> tuple[str, str] | None:
    words = len(text.split())
    if words < selection.min_caption_words:
        return "short_caption", f"{words} words"
    return None
