"""The tag stage's unit function: one panel record -> one tagged record.

Concepts are matched over the record's `caption` (offsets index into it). Modalities
come from the panel's own sub-caption, falling back to the full caption when the
sub-caption names none. Records without an image are tagged by text like the rest.
"""

from __future__ import annotations

from typing import Any

from schemas import TAGGED_SCHEMA, new_record
from transforms.ledger import UnitResult
from transforms.tag.concepts import ConceptMatcher
from transforms.tag.modality import modality_tags


class Tagger:
    def __init__(self, matcher: ConceptMatcher) -> None:
        self.matcher = matcher

    def tag(self, caption: str | None, subcaption: str | None) -> tuple[list[dict], list[str]]:
        analysis = self.matcher.analyse(caption)
        modalities: list[str] = []
        if subcaption and subcaption.strip() and subcaption != caption:
            modalities = modality_tags(self.matcher.analyse(subcaption))
        if not modalities:
            modalities = modality_tags(analysis)
        return [m.as_struct() for m in analysis.matches], modalities

    def __call__(self, record: dict[str, Any]) -> UnitResult:
        concepts, modalities = self.tag(record.get("caption"), record.get("subcaption"))
        tagged = new_record(TAGGED_SCHEMA, **record, concepts=concepts, modalities=modalities)
        return UnitResult(records=[tagged])
