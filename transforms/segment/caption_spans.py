"""A caption with its whitespace collapsed, and the way back to the caption as written.

The sub-caption splitter works on the collapsed text (single spaces, none at either end);
the spans it finds are mapped back here, so they index the caption that records carry.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

Span = tuple[int, int]  # [start, end)

_SPACE_OR_WORD = re.compile(r"(\s+)|\S+")


class CollapsedCaption:
    def __init__(self, caption: str) -> None:
        chars: list[str] = []
        origin: list[int] = []  # per character of `text`, its position in `caption`
        for m in _SPACE_OR_WORD.finditer(caption):
            if m.group(1):
                chars.append(" ")
                origin.append(m.start())
            else:
                chars.append(m.group())
                origin.extend(range(m.start(), m.end()))
        text = "".join(chars)
        lead = 1 if text.startswith(" ") else 0
        trail = 1 if len(text) > lead and text.endswith(" ") else 0
        self.text = text[lead : len(text) - trail]
        self.origin = origin[lead : len(origin) - trail]

    def pieces(self, spans: Iterable[Span]) -> tuple[str, tuple[Span, ...]]:
        """The text of spans of `text` joined by single spaces, and those spans in the
        caption as written; empty spans are left out, and spans one space apart joined."""
        kept: list[Span] = []
        for start, end in spans:
            if end <= start:
                continue
            if kept and start == kept[-1][1] + 1:
                kept[-1] = (kept[-1][0], end)
            else:
                kept.append((start, end))
        joined = " ".join(self.text[s:e] for s, e in kept)
        return joined, tuple((self.origin[s], self.origin[e - 1] + 1) for s, e in kept)
