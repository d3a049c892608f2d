"""The numbers the dataset card is made from, gathered over the exported records.

`ExportSummaryCombine` is a plain combine (the pipeline wraps it in a `beam.CombineFn`):
per split, the licence, modality and concept-entry mix, and a few deterministic example
samples (the lowest order hashes). Panels per figure need a count per figure, which is
a per-key count in the pipeline; `histogram` turns those counts into the card's numbers.
`sizes_json` is open_clip's `sizes.json` for one split's tars.
"""

from __future__ import annotations

import heapq
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from transforms.export.order import order_key
from transforms.export.select import license_family

EXAMPLES = 8


@dataclass
class ExportSummary:
    splits: Counter = field(default_factory=Counter)
    licenses: Counter = field(default_factory=Counter)
    license_families: Counter = field(default_factory=Counter)
    modalities: Counter = field(default_factory=Counter)  # top-level tags: "radiology"
    entries: Counter = field(default_factory=Counter)  # balancing entries of exported records
    compound: Counter = field(default_factory=Counter)  # "panel of compound" / "single"
    # (order hash, key, text, licence, image bytes): the lowest hashes, a fixed sample
    examples: list[tuple[int, str, str, str, bytes]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.splits.values())


class ExportSummaryCombine:
    def __init__(self, order_seed: int = 0, examples: int = EXAMPLES) -> None:
        self.order_seed = order_seed
        self.examples = examples

    def create_accumulator(self) -> ExportSummary:
        return ExportSummary()

    def add_input(self, acc: ExportSummary, record: dict[str, Any]) -> ExportSummary:
        acc.splits[record.get("split") or "train"] += 1
        acc.licenses[record.get("license") or "unknown"] += 1
        acc.license_families[license_family(record.get("license")) or "unknown"] += 1
        tops = {tag.split("/", 1)[0] for tag in record.get("modalities") or []}
        acc.modalities.update(tops or {"untagged"})
        acc.entries.update(record.get("entries") or [])
        acc.compound["panel of a compound figure" if record.get("is_compound") else "single"] += 1
        rank = order_key(record["key"], self.order_seed)[0]
        example = (
            rank,
            record["key"],
            record.get("text") or "",
            record.get("license") or "",
            (record.get("image") or {}).get("bytes") or b"",
        )
        acc.examples = heapq.nsmallest(self.examples, [*acc.examples, example])
        return acc

    def merge_accumulators(self, accs: Iterable[ExportSummary]) -> ExportSummary:
        merged = ExportSummary()
        for acc in accs:
            merged.splits += acc.splits
            merged.licenses += acc.licenses
            merged.license_families += acc.license_families
            merged.modalities += acc.modalities
            merged.entries += acc.entries
            merged.compound += acc.compound
            merged.examples = heapq.nsmallest(self.examples, merged.examples + acc.examples)
        return merged

    def extract_output(self, acc: ExportSummary) -> ExportSummary:
        return acc


def example_keys(summary: ExportSummary) -> list[str]:
    return [key for _, key, _, _, _ in summary.examples]


def with_example_images(summary: ExportSummary, images: dict[str, bytes]) -> ExportSummary:
    """The summary with its examples' image bytes filled in (when it was made from the
    metadata table, which has none)."""
    summary.examples = [
        (rank, key, text, license_name, data or images.get(key, b""))
        for rank, key, text, license_name, data in summary.examples
    ]
    return summary


def histogram(values: Iterable[int]) -> dict[int, int]:
    """value -> how many times it occurs, in value order (e.g. panels per figure)."""
    return dict(sorted(Counter(values).items()))


def sizes_json(counts: dict[str, int]) -> str:
    """open_clip's `sizes.json`: tar file name -> samples (every shard, empty ones too)."""
    return json.dumps(dict(sorted(counts.items())), indent=1) + "\n"
