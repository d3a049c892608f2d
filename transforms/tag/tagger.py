"""The tag stage's unit function: one panel record -> one tagged record.

Concepts are matched over the record's `caption` (offsets index into it). A panel of a
compound figure whose caption names panels keeps only what its own text says: the
matches inside its `subcaption_spans` or the caption's preamble, never those in a
sibling's sub-caption. A figure left whole, a panel of a caption that names no panels and
a panel with no sub-caption of its own (its span is the whole caption) keep every match.

Modalities come from the panel's own sub-caption, falling back to its whole own text
(preamble included) when the sub-caption names none; a record that is not scoped falls
back to the full caption. Records without an image are tagged by text like the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from schemas import TAGGED_SCHEMA, new_record
from transforms.ledger import UnitResult
from transforms.segment.subcaptions import Span, split_caption
from transforms.tag.concepts import ConceptMatcher
from transforms.tag.modality import inside, modality_tags


@dataclass(frozen=True)
class PanelScope:
    """The pieces of the caption that are a compound panel's own text."""

    subcaption: tuple[Span, ...]  # its own sub-caption
    preamble: tuple[Span, ...]  # the text that speaks for every panel

    @property
    def text(self) -> tuple[Span, ...]:
        return self.subcaption + self.preamble


def panel_scope(record: dict[str, Any]) -> PanelScope | None:
    """The panel's own text, or None when its text is the whole caption.

    The record carries its own spans only; the preamble's are found again by the splitter
    the segment stage used, which is deterministic, so both index the same caption."""
    caption = record.get("caption")
    own = tuple((s["start"], s["end"]) for s in record.get("subcaption_spans") or [])
    if not record.get("is_compound") or not caption or not own or own == ((0, len(caption)),):
        return None
    split = split_caption(caption)
    if not split.parts:
        return None
    return PanelScope(own, split.preamble_spans)


class Tagger:
    def __init__(self, matcher: ConceptMatcher) -> None:
        self.matcher = matcher

    def tag(
        self, caption: str | None, subcaption: str | None, scope: PanelScope | None = None
    ) -> tuple[list[dict], list[str]]:
        analysis = self.matcher.analyse(caption)
        if scope is not None:
            matches = [m for m in analysis.matches if inside(m.start, m.end, scope.text)]
            modalities = modality_tags(analysis, scope.subcaption) or modality_tags(
                analysis, scope.text
            )
            return [m.as_struct() for m in matches], modalities
        modalities: list[str] = []
        if subcaption and subcaption.strip() and subcaption != caption:
            modalities = modality_tags(self.matcher.analyse(subcaption))
        if not modalities:
            modalities = modality_tags(analysis)
        return [m.as_struct() for m in analysis.matches], modalities

    def __call__(self, record: dict[str, Any]) -> UnitResult:
        concepts, modalities = self.tag(
            record.get("caption"), record.get("subcaption"), panel_scope(record)
        )
        tagged = new_record(TAGGED_SCHEMA, **record, concepts=concepts, modalities=modalities)
        return UnitResult(records=[tagged])
