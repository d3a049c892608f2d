"""The export stage's unit: one deduped record -> its export record, or a Drop.

How it plugs into contract v2:
- pool combine `ExportPlanCombine(config)` (plan.py) -> `ExportPlan` (the splits);
- unit function `ExportRecord(config)(record, plan)` -> `UnitResult`: the record with its
  shrunk image, training text and split, or a Drop (`no_image`, `license`, `selection`,
  `too_small`, `extreme_aspect`, `short_caption`, `blank_image`, `excluded`, ...);
- the writers (`ShardOutput`s partitioned by `split`, rows in `table_in_shard_order`):
  `ByteBoundedParquetWriter`, `WdsShardWriter`, and the metadata table.

An image that cannot be decoded is a Drop with the error type as its reason.
"""

from __future__ import annotations

from typing import Any

from schemas.records import EXPORT_SCHEMA, field_names
from transforms.export.images import export_image
from transforms.export.plan import ExportConfig, ExportPlan, planned_drop
from transforms.export.text import TokenCounter, clip_token_counter, fit_tokens, training_text
from transforms.keys import tar_key
from transforms.ledger import Drop, StageError, UnitResult

_EXPORT_NAMES = field_names(EXPORT_SCHEMA)


class ExportRecord:
    """The unit function, built once per worker (the CLIP tokenizer loads on first use)."""

    def __init__(self, config: ExportConfig, count_tokens: TokenCounter | None = None) -> None:
        self.config = config
        self._count_tokens = count_tokens

    def count_tokens(self) -> TokenCounter:
        if self._count_tokens is None:
            self._count_tokens = clip_token_counter()
        return self._count_tokens

    def __call__(self, record: dict[str, Any], plan: ExportPlan) -> UnitResult:
        made = self.export_record(record, plan.split_of(record["key"], self.config))
        if isinstance(made, Drop):
            return UnitResult(drops=[made])
        return UnitResult(records=[made])

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
