"""The export stage's units: a whole-pool plan, the shard of each record, and one shard.

How it plugs into contract v2:
- pool combine `ExportPlanCombine(config)`: counts, per split, the deduped records that
  pass the metadata filters and the bytes they will take once shrunk, and cuts each split
  into shards (`ExportPlan`);
- group key `export_group_key(record, plan, config)` -> `(split, shard_index)`;
- grouped unit `ExportShard(config)((group_key, records), plan)` -> `UnitResult`: every
  record becomes an export record or a Drop (`no_image`, `license`, `selection`, ...), and
  the kept ones come back in the shard's seeded hash order, ready for the writers;
- `shard_paths(group_key, plan)`: the files of that shard, relative to `OUT/export/`.

A record whose image cannot be decoded is a Drop with the error type as its reason (one
bad image never fails its whole shard).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from schemas.records import EXPORT_SCHEMA, field_names
from transforms.export.images import ImageOptions, export_image, output_size
from transforms.export.order import (
    DEFAULT_ORDER_SEED,
    DEFAULT_SHARD_BYTES,
    DEFAULT_SHARD_SAMPLES,
    ShardPlan,
    in_shard_order,
    plan_shards,
    shard_of,
)
from transforms.export.select import Selection, metadata_drop, size_drop, text_drop
from transforms.export.splits import (
    DEFAULT_SPLIT_SEED,
    DEFAULT_VALIDATION_FRACTION,
    SPLITS,
    split_of,
)
from transforms.export.text import (
    CLIP_CONTENT_TOKENS,
    DEFAULT_CAPTION_POLICY,
    TokenCounter,
    clip_token_counter,
    fit_tokens,
    training_text,
)
from transforms.keys import tar_key
from transforms.ledger import Drop, StageError, UnitResult

# JPEG and PNG figures shrink about with their pixel count; text and metadata add this
_RECORD_OVERHEAD_BYTES = 2_048


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


GroupKey = tuple[str, int]  # (split, shard index within the split)
ExportPlan = dict[str, ShardPlan]  # split -> its shards


def planned_drop(record: dict[str, Any], config: ExportConfig) -> tuple[str, str] | None:
    """The drop the cheap tests decide (no image decode, no tokenizer)."""
    drop = metadata_drop(record, config.selection)
    if drop is None:
        width, height = record.get("width") or 0, record.get("height") or 0
        drop = size_drop(*output_size(width, height, config.images.max_side), config.selection)
    if drop is None:
        drop = text_drop(training_text(record, config.caption_policy), config.selection)
    return drop


def planned_bytes(record: dict[str, Any]) -> int:
    """About the bytes a record will take once exported (shrunk images shrink ~ pixels)."""
    data = (record.get("image") or {}).get("bytes") or b""
    return len(data) + len(record.get("caption") or "") + _RECORD_OVERHEAD_BYTES


class ExportPlanCombine:
    """Whole-pool pass: per split, the records export will keep and their bytes."""

    def __init__(self, config: ExportConfig) -> None:
        self.config = config

    def create_accumulator(self) -> dict[str, list[int]]:
        return {split: [0, 0] for split in SPLITS}

    def add_input(self, acc: dict[str, list[int]], record: dict[str, Any]) -> dict:
        if planned_drop(record, self.config) is None:
            width, height = record.get("width") or 0, record.get("height") or 0
            shrink = _pixel_ratio(width, height, self.config.images.max_side)
            split = split_of(record["key"], self.config.split_seed, self.config.validation_fraction)
            acc[split][0] += 1
            acc[split][1] += int(planned_bytes(record) * shrink)
        return acc

    def merge_accumulators(self, accs: Any) -> dict[str, list[int]]:
        merged = self.create_accumulator()
        for acc in accs:
            for split, (count, nbytes) in acc.items():
                merged[split][0] += count
                merged[split][1] += nbytes
        return merged

    def extract_output(self, acc: dict[str, list[int]]) -> ExportPlan:
        return {
            split: plan_shards(count, nbytes, self.config.shard_bytes, self.config.shard_samples)
            for split, (count, nbytes) in acc.items()
        }


def _pixel_ratio(width: int, height: int, max_side: int) -> float:
    if width <= 0 or height <= 0:
        return 1.0
    out_w, out_h = output_size(width, height, max_side)
    return min(1.0, (out_w * out_h) / (width * height))


def export_group_key(record: dict[str, Any], plan: ExportPlan, config: ExportConfig) -> GroupKey:
    """The shard a deduped record goes to (dropped ones too: their drop is made there)."""
    split = split_of(record["key"], config.split_seed, config.validation_fraction)
    return split, shard_of(record["key"], plan[split].num_shards, config.order_seed)


def all_group_keys(plan: ExportPlan) -> list[GroupKey]:
    """Every shard of the plan, so empty ones are written too and the file names add up."""
    return [(split, index) for split in SPLITS for index in range(plan[split].num_shards)]


def shard_paths(group_key: GroupKey, plan: ExportPlan) -> dict[str, str]:
    """The shard's files under `OUT/export/`: Parquet, WebDataset tar, metadata table."""
    split, index = group_key
    count = plan[split].num_shards
    # the metadata table numbers its shards across both splits: train's first
    offset = sum(plan[s].num_shards for s in SPLITS[: SPLITS.index(split)])
    total = sum(plan[s].num_shards for s in SPLITS)
    return {
        "parquet": f"parquet/{split}-{index:05d}-of-{count:05d}.parquet",
        "wds": f"wds/{split}/{index:05d}.tar",
        "metadata": f"metadata-{offset + index:05d}-of-{total:05d}.parquet",
    }


_EXPORT_NAMES = field_names(EXPORT_SCHEMA)


class ExportShard:
    """The grouped unit function: one shard's deduped records -> its export records."""

    def __init__(self, config: ExportConfig, count_tokens: TokenCounter | None = None) -> None:
        self.config = config
        self._count_tokens = count_tokens

    def count_tokens(self) -> TokenCounter:
        if self._count_tokens is None:  # the CLIP tokenizer loads once per worker
            self._count_tokens = clip_token_counter()
        return self._count_tokens

    def __call__(self, unit: tuple[GroupKey, list[dict[str, Any]]], plan: ExportPlan) -> UnitResult:
        (split, _index), records = unit
        kept: list[dict[str, Any]] = []
        drops: list[Drop] = []
        for record in records:
            made = self.export_record(record, split)
            (drops if isinstance(made, Drop) else kept).append(made)
        return UnitResult(records=in_shard_order(kept, self.config.order_seed), drops=drops)

    def export_record(self, record: dict[str, Any], split: str) -> dict[str, Any] | Drop:
        key = record["key"]
        uri = record.get("source_uri") or ""
        drop = planned_drop(record, self.config)
        if drop is not None:
            return Drop(key, drop[0], uri, drop[1])
        try:
            image, reason = export_image(
                record["image"]["bytes"], record.get("image_format"), self.config.images
            )
        except StageError as exc:
            return Drop(key, exc.error_type, uri, exc.message)
        if image is None:
            return Drop(key, reason, uri, "")
        full = training_text(record, self.config.caption_policy)
        text = full
        if self.config.text_max_tokens > 0:
            text = fit_tokens(full, self.config.text_max_tokens, self.count_tokens())
        out = {name: record.get(name) for name in _EXPORT_NAMES}
        out.update(
            image={"bytes": image.data, "path": f"{tar_key(key)}.{image.extension}"},
            image_format=image.image_format,
            width=image.width,
            height=image.height,
            text=text,
            text_full=full,
            split=split,
        )
        return out
