"""What panel segmentation takes and gives: its settings, the caption's hints, its result."""

from __future__ import annotations

from dataclasses import dataclass

from transforms.segment.panel_geometry import Box


@dataclass(frozen=True)
class SegmentConfig:
    work_side: int = 800  # longest side of the analysis image
    uniform_tol: int = 28  # grey range of a separator row or column
    background_tol: int = 14  # grey distance from the page colour that is still page
    edge_tol: int = 40  # grey step of a touching-panel edge
    edge_frac: float = 0.8  # share of a line that must step for an edge cut
    min_side: float = 0.1  # a panel spans at least this share of the figure's width/height
    min_area: float = 0.02  # ... and this share of its area
    min_ink: float = 0.02  # ... and this share of its pixels differ from the background
    max_depth: int = 8


@dataclass(frozen=True)
class CaptionHints:
    """What a figure's caption says about its panels (the defaults: no caption)."""

    letters: frozenset[str] | None = None  # letters panels may carry; empty: read none
    marked: bool | None = None  # whether the caption names panels at all
    named: frozenset[str] = frozenset()  # the letters its panel texts open with, lower case
    count: int = 0  # how many panels it names (distinct labels); 0 when it names none


# What decided a segmentation (the README lists these as the values of `seg_method`).
METHODS = (
    "caption_labels",  # tiles grouped into the caption's panel count, letters read keeping
    # panels apart
    "caption_count",  # tiles grouped into the caption's panel count by layout alone
    "labels",  # letters read on the panels grouped the tiles under them
    "gutters",  # cut along background bands or separator lines between panels
    "edges",  # cut along straight colour seams where panels touch
    "blocks",  # separate connected blocks of a layout no straight cut divides
    "whole",  # left whole; `detail` says why
)


@dataclass(frozen=True)
class Panel:
    bbox: Box
    label: str | None = None


@dataclass(frozen=True)
class Segmentation:
    panels: tuple[Panel, ...]
    method: str  # one of METHODS
    detail: str = ""  # why, in words: the tile and caption counts, or why it stayed whole

    @property
    def is_compound(self) -> bool:
        return len(self.panels) > 1
