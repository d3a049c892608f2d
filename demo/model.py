"""The demo corpus plan: what each article and figure is, before it is written out."""

from __future__ import annotations

from dataclasses import dataclass, field

from demo.images import PlacedPanel
from demo.text import Parts


@dataclass
class FigurePlan:
    fig_id: str  # the id of the `<fig>` that carries the graphic
    label: str
    title: str | None
    parts: Parts | None  # caption body; None: the fig has no `<caption>`
    href: str  # as written in xlink:href (maybe without extension)
    file: str  # the image file name in the article's folder or package
    fmt: str  # "jpeg", "png" or "tiff" as stored
    width: int
    height: int
    panels: list[PlacedPanel]
    math: str | None = None  # "mathml", "tex" or None (plain unicode)
    mention: str = ""  # a body sentence template with {ref}
    # a bilingual `<fig-group>`: its id, and the Spanish caption of the fig without graphic
    group_id: str | None = None
    caption_es: str | None = None
    # `<alternatives>`: the thumbnail rendition written before the full-size one
    thumb_href: str | None = None
    thumb_size: tuple[int, int] | None = None
    expect: str = "record"  # or the drop reason, e.g. "image_unreadable"
    # a duplicate planted for dedup (demo/duplicates.py): "original", "jpeg_copy_of:KEY",
    # "resized_copy_of:KEY" or "stock_caption"; None for the planned figures
    planted: str | None = None

    @property
    def cite_id(self) -> str:
        """The id body xrefs point at: the group for a bilingual figure."""
        return self.group_id or self.fig_id


@dataclass
class ArticlePlan:
    index: int
    pmcid: str
    pmid: str
    doi: str
    title: str
    journal: str
    year: int
    license_url: str
    authors: list[tuple[str, str]]  # (given, surname)
    article_type: str
    layout: str  # "folder" or "targz"
    paragraphs: list[str]
    figures: list[FigurePlan] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)  # media file name -> bytes
    features: list[str] = field(default_factory=list)

    @property
    def expect_empty(self) -> str | None:
        """The ledger's empty reason this article should produce, if any."""
        if self.article_type == "retraction":
            return "notice:retraction"
        return None if self.figures else "no_figures"
