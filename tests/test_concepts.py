"""The concept matcher: exact offsets, longest and nested matches, abbreviations, plurals,
negation."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from metadata.lexicon import Lexicon, load_default, make_concept
from transforms.tag.concepts import ConceptMatcher
from transforms.tag.normalise import COUNT_WORDS_UP_TO, fold_lower, key_of, term_keys, tokenize
from transforms.tag.variants import derived_forms


@pytest.fixture(scope="module")
def default() -> ConceptMatcher:
    return ConceptMatcher(load_default())


@pytest.fixture(scope="module")
def small() -> ConceptMatcher:
    return ConceptMatcher(
        Lexicon(
            "small",
            [
                make_concept("C0023884", "Liver", ("T023",), ["liver"]),
                make_concept("C0027651", "Neoplasms", ("T191",), ["tumour", "tumor"]),
                make_concept("C0023903", "Liver neoplasms", ("T191",), ["liver tumour"]),
                make_concept("C0040405", "CT", ("T060",), ["computed tomography", "CT"]),
                make_concept("C0026769", "Multiple Sclerosis", ("T047",), ["MS"]),
                make_concept("C0024204", "Lymph node", ("T023",), ["lymph node"]),
                make_concept("C0043299", "X-ray", ("T060",), ["X-ray"]),
            ],
        )
    )


def spans(matcher: ConceptMatcher, text: str) -> list[tuple[str, str, bool]]:
    return [
        (text[m.start : m.end], m.concept.cui, m.negated) for m in matcher.analyse(text).matches
    ]


def test_overlaps_resolve_to_the_longest(small: ConceptMatcher) -> None:
    text = "Resected liver tumour and a second tumour in the liver."
    found = [(text[m.start : m.end], m.concept.cui, m.nested) for m in small.analyse(text).matches]
    # the concepts inside the longest match are kept after it, marked nested
    assert found == [
        ("liver tumour", "C0023903", False),
        ("liver", "C0023884", True),
        ("tumour", "C0027651", True),
        ("tumour", "C0027651", False),
        ("liver", "C0023884", False),
    ]


def test_nested_concepts_share_the_negation_and_skip_the_outer_concept(
    small: ConceptMatcher,
) -> None:
    text = "No liver tumour. CT: computed tomography"
    found = [(text[m.start : m.end], m.negated, m.nested) for m in small.analyse(text).matches]
    assert found == [
        ("liver tumour", True, False),
        ("liver", True, True),
        ("tumour", True, True),
        ("CT", False, False),
        ("computed tomography", False, False),
    ]


def test_plural_hyphen_and_case_variants(small: ConceptMatcher) -> None:
    text = "Chest X-rays, an xray and two LYMPH-NODES; Xray."
    assert [s for s, _, _ in spans(small, text)] == ["X-rays", "xray", "LYMPH-NODES", "Xray"]


def test_abbreviations_match_only_as_written_whole_tokens(small: ConceptMatcher) -> None:
    assert spans(small, "CT of the head") == [("CT", "C0040405", False)]
    assert spans(small, "the ct value, Ct and CTA") == []
    # MS is on the ambiguous stop-list even when the lexicon lists it
    assert spans(small, "MS lesions") == []


def test_offsets_survive_accents_and_odd_unicode() -> None:
    matcher = ConceptMatcher(
        Lexicon(
            "u", [make_concept("C0037133", "Sjogren syndrome", ("T047",), ["Sjögren syndrome"])]
        )
    )
    text = "İ — Sjögren’s? No: Sjögren syndrome (SJÖGREN SYNDROME)."
    found = spans(matcher, text)
    assert [s for s, _, _ in found] == ["Sjögren syndrome", "SJÖGREN SYNDROME"]


def test_negation_is_flagged_and_the_concept_kept(small: ConceptMatcher) -> None:
    found = spans(small, "No evidence of tumour. The liver shows a tumour, but no lymph node.")
    assert found == [
        ("tumour", "C0027651", True),
        ("liver", "C0023884", False),
        ("tumour", "C0027651", False),
        ("lymph node", "C0024204", True),
    ]
    assert spans(small, "Liver tumour was excluded.")[0][2] is True
    assert spans(small, "Not only the liver tumour grew.")[0][2] is False


def test_struct_has_the_schema_fields(default: ConceptMatcher) -> None:
    concept = default.concepts_of("hepatocellular carcinoma")[0]
    assert concept == {
        "cui": "C0019204",
        "name": "Primary carcinoma of the liver cells",
        "start": 0,
        "end": 24,
        "semtypes": ["T191"],
        "semgroup": "DISO",
        "negated": False,
    }


def test_artefact_round_trip(default: ConceptMatcher) -> None:
    text = "Axial contrast-enhanced CT of the abdomen shows liver metastases."
    loaded = ConceptMatcher.from_bytes(default.to_bytes())
    assert spans(loaded, text) == spans(default, text)
    assert len(loaded) == len(default)


def test_empty_and_missing_text(default: ConceptMatcher) -> None:
    assert default.concepts_of(None) == []
    assert default.concepts_of("") == []
    assert default.concepts_of(" ,;— ") == []


def _check_offsets(matcher: ConceptMatcher, text: str) -> int:
    """Every match covers whole tokens, and its text is a key of its concept (a term's or a
    derived form's)."""
    matches = matcher.analyse(text).matches
    derived = _derived(matcher)
    for m in matches:
        covered = text[m.start : m.end]
        assert m.start == 0 or not text[m.start - 1].isalnum(), (covered, text)
        assert m.end == len(text) or not text[m.end].isalnum(), (covered, text)
        keys = {k for term in m.concept.terms for k in term_keys(term)}
        keys |= {k for form in derived.get(m.concept.cui, ()) for k in term_keys(form)}
        assert key_of(covered) in keys, (covered, m.concept.name)
    previous = (-1, -1)
    for m in matches:
        if m.nested:  # inside the chosen match before it
            assert previous[0] <= m.start and m.end <= previous[1], (m, previous)
            continue
        # chosen ones: non-overlapping and in order; homonyms share a span
        assert (m.start, m.end) == previous or m.start >= previous[1]
        previous = (m.start, m.end)
    return len(matches)


def _derived(matcher: ConceptMatcher) -> dict[str, list[str]]:
    forms = derived_forms(matcher.concepts, matcher.generic.withheld)
    return {matcher.concepts[i].cui: f for i, f in forms.items()}


@pytest.mark.realdata
def test_offsets_are_exact_on_roco_captions(default: ConceptMatcher, testdata: Path) -> None:
    total = 0
    for name in ("nonradiology", "radiology_dev600"):
        path = testdata / "captions" / f"ROCO_test_{name}_captions.txt"
        for line in path.read_text(encoding="utf-8").splitlines():
            caption = line.split("\t", 1)[1]
            total += _check_offsets(default, caption)
    assert total > 2000


@pytest.mark.realdata
def test_word_index_and_spans_on_short_and_long_captions(
    default: ConceptMatcher, testdata: Path
) -> None:
    # a short text finds a word's index by counting spaces, a long one by bisecting its
    # offsets: both must name the word that starts there; spans must give the words back
    lines = (testdata / "captions" / "ROCO_test_radiology_dev600_captions.txt").read_text("utf-8")
    captions = [line.split("\t", 1)[1] for line in lines.splitlines()]
    long = " ".join(captions[:60])
    assert len(tokenize(long).joined) > COUNT_WORDS_UP_TO > len(tokenize(captions[0]).joined)
    for text in (captions[0], long):
        tokens = tokenize(text)
        word_at = tokens.word_finder()
        assert [word_at(position) for position in tokens.offsets[:-1]] == list(
            range(len(tokens.words))
        )
        folded = fold_lower(text)
        assert [folded[start:end] for start, end in tokens.spans] == tokens.words
        starts = tokens.offsets[:-1]  # the last one is the end of `joined`
        assert [
            tokens.joined[p : p + len(w)] for p, w in zip(starts, tokens.words, strict=True)
        ] == (tokens.words)
    assert _check_offsets(default, long) > 200


@pytest.mark.realdata
def test_offsets_are_exact_on_jats_captions(default: ConceptMatcher, testdata: Path) -> None:
    total = 0
    for path in sorted((testdata / "jats").glob("*.*ml")):
        try:
            tree = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True))
        except etree.XMLSyntaxError:
            continue
        for caption in tree.iter("caption"):
            total += _check_offsets(default, "".join(caption.itertext()))
    assert total > 100


@pytest.mark.realdata
def test_longest_match_on_a_real_caption(default: ConceptMatcher, testdata: Path) -> None:
    lines = (testdata / "captions" / "ROCO_test_nonradiology_captions.txt").read_text("utf-8")
    caption = next(
        line.split("\t", 1)[1] for line in lines.splitlines() if line.startswith("ROCO_81851")
    )
    matches = default.analyse(caption).matches
    chosen = [(caption[m.start : m.end], m.concept.cui) for m in matches if not m.nested]
    assert ("optical coherence tomography", "C0920367") in chosen
    assert ("OCT", "C0920367") in chosen
    # the shorter "tomography" is never chosen over it, only kept inside it
    assert all(cui != "C0040395" for _, cui in chosen)
    inside = [(caption[m.start : m.end], m.concept.cui) for m in matches if m.nested]
    assert ("tomography", "C0040395") in inside


def test_homonyms_share_a_span_and_case_forms_win() -> None:
    lexicon = Lexicon(
        "homonyms",
        [
            make_concept("C0022650", "Kidney Calculi", ("T047",), ["renal calculi"]),
            make_concept("C0392525", "Nephrolithiasis", ("T047",), ["renal calculi"]),
            make_concept("C0206054", "TEE", ("T060",), ["TOE"], name_is_term=False),
            make_concept("C0040357", "Toes", ("T023",), ["toe"]),
        ],
    )
    matcher = ConceptMatcher(lexicon)
    found = matcher.concepts_of("Renal calculi. TOE view; toe.")
    assert [(c["cui"], c["start"], c["end"]) for c in found] == [
        ("C0022650", 0, 13),
        ("C0392525", 0, 13),
        ("C0206054", 15, 18),
        ("C0040357", 25, 28),
    ]
