"""Sentence boundaries for mentions."""

from __future__ import annotations

from transforms.extract.sentences import sentences_at, stop_spans


def test_abbreviations_and_initials_do_not_end_a_sentence() -> None:
    text = "As in Fig. 2 and ref. 4, J. Smith et al. saw it. Next one (Figs. 3) here."
    (first, second) = sentences_at(text, [text.index("2"), text.index("3)")])
    assert first == "As in Fig. 2 and ref. 4, J. Smith et al. saw it."
    assert second == "Next one (Figs. 3) here."


def test_question_and_exclamation_stops_and_closing_marks() -> None:
    text = 'Why? Because "it grew!" Then (see Fig 1?.) It stopped.'
    spans = stop_spans(text)
    assert [text[s:e] for s, e in spans] == ["? ", '!" ', "?.) "]
    assert sentences_at(text, [text.index("see")]) == ["Then (see Fig 1?.)"]


def test_no_stop_after_lower_case_and_whitespace_is_squashed() -> None:
    text = "p < 0.05. in the\n  cells, e.g. HeLa. End"
    assert sentences_at(text, [text.index("cells")]) == ["p < 0.05. in the cells, e.g. HeLa."]
    assert sentences_at(text, [len(text) - 1]) == ["End"]


def test_squash_agrees_with_split_and_join_on_every_kind_of_space() -> None:
    from transforms.extract.jats_text import squash

    cases = ["a b", " a  b ", "a\nb", "a\u2009mm", "a\xa0b", "x\t\ty", "", "   ", "α β"]
    cases += ["a \u3000b", "end \u2028"]
    for text in cases:
        assert squash(text) == " ".join(text.split()), repr(text)
