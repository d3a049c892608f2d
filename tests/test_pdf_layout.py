"""Page geometry: clusters, compound layouts, captions matched to regions by layout."""

from __future__ import annotations

from transforms.extract.pdf_caption_groups import caption_groups
from transforms.extract.pdf_clusters import absorb_labels, cluster_graphics
from transforms.extract.pdf_layout import match_captions
from transforms.extract.pdf_page import Graphic, PageLayout, TextBlock, iou

BODY = "Body text of the article that runs on for a while, long enough to be a paragraph. " * 2


def body(x0: float, y0: float, x1: float, y1: float) -> TextBlock:
    return TextBlock((x0, y0, x1, y1), BODY, 6, 10.0)


def caption(x0: float, y0: float, x1: float, text: str) -> TextBlock:
    return TextBlock((x0, y0, x1, y0 + 20), text, 2, 9.0)


def matches_of(blocks: list[TextBlock], graphics: list[Graphic]):
    layout = PageLayout(0, 612, 792, blocks, graphics)
    groups = caption_groups(0, blocks)
    clusters = cluster_graphics(graphics)
    skip = {b for g in groups for b in g.blocks}
    absorbed = absorb_labels(clusters, blocks, skip, layout.height)
    return match_captions(layout, groups, clusters, absorbed), clusters


def test_close_paths_cluster_and_far_ones_do_not() -> None:
    paths = [Graphic((100, 100, 150, 150), False), Graphic((153, 100, 200, 150), False)]
    far = Graphic((400, 400, 450, 450), False)
    clusters = cluster_graphics([*paths, far])
    assert [c.members for c in clusters] == [[0, 1], [2]]
    assert clusters[0].bbox == (100, 100, 200, 150)


def test_rules_alone_never_seed_a_figure() -> None:
    rules = cluster_graphics([Graphic((72, 100, 540, 100.5), False)])
    assert rules[0].rules_only and not rules[0].seed


def test_compound_layout_is_one_figure_with_its_panel_letters() -> None:
    # four raster panels in a 2x2 grid with 14-point gutters, letters beside each
    panels = [
        Graphic((72, 100, 290, 250), True, xref=1),
        Graphic((304, 100, 540, 250), True, xref=2),
        Graphic((72, 264, 290, 414), True, xref=3),
        Graphic((304, 264, 540, 414), True, xref=4),
    ]
    letters = [
        TextBlock((x, y, x + 8, y + 10), ch, 1, 10.0)
        for x, y, ch in [(64, 96, "A"), (296, 96, "B"), (64, 260, "C"), (296, 260, "D")]
    ]
    blocks = [
        body(72, 40, 540, 90),
        *letters,
        caption(72, 422, 540, "Figure 1. Four panels."),
        body(72, 450, 540, 700),
    ]
    matches, _ = matches_of(blocks, panels)
    assert len(matches) == 1
    assert matches[0].group.number == "1"
    assert iou(matches[0].bbox, (64, 96, 540, 414)) > 0.98


def test_captions_take_the_nearest_region_in_their_column() -> None:
    left = Graphic((72, 100, 290, 300), True, xref=1)
    right = Graphic((322, 100, 540, 300), True, xref=2)
    blocks = [
        caption(72, 310, 290, "Fig. 1. Left column figure."),
        caption(322, 310, 540, "Fig. 2. Right column figure."),
        body(72, 340, 290, 700),
        body(322, 340, 540, 700),
    ]
    matches, clusters = matches_of(blocks, [left, right])
    found = {m.group.number: m.bbox for m in matches}
    assert found == {"1": left.bbox, "2": right.bbox}


def test_caption_above_its_figure_and_body_text_in_between_blocks() -> None:
    figure = Graphic((72, 130, 540, 300), True, xref=1)
    other = Graphic((72, 500, 540, 700), True, xref=2)  # below body text: not figure 1's
    blocks = [caption(72, 100, 540, "Figure 1 Flow of patients."), body(72, 320, 540, 480)]
    matches, clusters = matches_of(blocks, [figure, other])
    assert [(m.group.number, m.bbox) for m in matches] == [("1", figure.bbox)]


def test_in_text_mention_takes_no_region() -> None:
    figure = Graphic((72, 100, 540, 300), True, xref=1)
    blocks = [TextBlock((72, 310, 540, 330), "Figure 3 shows the main result of", 2, 10.0)]
    matches, _ = matches_of(blocks, [figure])
    assert matches == []


def test_bilingual_captions_are_one_group_english_first() -> None:
    blocks = [
        caption(51, 680, 541, "Figura 1. Correlação entre o teor de fenóis totais."),
        caption(51, 707, 541, "Figure 1. Correlation between total phenol content."),
    ]
    [group] = caption_groups(0, blocks)
    assert [lab.label for lab in group.labels] == ["Figure 1", "Figura 1"]
    assert group.texts == [
        "Correlation between total phenol content.",
        "Correlação entre o teor de fenóis totais.",
    ]


def test_caption_continues_in_the_block_below_but_not_into_wider_body_text() -> None:
    blocks = [
        TextBlock((90, 294, 306, 330), "Figure 2: Schematic for the overall", 3, 10.0),
        TextBlock((90, 335, 306, 356), "method, with covariates.", 2, 10.0),
        TextBlock((90, 362, 522, 500), BODY, 10, 10.0),
    ]
    [group] = caption_groups(0, blocks)
    assert group.blocks == [0, 1]
    assert group.texts == ["Schematic for the overall method, with covariates."]
