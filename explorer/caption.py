"""A caption cut into pieces for marking: sub-caption spans and concepts by semantic group.

Offsets are Python string positions into `caption` (as tag writes them). Pieces carry plain
text; the template escapes it, so a caption holding markup shows as text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Piece:
    text: str
    in_subcaption: bool
    semgroup: str | None  # the concept covering it (the innermost, when concepts nest)
    cui: str | None
    negated: bool


def caption_pieces(
    caption: str, spans: list[dict[str, Any]] | None, concepts: list[dict[str, Any]] | None
) -> list[Piece]:
    length = len(caption)
    sub = [(_clip(s.get("start"), length), _clip(s.get("end"), length)) for s in spans or []]
    marks = [
        (_clip(c.get("start"), length), _clip(c.get("end"), length), c)
        for c in concepts or []
        if c.get("start") is not None and c.get("end") is not None
    ]
    cuts = {0, length}
    for start, end in sub:
        cuts.update((start, end))
    for start, end, _ in marks:
        cuts.update((start, end))
    ordered = sorted(cuts)
    pieces = []
    for start, end in zip(ordered, ordered[1:], strict=False):
        if start >= end:
            continue
        covering = [c for s, e, c in marks if s <= start and end <= e]
        concept = min(covering, key=lambda c: c["end"] - c["start"]) if covering else None
        pieces.append(
            Piece(
                caption[start:end],
                any(s <= start and end <= e for s, e in sub),
                concept.get("semgroup") if concept else None,
                concept.get("cui") if concept else None,
                bool(concept.get("negated")) if concept else False,
            )
        )
    return pieces


def _clip(value: Any, length: int) -> int:
    return max(0, min(int(value or 0), length))
