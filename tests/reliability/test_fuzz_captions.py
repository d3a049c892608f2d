"""Fuzz the caption splitter with captions made of the markers it reads ("(A)", "a,",
"B1-B3", "Left:", "e.g. Fig. 2"), odd whitespace and any text: it never raises, every
span lies inside the caption and gives back its part's text, and the segment and tag
stages that use the split turn each caption into records the sink can write."""

from __future__ import annotations

import pytest
from fuzzing import assert_clear_outcome, examples
from hypothesis import example, given, settings
from hypothesis import strategies as st

from metadata.lexicon import load_default
from schemas import FIGURE_SCHEMA, PANEL_SCHEMA, new_record
from transforms.ledger import run_unit
from transforms.segment.panel_align import align
from transforms.segment.segmenter import Segmenter
from transforms.segment.subcaptions import split_caption
from transforms.tag.concepts import ConceptMatcher
from transforms.tag.tagger import PanelScope, Tagger

MARKERS = [
    "(A)", "(a)", "(B, C)", "(A–C)", "(C)-(E)", "(A and B)", "A,", "B.", "c:", "a)", "b ",
    "B1", "B1-B3", "(d1)", "A & B", "H&E", "Left:", "Top panels", "Middle row:", "right",
    "e.g.", "Fig. 2", "vs.", "i.e.,", "Scale bars,", "n = 3", "*", "(", ")", ",", ".", ";",
    "and", "to", "-", "–", "Z.", "(Z)", "(AA)", "(a-z)", "(A0)", "(a-99)",
]  # fmt: skip
SPACES = [" ", "  ", "\n", "\t", "\u00a0", "\u2009", "\u3000", "\x1c", ""]
WORD = st.sampled_from(["CT", "liver", "MRI of the brain", "showing", "Axial", "no", "in"])
ANY_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
TOKEN = st.one_of(st.sampled_from(MARKERS), WORD, ANY_TEXT)
CAPTION = st.lists(st.tuples(TOKEN, st.sampled_from(SPACES)), max_size=40).map(
    lambda pairs: "".join(token + space for token, space in pairs)
)


def collapsed(text: str) -> str:
    return " ".join(text.split())


def assert_spans_give_text(caption: str, text: str | None, spans) -> None:
    assert all(0 <= start < end <= len(caption) for start, end in spans), spans
    pieces = [collapsed(caption[start:end]) for start, end in spans]
    assert " ".join(pieces) == (text or "")


@settings(max_examples=examples(300))
@given(CAPTION, st.one_of(st.none(), WORD))
@example("(A) " * 200 + "-" * 500, None)  # a long run of markers, then of dashes
@example("\x1c(A)\x1dx (B)\x1e", None)  # separators that are whitespace to str.split
def test_split_spans_index_the_caption_and_give_each_text(caption: str, title) -> None:
    split = split_caption(caption, title)
    assert split.style in ("leading", "position", "inline", "none")
    assert_spans_give_text(caption, split.preamble, split.preamble_spans)
    for part in split.parts:
        assert part.labels
        assert_spans_give_text(caption, part.text, part.spans)
    for label in split.labels:
        assert split.text_for(label) is not None and split.spans_for(label) is not None


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return Tagger(ConceptMatcher(load_default()))


BOX = st.tuples(st.integers(0, 50), st.integers(0, 50)).map(
    lambda xy: (xy[0], xy[1], xy[0] + 10, xy[1] + 10)
)
LABEL = st.one_of(st.none(), st.sampled_from(list("AaBbCdZ")))
PANELS = st.lists(st.tuples(LABEL, BOX), max_size=6)


@settings(max_examples=examples(200))
@given(CAPTION, PANELS)
def test_panels_get_spans_of_the_caption_and_tags_inside_it(
    tagger: Tagger, caption: str, panels
) -> None:
    split = split_caption(caption)
    labels, boxes = [p[0] for p in panels], [p[1] for p in panels]
    aligned = align(caption, split, labels, boxes)
    assert len(aligned) == len(panels)
    for al in aligned:
        assert all(0 <= s < e <= len(caption) for s, e in al.spans)
        scope = PanelScope(al.spans, split.preamble_spans)
        concepts, modalities = tagger.tag(caption, al.subcaption, scope)
        assert all(0 <= c["start"] < c["end"] <= len(caption) for c in concepts)
        assert all(isinstance(m, str) for m in modalities)
    record = {"key": "PMC1/F1", "source_uri": "x.nxml", "caption": caption, "image": None}
    result = run_unit(Segmenter(), new_record(FIGURE_SCHEMA, **record), "PMC1/F1", "x.nxml")
    assert_clear_outcome(result, PANEL_SCHEMA)
    assert result.error is None and len(result.records) == 1
