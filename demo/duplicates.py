"""Duplicates planted in the demo corpus, for the dedup stage to find (and one to keep).

Three figures are added on top of the planned ones, each a single photo panel (so
segment keeps it whole):
- article ORIGINALS gets two originals;
- article COPIES gets a JPEG re-encode of the first (another quality, its own caption:
  a figure reused in a later paper) and a copy of the second resized to 60% (a smaller
  rendition of the same figure);
- article STOCK gets two different photos under one stock caption, which dedup must keep.

`FigurePlan.planted` names each role, and corpus.json carries it, so the demo test and
the report know what was planted.
"""

from __future__ import annotations

import io
import random

from PIL import Image

from demo.images import PlacedPanel, compose, encode
from demo.model import ArticlePlan, FigurePlan
from demo.text import MENTION_TEMPLATES, panel_text

ORIGINALS, COPIES, STOCK = 20, 24, 27
# every planted caption names Helicobacter pylori, which no other demo caption does: with
# so rare a concept balance keeps all six at any t (a record with a tail entry always stays)
STOCK_CAPTION = "Representative images of Helicobacter pylori gastritis are shown."
# photo kinds the planted figures use; distinct sources, so no two plants look alike
KINDS = ("ihc", "microaneurysms", "cell", "retina")


def add_figure(
    art: ArticlePlan,
    img: Image.Image,
    data: bytes,
    fmt: str,
    caption: str,
    planted: str,
    kind: str,
) -> FigurePlan:
    """Append a one-panel figure made of `data` (the bytes as stored) to an article."""
    j = len(art.figures)
    stem = f"{art.pmcid.lower()}-g{j + 1:03d}"
    file = f"{stem}.{'jpg' if fmt == 'jpeg' else 'png'}"
    fig = FigurePlan(
        fig_id=f"F{j + 1}",
        label=f"Figure {j + 1}",
        title=None,
        parts=[caption],
        href=stem if "no_extension" in art.features else file,
        file=file,
        fmt=fmt,
        width=img.width,
        height=img.height,
        panels=[PlacedPanel(kind, None, (0, 0, img.width, img.height))],
        mention=MENTION_TEMPLATES[3],
        planted=planted,
    )
    art.files[file] = data
    art.figures.append(fig)
    return fig


def photo(rng: random.Random, kind: str, width: int) -> Image.Image:
    img, _ = compose([kind], [None], [1], width, 0.75, 0, rng)
    return img


def caption_of(kind: str, rng: random.Random) -> str:
    parts, _ = panel_text(kind, rng, "CDX2", "gastric")
    text = "".join(str(p) for p in parts)
    return f"{text[0].upper()}{text[1:]}, in Helicobacter pylori infection."


def plant_duplicates(articles: list[ArticlePlan], seed: int) -> None:
    """Add the planted figures to the articles planned (those present by index)."""
    by_index = {a.index: a for a in articles}
    if not {ORIGINALS, COPIES, STOCK} <= set(by_index):
        return
    rng = random.Random(f"biomed-curate-demo/{seed}/duplicates")
    first, second = photo(rng, KINDS[0], 520), photo(rng, KINDS[1], 480)
    originals, copies = by_index[ORIGINALS], by_index[COPIES]
    first_caption, second_caption = caption_of(KINDS[0], rng), caption_of(KINDS[1], rng)
    a = add_figure(
        originals, first, encode(first, "jpeg"), "jpeg", first_caption, "original", KINDS[0]
    )
    b = add_figure(
        originals, second, encode(second, "png"), "png", second_caption, "original", KINDS[1]
    )
    reencoded = io.BytesIO()
    first.save(reencoded, "JPEG", quality=55)
    add_figure(
        copies,
        first,
        reencoded.getvalue(),
        "jpeg",
        "Helicobacter pylori gastritis: the staining of our previous report, reproduced.",
        f"jpeg_copy_of:{originals.pmcid}/{a.fig_id}",
        KINDS[0],
    )
    small = second.resize((second.width * 3 // 5, second.height * 3 // 5), Image.Resampling.LANCZOS)
    add_figure(
        copies,
        small,
        encode(small, "png"),
        "png",
        "Microaneurysms in the Helicobacter pylori pilot cohort, a smaller rendition.",
        f"resized_copy_of:{originals.pmcid}/{b.fig_id}",
        KINDS[1],
    )
    stock = by_index[STOCK]
    for kind in KINDS[2:]:
        img = photo(rng, kind, 440)
        add_figure(stock, img, encode(img, "jpeg"), "jpeg", STOCK_CAPTION, "stock_caption", kind)
