"""Mentions: citing sentences from running text only, each paragraph's own."""

from __future__ import annotations

from transforms.extract.jats import parse_articles

ARTICLE = b"""<article><body><sec>
<p>Lists come first. <list><list-item><p>Inner item shows the cells (Fig 2).</p></list-item>
</list> Outer text cites Fig 1 here (<xref ref-type="fig" rid="f1">Fig 1</xref>).</p>
<p>The stain <fn><p>A note on <xref ref-type="fig" rid="f2">Fig 2</xref>.</p></fn>was
weak. <fig id="f9"><caption><p>See <xref ref-type="fig" rid="f1">Fig 1</xref>.</p>
</caption><graphic xlink:href="f9.tif" xmlns:xlink="http://www.w3.org/1999/xlink"/></fig>
Panel B differs (<xref ref-type="fig" rid="f2">Fig 2B</xref>). Done.</p>
</sec></body>
<back><p>Back matter cites <xref ref-type="fig" rid="f1">Fig 1</xref>.</p></back>
<floats-group>
<fig id="f1"><caption><p>One.</p></caption><graphic xlink:href="f1.tif"
 xmlns:xlink="http://www.w3.org/1999/xlink"/></fig>
<fig id="f2"><caption><p>Two.</p></caption><graphic xlink:href="f2.tif"
 xmlns:xlink="http://www.w3.org/1999/xlink"/></fig>
</floats-group></article>"""


def _mentions() -> dict[str, list[str]]:
    (article,) = parse_articles(ARTICLE, "mentions.xml")
    return {fig.fig_id: fig.mentions for fig in article.figures}


def test_xrefs_in_floats_and_back_matter_are_not_mentions() -> None:
    mentions = _mentions()
    assert mentions["f1"] == ["Outer text cites Fig 1 here (Fig 1)."]
    assert mentions["f2"] == ["Panel B differs (Fig 2B)."]


def test_a_float_inside_a_cited_paragraph_is_left_out_of_its_sentences() -> None:
    text = " ".join(_mentions()["f2"])
    assert "note on" not in text and "See Fig 1" not in text


def test_a_nested_paragraph_cited_first_keeps_document_order() -> None:
    data = ARTICLE.replace(
        b"Inner item shows the cells (Fig 2).",
        b'Inner item shows the cells (<xref ref-type="fig" rid="f1">Fig 1A</xref>).',
    )
    (article,) = parse_articles(data, "nested.xml")
    f1 = next(fig for fig in article.figures if fig.fig_id == "f1")
    # the outer paragraph starts first, so its sentence leads; its text stops at the list
    assert f1.mentions == [
        "Outer text cites Fig 1 here (Fig 1).",
        "Inner item shows the cells (Fig 1A).",
    ]
