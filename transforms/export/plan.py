"""Export's whole-pool pass and where each record goes: split, shard, files.

`ExportPlanCombine(config)` is the pool combine (the pipeline wraps it in a
`beam.CombineFn`). It counts, per split, the deduped records that pass the cheap filters
and the bytes they will take once shrunk, and cuts each split into shards. When the
seeded split leaves validation empty (a small corpus) and train holds two articles or
more, it moves the train article whose split hash is lowest, the next one the fraction
would take, so every export has both splits (`make demo` always writes a validation one).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from transforms.export.images import ImageOptions, output_size
from transforms.export.order import (
    DEFAULT_ORDER_SEED,
    DEFAULT_SHARD_BYTES,
    DEFAULT_SHARD_SAMPLES,
    ShardPlan,
    plan_shards,
    shard_of,
)
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

# text and metadata besides the image bytes, per record
_RECORD_OVERHEAD_BYTES = 2_048

GroupKey = tuple[str, int]  # (split, shard index within the split)


@dataclass(frozen=True)
class ExportConfig:
    selection: Selection = field(default_factory=Selection)
    images: ImageOptions = field(default_factory=ImageOptions)
    caption_policy: str = DEFAULT_CAPTION_POLICY
    text_max_tokens: int = CLIP_CONTENT_TOKENS  # 0 keeps texts whole
    split_seed: int = DEFAULT_SPLIT_SEED
    validation_fraction: float = DEFAULT_VALIDATION_FRACTION
    order_seed: int = DEFAULT_ORDER_SEED
    shard_bytes: int = DEFAULT_SHARD_BYTES
    shard_samples: int = DEFAULT_SHARD_SAMPLES

    def seeded_split(self, key: str) -> str:
        return split_of(key, self.split_seed, self.validation_fraction)


@dataclass(frozen=True)
class ExportPlan:
    shards: dict[str, ShardPlan]  # split -> how it is cut
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


def planned_bytes(record: dict[str, Any], images: ImageOptions) -> int:
    """About the bytes a record takes once exported: a shrunk image shrinks with its pixels."""
    data = (record.get("image") or {}).get("bytes") or b""
    width, height = record.get("width") or 0, record.get("height") or 0
    ratio = 1.0
    if width > 0 and height > 0:
        out_w, out_h = output_size(width, height, images.max_side)
        ratio = min(1.0, out_w * out_h / (width * height))
    return int(len(data) * ratio) + len(record.get("caption") or "") + _RECORD_OVERHEAD_BYTES


@dataclass
class PlanAccumulator:
    counts: dict[str, list[int]] = field(default_factory=lambda: {s: [0, 0] for s in SPLITS})
    # the train articles of lowest and highest split hash: [rank, article, records, bytes]
    lowest: list | None = None
    highest: list | None = None


def _keep_extreme(current: list | None, candidate: list, lower: bool) -> list:
    if current is None or current[:2] == candidate[:2]:
        if current is None:
            return list(candidate)
        return [*current[:2], current[2] + candidate[2], current[3] + candidate[3]]
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
        nbytes = planned_bytes(record, self.config.images)
        split = self.config.seeded_split(record["key"])
        acc.counts[split][0] += 1
        acc.counts[split][1] += nbytes
        if split == TRAIN:
            article = article_of(record["key"])
            rank = unit_interval(article, self.config.split_seed, "split")
            entry = [rank, article, 1, nbytes]
            acc.lowest = _keep_extreme(acc.lowest, entry, lower=True)
            acc.highest = _keep_extreme(acc.highest, entry, lower=False)
        return acc

    def merge_accumulators(self, accs: Iterable[PlanAccumulator]) -> PlanAccumulator:
        merged = PlanAccumulator()
        for acc in accs:
            for split, (count, nbytes) in acc.counts.items():
                merged.counts[split][0] += count
                merged.counts[split][1] += nbytes
            if acc.lowest is not None:
                merged.lowest = _keep_extreme(merged.lowest, acc.lowest, lower=True)
            if acc.highest is not None:
                merged.highest = _keep_extreme(merged.highest, acc.highest, lower=False)
        return merged

    def extract_output(self, acc: PlanAccumulator) -> ExportPlan:
        counts = {split: list(values) for split, values in acc.counts.items()}
        moved = None
        two_articles = acc.lowest is not None and acc.lowest[1] != acc.highest[1]
        if counts[VALIDATION][0] == 0 and self.config.validation_fraction > 0 and two_articles:
            _, moved, records, nbytes = acc.lowest
            counts[TRAIN] = [counts[TRAIN][0] - records, counts[TRAIN][1] - nbytes]
            counts[VALIDATION] = [records, nbytes]
        shards = {
            split: plan_shards(count, nbytes, self.config.shard_bytes, self.config.shard_samples)
            for split, (count, nbytes) in counts.items()
        }
        return ExportPlan(shards, moved)


def export_group_key(record: dict[str, Any], plan: ExportPlan, config: ExportConfig) -> GroupKey:
    """The shard a deduped record goes to (dropped ones too: their drop is made there)."""
    split = plan.split_of(record["key"], config)
    return split, shard_of(record["key"], plan.shards[split].num_shards, config.order_seed)


def all_group_keys(plan: ExportPlan) -> list[GroupKey]:
    """Every shard of the plan, so empty ones are written too and the file names add up."""
    return [(split, i) for split in SPLITS for i in range(plan.shards[split].num_shards)]


def shard_paths(group_key: GroupKey, plan: ExportPlan) -> dict[str, str]:
    """The shard's files under `OUT/export/`: Parquet, WebDataset tar, metadata table."""
    split, index = group_key
    count = plan.shards[split].num_shards
    # the metadata table numbers its shards across both splits: train's first
    offset = sum(plan.shards[s].num_shards for s in SPLITS[: SPLITS.index(split)])
    total = sum(plan.shards[s].num_shards for s in SPLITS)
    return {
        "parquet": f"parquet/{split}-{index:05d}-of-{count:05d}.parquet",
        "wds": f"wds/{split}/{index:05d}.tar",
        "metadata": f"metadata-{offset + index:05d}-of-{total:05d}.parquet",
    }
