"""The tag stage's unit function: one panel record -> one tagged record.

Concepts are matched over the record's `caption` (offsets index into it). A panel of a
compound figure whose caption names panels keeps only what its own text says: the
matches inside its `subcaption_spans` or the caption's preamble, never those in a
sibling's sub-caption. A figure left whole, a panel of a caption that names no panels and
a panel with no sub-caption of its own (its span is the whole caption) keep every match.

Concepts also come from modality wording: a strong modality cue with no matched concept
of its modality ("Axial T2-weighted image", "The preoperative orthopantomogram") adds the
lexicon's concept for that modality (`ConceptMatcher.modality_concepts`), over the cue's
words.

Modalities come from the panel's own sub-caption, falling back to its whole own text
(preamble included) when the sub-caption names none; a record that is not scoped falls
back to the full caption. Records without an image are tagged by text like the rest.

A record that gets no concepts says why in `concepts_empty_reason`: `no_text` (its own
text is empty), `language_unsupported` (written in a language the lexicon has no names
in, e.g. a Portuguese SciELO caption), `generic_only` (its only lexicon words are bare
generic words the matcher withholds) or `no_match`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from schemas import TAGGED_SCHEMA, new_record
from transforms.ledger import UnitResult
from transforms.segment.subcaptions import Span, split_caption
from transforms.tag.concepts import Analysis, ConceptMatcher, Match
from transforms.tag.language import caption_language
from transforms.tag.modality import Cue, SpanCover, modality_cues, modality_tags, tags_of
from transforms.tag.normalise import tokenize


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
            cover = SpanCover(scope.text)
            matches = [m for m in analysis.matches if cover.covers(m.start, m.end)]
            cues = modality_cues(analysis, scope.text)
            modalities = modality_tags(analysis, scope.subcaption) or tags_of(cues)
            return self._concepts(matches, analysis, cues), modalities
        cues = modality_cues(analysis)
        modalities: list[str] = []
        if subcaption and subcaption.strip() and subcaption != caption:
            modalities = modality_tags(self.matcher.analyse(subcaption))
        if not modalities:
            modalities = tags_of(cues)
        return self._concepts(analysis.matches, analysis, cues), modalities

    def _concepts(self, matches: list[Match], analysis: Analysis, cues: list[Cue]) -> list[dict]:
        """The matched concepts, then the modality concepts that only wording names: a
        strong cue ("hypodense", "orthopantomogram", "T2-weighted") stands for the concept
        of its modality when the lexicon has one and nothing matched names it."""
        out = [m.as_struct() for m in matches]
        wanted = self.matcher.modality_concepts
        stand_for = [c for c in cues if c.strong and not c.by_concept and c.tag in wanted]
        if not stand_for:
            return out
        have = {m.concept.cui for m in matches}
        spans = analysis.tokens.spans
        for cue in stand_for:
            concept = self.matcher.concepts[wanted[cue.tag]]
            if concept.cui in have:
                continue
            have.add(concept.cui)
            start, end = spans[cue.first][0], spans[cue.last - 1][1]
            out.append(Match(concept, start, end, cue.first, cue.last, False).as_struct())
        return out

    def empty_reason(self, caption: str | None, scope: PanelScope | None = None) -> str:
        """Why a caption (or a panel's own text in it) got no concepts."""
        text = caption or ""
        if scope is not None:
            text = " ".join(text[s:e] for s, e in sorted(scope.text))
        tokens = tokenize(text)
        if not tokens.words:
            return "no_text"
        if caption_language(tokens) not in self.matcher.languages:
            return "language_unsupported"
        if any(self.matcher.generic.reason(w) for w in tokens.words):
            return "generic_only"
        return "no_match"

    def __call__(self, record: dict[str, Any]) -> UnitResult:
        caption, scope = record.get("caption"), panel_scope(record)
        concepts, modalities = self.tag(caption, record.get("subcaption"), scope)
        reason = None if concepts else self.empty_reason(caption, scope)
        tagged = new_record(
            TAGGED_SCHEMA,
            **record,
            concepts=concepts,
            modalities=modalities,
            concepts_empty_reason=reason,
        )
        return UnitResult(records=[tagged])
