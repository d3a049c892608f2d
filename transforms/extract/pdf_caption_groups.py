"""A PDF page's caption blocks grouped per figure: a caption, the blocks that continue it,
and its translation in a bilingual pair."""

from __future__ import annotations

from dataclasses import dataclass

from transforms.boxes import union
from transforms.extract.pdf_captions import CaptionLabel, parse_label
from transforms.extract.pdf_page import Rect, TextBlock, h_overlap

CAPTION_PAIR_GAP = 30.0  # between the two captions of a bilingual pair


@dataclass
class CaptionGroup:
    """One figure's (or table's) caption blocks: a caption, its continuation, its translation."""

    page: int
    blocks: list[int]
    bbox: Rect
    labels: list[CaptionLabel]  # the English one first
    texts: list[str]  # caption text per label, continuation blocks joined

    @property
    def kind(self) -> str:
        return self.labels[0].kind

    @property
    def number(self) -> str:
        return self.labels[0].number

    @property
    def label_only(self) -> bool:
        return not any(self.texts)

    @property
    def continued(self) -> bool:
        return self.labels[0].continued


def caption_groups(page: int, blocks: list[TextBlock]) -> list[CaptionGroup]:
    """Caption blocks with their continuation blocks, bilingual pairs as one group."""
    singles: list[CaptionGroup] = []
    used: set[int] = set()
    for index, block in enumerate(blocks):
        label = parse_label(block.text)
        if label is None or index in used:
            continue
        members, bbox, text = [index], block.bbox, label.text
        for nxt in _following(blocks, index, label_only=not label.text):
            if nxt in used or parse_label(blocks[nxt].text) is not None:
                break
            members.append(nxt)
            bbox = union(bbox, blocks[nxt].bbox)
            text = _join(text, blocks[nxt].text)
        used.update(members)
        singles.append(CaptionGroup(page, members, bbox, [label], [text]))
    return _pair_languages(singles)


def _following(blocks: list[TextBlock], index: int, label_only: bool) -> list[int]:
    """Blocks that continue a caption block: just below, same column, same type size."""
    chain, last = [], blocks[index]
    while True:
        best = None
        for j, cand in enumerate(blocks):
            if j == index or j in chain:
                continue
            gap = cand.bbox[1] - last.bbox[3]
            narrow = min(cand.bbox[2] - cand.bbox[0], last.bbox[2] - last.bbox[0])
            if not -2.0 <= gap <= max(3.0, 0.8 * last.size):
                continue
            if h_overlap(cand.bbox, last.bbox) < 0.5 * narrow:
                continue
            if not label_only and (
                cand.bbox[0] < last.bbox[0] - 5.0 or cand.bbox[2] > last.bbox[2] + 5.0
            ):
                continue  # wider than the caption's column: body text below it
            if not label_only and abs(cand.size - last.size) > 0.6:
                continue
            if best is None or cand.bbox[1] < blocks[best].bbox[1]:
                best = j
        if best is None:
            return chain
        chain.append(best)
        last, label_only = blocks[best], False


def _join(text: str, more: str) -> str:
    return f"{text} {more}".strip() if text else more.strip()


def _pair_languages(singles: list[CaptionGroup]) -> list[CaptionGroup]:
    """'Figura 1' and 'Figure 1' stacked on one page are one figure; English leads."""
    groups: list[CaptionGroup] = []
    for group in sorted(singles, key=lambda g: (g.bbox[1], g.bbox[0])):
        partner = next(
            (
                g
                for g in groups
                if g.kind == group.kind
                and g.number == group.number
                and all(lab.english != group.labels[0].english for lab in g.labels)
                and group.bbox[1] - g.bbox[3] <= CAPTION_PAIR_GAP
                and h_overlap(g.bbox, group.bbox) > 0
            ),
            None,
        )
        if partner is None:
            groups.append(group)
            continue
        partner.blocks += group.blocks
        partner.bbox = union(partner.bbox, group.bbox)
        pairs = list(zip(partner.labels + group.labels, partner.texts + group.texts, strict=True))
        pairs.sort(key=lambda p: not p[0].english)
        partner.labels = [p[0] for p in pairs]
        partner.texts = [p[1] for p in pairs]
    return groups
