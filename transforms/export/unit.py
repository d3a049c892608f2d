"""The export stage's grouped unit: one shard's deduped records -> its export records.

How it plugs into contract v2 (see plan.py for the pool pass and the group key):
- pool combine `ExportPlanCombine(config)` -> `ExportPlan`;
- group key `export_group_key(record, plan, config)` -> `(split, shard_index)`, with
  `all_group_keys(plan)` naming every shard so empty ones are written too;
- grouped unit `ExportShard(config)((group_key, records), plan)` -> `UnitResult`: every
  record becomes an export record or a Drop (`no_image`, `license`, `selection`, ...), and
  the kept ones come back in the shard's seeded hash order, ready for the writers;
- `shard_paths(group_key, plan)`: that shard's files, relative to `OUT/export/`.

A record whose image cannot be decoded is a Drop with the error type as its reason: one
bad image never fails its whole shard.
"""

from __future__ import annotations

from typing import Any

from schemas.records import EXPORT_SCHEMA, field_names
from transforms.export.images import export_image
from transforms.export.order import in_shard_order
from transforms.export.plan import ExportConfig, ExportPlan, GroupKey, planned_drop
from transforms.export.text import TokenCounter, clip_token_counter, fit_tokens, training_text
from transforms.keys import tar_key
from transforms.ledger import Drop, StageError, UnitResult

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
