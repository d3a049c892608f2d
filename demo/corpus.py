"""Plan the demo corpus from a seed: about 30 PMC-style articles with their figures.

The structure is fixed by article index (which article has the bilingual group, the
thumbnail, the retraction notice...), so tests can rely on it; the seed drives the
content: topics' genes and tissues, layouts, panel kinds, crops and chart data.
"""

from __future__ import annotations

import random

from demo.duplicates import plant_duplicates
from demo.images import CHART_KINDS, compose, encode, thumbnail
from demo.model import ArticlePlan, FigurePlan
from demo.text import (
    GENES,
    GIVEN,
    MENTION_TEMPLATES,
    SURNAMES,
    TISSUES,
    TOPICS,
    Parts,
    figure_title,
    panel_text,
)

N_ARTICLES = 30
# the features the extract rules care about, each in at least one article
SPECIAL_FEATURES: dict[int, tuple[str, ...]] = {
    1: ("bilingual",),
    2: ("alternatives", "tex"),
    3: ("alternatives", "mathml"),
    4: ("no_caption",),
    5: ("tex",),
    6: ("bilingual", "mathml"),
    7: ("no_extension", "tiff"),
    8: ("mathml",),
    9: ("no_extension", "no_caption", "tiff"),
    10: ("retraction",),
    11: ("unreadable_image",),
    13: ("no_figures",),
}
# panels per row of a compound figure
LAYOUTS = [[2], [3], [2, 2], [1, 2], [2, 3], [3, 3], [1, 1], [2, 2, 2]]
LICENSES = [
    "https://creativecommons.org/licenses/by/4.0/",
    "https://creativecommons.org/licenses/by/4.0/",
    "https://creativecommons.org/licenses/by/4.0/",
    "https://creativecommons.org/licenses/by-nc/4.0/",
    "https://creativecommons.org/licenses/by-nc-nd/4.0/",
    "https://creativecommons.org/publicdomain/zero/1.0/",
]
EXTENSIONS = {"jpeg": "jpg", "png": "png", "tiff": "tif"}


def layout_of(index: int) -> str:
    return "targz" if index % 3 == 0 else "folder"


def _caption_parts(texts: list[Parts], labels: list[str | None], style: str) -> Parts:
    """'(A) first. (B) second.' or 'A, first; B, second.' for compound figures."""
    parts: Parts = []
    for i, (text, label) in enumerate(zip(texts, labels, strict=True)):
        head, *rest = text
        head = head[0].upper() + head[1:] if label is None or style == "paren" else head
        if label is None:
            parts += [head, *rest, "."]
        elif style == "paren":
            parts += [f"{' ' if i else ''}({label}) {head}", *rest, "."]
        else:
            sep = "; " if i < len(texts) - 1 else "."
            parts += [f"{label}, {head}", *rest, sep]
    return parts


def _panel_kinds(rng: random.Random, topic: str, count: int, math: str | None) -> list[str]:
    pool = list(TOPICS[topic]["kinds"]) * 2
    rng.shuffle(pool)  # few repeats within one figure
    kinds = pool[:count]
    if math:  # formulas live in scatter (R^2) and Kaplan–Meier (p) captions
        kinds[-1] = "km" if topic == "pathology" else "scatter"
    return kinds


def plan_figure(
    rng: random.Random, art: ArticlePlan, j: int, last: bool, words: tuple[str, str, str]
) -> FigurePlan:
    """Figure j of an article: its image (written into `art.files`) and its caption."""
    topic, gene, tissue = words
    features = art.features
    math = next((f for f in ("mathml", "tex") if f in features), None) if j == 0 else None
    compound = j == 0 or rng.random() < 0.55
    rows = rng.choice(LAYOUTS) if compound else [1]
    count = sum(rows)
    kinds = _panel_kinds(rng, topic, count, math)
    lower = rng.random() < 0.2
    labels: list[str | None] = (
        [chr((97 if lower else 65) + i) for i in range(count)] if compound else [None]
    )
    width = rng.choice([480, 560, 640]) if compound else rng.choice([360, 420, 480])
    gap = rng.choice([6, 10, 14]) if compound else 0
    img, placed = compose(kinds, labels, rows, width, rng.uniform(0.7, 0.85), gap, rng)
    fmt = "png" if all(k in CHART_KINDS for k in kinds) else "jpeg"
    if "tiff" in features and j == 0:
        fmt = "tiff"
    stem = f"{art.pmcid.lower()}-g{j + 1:03d}"
    file = f"{stem}.{EXTENSIONS[fmt]}"
    texts = [panel_text(k, rng, gene, tissue) for k in kinds]
    style = "comma" if compound and rng.random() < 0.2 else "paren"
    fig = FigurePlan(
        fig_id=f"F{j + 1}",
        label=f"Figure {j + 1}",
        title=figure_title(kinds, gene),
        parts=_caption_parts([t[0] for t in texts], labels, style),
        href=stem if "no_extension" in features else file,
        file=file,
        fmt=fmt,
        width=img.width,
        height=img.height,
        panels=placed,
        math=math,
        mention=rng.choice(MENTION_TEMPLATES),
    )
    art.files[file] = encode(img, fmt)
    if "bilingual" in features and j == 0:
        fig.group_id, fig.fig_id = fig.fig_id, f"{fig.fig_id}-en"
        es = [
            f"({lab}) {t[1]}." if lab else f"{t[1]}." for lab, t in zip(labels, texts, strict=True)
        ]
        fig.caption_es = " ".join(es)
    if "alternatives" in features and j == 1:
        small = thumbnail(img)
        fig.thumb_href = f"{stem}-sm.jpg"
        fig.thumb_size = small.size
        art.files[fig.thumb_href] = encode(small, "jpeg")
    if "no_caption" in features and last:
        fig.title, fig.parts = None, None
    if "unreadable_image" in features and j == 1:
        data = art.files[file]
        art.files[file] = data[: len(data) // 3]  # a truncated download
        fig.expect = "image_truncated"
    return fig


def plan_article(index: int, seed: int) -> ArticlePlan:
    rng = random.Random(f"biomed-curate-demo/{seed}/{index}")
    features = list(SPECIAL_FEATURES.get(index, ()))
    if not features and rng.random() < 0.4:
        features.append(rng.choice(["mathml", "tex", "no_extension"]))
    topic = list(TOPICS)[index % len(TOPICS)]
    gene, tissue = rng.choice(GENES), rng.choice(TISSUES)
    year = rng.randint(2015, 2025)
    title = rng.choice(TOPICS[topic]["titles"]).format(gene=gene, tissue=tissue)
    article_type = "research-article"
    paragraphs = [
        f"{gene} is studied here in the context of {topic}.",
        f"Earlier work on {tissue} samples left the role of {gene} open.",
    ]
    if "retraction" in features:
        article_type, title = "retraction", f"Retraction: {title}"
        paragraphs = ["This article has been retracted at the request of the authors."]
    elif "no_figures" in features:
        article_type = "editorial"
    art = ArticlePlan(
        index=index,
        pmcid=f"PMC{9100000 + index}",
        pmid=str(39100000 + index),
        doi=f"10.5555/demo.{year}.{index:04d}",
        title=title,
        journal=rng.choice(TOPICS[topic]["journals"]),
        year=year,
        license_url=rng.choice(LICENSES),
        authors=[(rng.choice(GIVEN), rng.choice(SURNAMES)) for _ in range(rng.randint(2, 6))],
        article_type=article_type,
        layout=layout_of(index),
        paragraphs=paragraphs,
        features=features,
    )
    count = rng.randint(2, 4) if article_type == "research-article" else 0
    for j in range(count):
        art.figures.append(plan_figure(rng, art, j, j == count - 1, (topic, gene, tissue)))
    return art


def plan_corpus(seed: int, count: int = N_ARTICLES) -> list[ArticlePlan]:
    articles = [plan_article(index, seed) for index in range(1, count + 1)]
    plant_duplicates(articles, seed)
    return articles
