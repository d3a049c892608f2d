"""Export's options and its whole-pool pass: which split each record goes to.

`ExportPlanCombine(config)` is the pool combine (the pipeline wraps it in a
`beam.CombineFn`). It counts, per split, the deduped records that pass the cheap filters.
When the seeded split leaves validation empty (a small corpus) and train holds two
articles or more, it moves the train article whose split hash is lowest, the next one the
fraction would take, so every export has both splits (`make demo` always writes a
validation one).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from transforms.export.images import ImageOptions, output_size
from transforms.export.order import DEFAULT_ORDER_SEED
from transforms.export.parquet import DEFAULT_ROW_GROUP_BYTES
from transforms.export.select import Selection, metadata_drop, size_drop, text_drop
from transforms.export.splits import (
    DEFAULT_SPLIT_SEED,
    DEFAULT_VALIDATION_FRACTION,
    SPLITS,
    TRAIN,
    VALIDATION,
    article_of,
    split_of,
    unit_interval,
)
from transforms.export.text import CLIP_CONTENT_TOKENS, DEFAULT_CAPTION_POLICY, training_text

DEFAULT_SHARD_SAMPLES = 5_000  # samples per tar and Parquet shard


@dataclass(frozen=True)
class ExportConfig:
    selection: Selection = field(default_factory=Selection)
    images: ImageOptions = field(default_factory=ImageOptions)
    caption_policy: str = DEFAULT_CAPTION_POLICY
    text_max_tokens: int = CLIP_CONTENT_TOKENS  # 0 keeps texts whole
    split_seed: int = DEFAULT_SPLIT_SEED
    validation_fraction: float = DEFAULT_VALIDATION_FRACTION
    order_seed: int = DEFAULT_ORDER_SEED
    shard_samples: int = DEFAULT_SHARD_SAMPLES
    row_group_bytes: int = DEFAULT_ROW_GROUP_BYTES
    # what the card and croissant.json say of the release (never the clock)
    dataset_name: str = "biomed-curate export"
    dataset_url: str = "https://example.org/biomed-curate"
    creators: tuple[str, ...] = ()
    release_date: str = ""  # ISO 8601; empty: the newest article year in the export

    def seeded_split(self, key: str) -> str:
        return split_of(key, self.split_seed, self.validation_fraction)


@dataclass(frozen=True)
class ExportPlan:
    records: dict[str, int]  # split -> records that pass the cheap filters
    moved_to_validation: str | None = None  # the article moved so validation is not empty

    def split_of(self, key: str, config: ExportConfig) -> str:
        if self.moved_to_validation is not None and article_of(key) == self.moved_to_validation:
            return VALIDATION
        return config.seeded_split(key)


def planned_drop(record: dict[str, Any], config: ExportConfig) -> tuple[str, str] | None:
    """The drop the cheap tests decide (no image decode, no tokenizer)."""
    drop = metadata_drop(record, config.selection)
    if drop is None:
        width, height = record.get("width") or 0, record.get("height") or 0
        drop = size_drop(*output_size(width, height, config.images.max_side), config.selection)
    if drop is None:
        drop = text_drop(training_text(record, config.caption_policy), config.selection)
    return drop


@dataclass
class PlanAccumulator:
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SPLITS, 0))
    # the train articles of lowest and highest split hash: [rank, article, records]
    lowest: list | None = None
    highest: list | None = None


def _keep_extreme(current: list | None, candidate: list, lower: bool) -> list:
    if current is None or current[:2] == candidate[:2]:
        if current is None:
            return list(candidate)
        return [*current[:2], current[2] + candidate[2]]
    better = candidate[:2] < current[:2] if lower else candidate[:2] > current[:2]
    return list(candidate) if better else current


class ExportPlanCombine:
    def __init__(self, config: ExportConfig) -> None:
        self.config = config

    def create_accumulator(self) -> PlanAccumulator:
        return PlanAccumulator()

    def add_input(self, acc: PlanAccumulator, record: dict[str, Any]) -> PlanAccumulator:
        if planned_drop(record, self.config) is not None:
            return acc
        split = self.config.seeded_split(record["key"])
        acc.counts[split] += 1
        if split == TRAIN:
            article = article_of(record["key"])
            rank = unit_interval(article, self.config.split_seed, "split")
            entry = [rank, article, 1]
            acc.lowest = _keep_extreme(acc.lowest, entry, lower=True)
            acc.highest = _keep_extreme(acc.highest, entry, lower=False)
        return acc

    def merge_accumulators(self, accs: Iterable[PlanAccumulator]) -> PlanAccumulator:
        merged = PlanAccumulator()
        for acc in accs:
            for split, count in acc.counts.items():
                merged.counts[split] += count
            if acc.lowest is not None:
                merged.lowest = _keep_extreme(merged.lowest, acc.lowest, lower=True)
            if acc.highest is not None:
                merged.highest = _keep_extreme(merged.highest, acc.highest, lower=False)
        return merged

    def extract_output(self, acc: PlanAccumulator) -> ExportPlan:
        counts = dict(acc.counts)
        moved = None
        two_articles = acc.lowest is not None and acc.lowest[1] != acc.highest[1]
        if counts[VALIDATION] == 0 and self.config.validation_fraction > 0 and two_articles:
            _, moved, records = acc.lowest
            counts[TRAIN] -= records
            counts[VALIDATION] = records
        return ExportPlan(counts, moved)
