"""Caption labels: which block starts are captions, and what they pair by."""

from __future__ import annotations

import pytest

from transforms.extract.pdf_captions import guess_language, label_key, parse_label


@pytest.mark.parametrize(
    "text,number,label,english",
    [
        ("Figure 3. Cells in culture.", "3", "Figure 3", True),
        ("Fig. 3: Cells in culture.", "3", "Fig. 3", True),
        ("FIGURE 3 CELLS IN CULTURE", "3", "FIGURE 3", True),
        ("Figura 3. Células em cultura.", "3", "Figura 3", False),
        ("Supplementary Figure S2. Controls.", "S2", "Supplementary Figure S2", True),
        ("Supplementary Figure 2 | Controls.", "S2", "Supplementary Figure 2", True),
        ("Figure S4 Controls", "S4", "Figure S4", True),
        ("Figure 1 Patient flow pattern at the medical department", "1", "Figure 1", True),
        ("Fig. 1.", "1", "Fig. 1", True),
    ],
)
def test_caption_labels(text: str, number: str, label: str, english: bool) -> None:
    parsed = parse_label(text)
    assert parsed is not None and parsed.kind == "figure"
    assert (parsed.number, parsed.label, parsed.english) == (number, label, english)


@pytest.mark.parametrize(
    "text",
    [
        "Figure 3 shows the results from this validation mechanism.",
        "Figure 2B shows the pattern of responses.",
        "Figures 2 and 3 show",
        "Figs. 2 and 3 show",
        "(Figure 1). Perhaps the invagination pulls the centrosome.",
        "Figure 1, 2 and 3 compare",
        "as shown in Figure 3, the cells",
        "Configure 3 things",
    ],
)
def test_in_text_mentions_are_not_captions(text: str) -> None:
    assert parse_label(text) is None


def test_caption_text_and_continuation() -> None:
    parsed = parse_label("Figure 2: Overview of the options.")
    assert parsed.text == "Overview of the options."
    continued = parse_label("Figure 2 (...continued) However, you may wish to")
    assert continued.continued and continued.text == "However, you may wish to"
    assert parse_label("Fig. 1.").text == ""
    assert parse_label("Table 2. Doses.").kind == "table"


def test_label_keys_pair_across_languages_and_sources() -> None:
    assert label_key("Figure 3.") == label_key("Figura 3") == label_key("Fig. 3") == "3"
    assert label_key("Supplementary Figure S2") == "S2"
    assert label_key("Table 3") is None
    assert label_key(None) is None


def test_language_guess() -> None:
    assert guess_language("Correlação entre o teor de fenóis totais e CE50 das espécies") == "pt"
    assert guess_language("Correlación entre el contenido de los fenoles y la actividad") == "es"
    assert guess_language("Correlation") is None
