"""Caption labels in PDF text: "Figure 3", "Fig. 3", "FIGURE 3", "Figura 3", "Figure S2".

A text block is a caption when it starts with a label that is followed by caption
punctuation, by a capitalised word, or by nothing (a label set apart from its text).
Block starts such as "Figure 3 shows ..." or "Figure 2, 3" are in-text mentions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_LABEL_RE = re.compile(
    r"^\s*(?P<supp>(?:supplementary|supplemental|suppl\.?|additional(?:\s+file)?)\s+)?"
    r"(?P<word>figure|figura|fig\.?|table|tabela|tabla)\s*"
    r"(?P<num>S?\d{1,3})(?![\w])"
    r"(?P<rest>.*)\Z",
    re.IGNORECASE | re.DOTALL,
)
_CONTINUED_RE = re.compile(r"^\(\s*(?:\.\.\.|…)?\s*cont(?:inued|'d|\.)?\s*\)", re.IGNORECASE)
_LEAD_PUNCT = ".:|–—-"
_PT_MARKERS = re.compile(r"ção|ções|ões|ão\b|\bdo\b|\bda\b|\bdos\b|\bdas\b|\bem\b|\bsão\b")
_ES_MARKERS = re.compile(r"ción|\bdel\b|\blos\b|\blas\b|\by\b|\bel\b|ñ")


@dataclass(frozen=True)
class CaptionLabel:
    kind: str  # "figure" or "table"
    number: str  # "3" or "S2": the key that pairs captions, figures and JATS labels
    label: str  # as printed, e.g. "Fig. 3", "Supplementary Figure S2"
    english: bool  # "Figure"/"Fig." (English) or "Figura" (Portuguese, Spanish)
    text: str  # the caption text after the label ("" for a label standing alone)
    continued: bool = False  # "Figure 2 (continued)": the rest of an earlier caption


def parse_label(text: str) -> CaptionLabel | None:
    """The caption label a block starts with, or None for body text and mentions."""
    match = _LABEL_RE.match(text)
    if not match:
        return None
    word = match["word"].lower().rstrip(".")
    number = match["num"].upper()
    rest = match["rest"].strip()
    continued = bool(_CONTINUED_RE.match(rest))
    if continued:
        rest = rest[_CONTINUED_RE.match(rest).end() :].strip()
    elif rest and not _starts_caption(rest):
        return None
    supp = bool(match["supp"]) or number.startswith("S")
    kind = "table" if word in ("table", "tabela", "tabla") else "figure"
    if supp and not number.startswith("S"):
        number = "S" + number
    label = " ".join(text[match.start("word") : match.end("num")].split())
    if match["supp"]:
        label = " ".join(match["supp"].split()) + " " + label
    return CaptionLabel(
        kind=kind,
        number=number,
        label=label,
        english=word not in ("figura", "tabela", "tabla"),
        text=rest.lstrip(_LEAD_PUNCT).strip(),
        continued=continued,
    )


def _starts_caption(rest: str) -> bool:
    if rest[0] in _LEAD_PUNCT:
        return True
    if rest[0] in ",;)]" or rest[0].islower():
        return False
    return rest[0].isupper() or rest[0].isdigit() or rest[0] == "("


def label_key(label: str | None) -> str | None:
    """'Figure 3', 'Fig. 3.', 'Figura 3' -> '3'; 'Supplementary Figure S2' -> 'S2'."""
    if not label:
        return None
    parsed = parse_label(label.strip().rstrip(".:"))
    return parsed.number if parsed and parsed.kind == "figure" else None


def guess_language(text: str) -> str | None:
    """'pt' or 'es' for a non-English caption, by a few function words; None when unsure."""
    lower = text.lower()
    pt, es = len(_PT_MARKERS.findall(lower)), len(_ES_MARKERS.findall(lower))
    if pt == es:
        return None
    return "pt" if pt > es else "es"
