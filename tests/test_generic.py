"""Generic words: withheld alone by lexicon evidence, kept inside longer names; why a
caption got no concepts."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from lxml import etree

from metadata.lexicon import Lexicon, load_default, make_concept
from schemas import PANEL_SCHEMA, new_record
from transforms.tag.concepts import ConceptMatcher
from transforms.tag.generic import find_generic_words, read_stop_words
from transforms.tag.tagger import Tagger

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from generic_eval import is_bare_generic  # noqa: E402


@pytest.fixture(scope="module")
def default() -> ConceptMatcher:
    return ConceptMatcher(load_default())


def captions(testdata: Path, split: str) -> dict[str, str]:
    path = testdata / "captions" / f"ROCO_test_{split}_captions.txt"
    rows = [line.split("\t") for line in path.read_text("utf-8").splitlines()]
    return {row[0]: " ".join(row[1:]).strip() for row in rows}


def mentions(matcher: ConceptMatcher, text: str) -> list[str]:
    return [text[m.start : m.end] for m in matcher.analyse(text).matches]


SMALL = [
    make_concept("C0449900", "Contrast", ("T080",), ["contrast", "contrast ratio"]),
    make_concept("C0009924", "Contrast Media", ("T130",), ["contrast medium"]),
    make_concept("C0376152", "Arrow", ("T109",), ["arrow"]),
    make_concept("C0771936", "Arrow", ("T121",), ["arrow"]),
    make_concept("C1546708", "Arrow", ("T170",), ["arrow"]),
    make_concept("C0023884", "Liver", ("T023",), ["liver"]),
    make_concept("C1696103", "Image", ("T170",), ["image"]),
    make_concept("C0011923", "Imaging", ("T060",), ["image", "imaging"]),
]


def test_rules_withhold_bare_words_and_keep_longer_names() -> None:
    found = find_generic_words(SMALL)
    assert found.reasons() == {
        "arrow": "ambiguous",  # three senses
        "contrast": "semtype",  # only a qualitative concept
        "image": "semtype (some senses)",  # its intellectual-product sense only
    }
    matcher = ConceptMatcher(Lexicon("small", SMALL))
    text = "Liver image: contrast medium (arrow), contrast ratio, low contrast."
    assert [(text[m.start : m.end], m.concept.cui) for m in matcher.analyse(text).matches] == [
        ("Liver", "C0023884"),
        ("image", "C0011923"),
        ("contrast medium", "C0009924"),
        ("contrast ratio", "C0449900"),
    ]


def test_a_stop_list_withholds_more(tmp_path: Path) -> None:
    path = tmp_path / "stop.txt"
    path.write_text("# ours\nLiver\nContrast  Medium # a phrase\n", encoding="utf-8")
    words = read_stop_words(str(path))
    assert words == frozenset({"liver", "contrast medium"})
    matcher = ConceptMatcher(Lexicon("small", SMALL), stop_words=words)
    assert matcher.generic.reason("liver") == "stop_list"
    assert mentions(matcher, "liver, contrast medium, contrast ratio") == ["contrast ratio"]
    # a compiled matcher keeps what it withheld, and why
    loaded = ConceptMatcher.from_bytes(matcher.to_bytes())
    assert loaded.generic.reasons() == matcher.generic.reasons()


@pytest.mark.realdata
def test_real_captions_lose_bare_generic_words_and_keep_longer_names(
    default: ConceptMatcher, testdata: Path
) -> None:
    radiology = captions(testdata, "radiology_dev600")
    # "right ventricle" and "contrast medium" are kept; "right", "arrow", "red arrows" not
    text = radiology["ROCO_14477"]
    assert "right ventricle" in mentions(default, text)
    text = radiology["ROCO_12945"]
    assert "contrast medium" in mentions(default, text) and "right" not in mentions(default, text)
    text = radiology["ROCO_14397"]
    assert "red arrows" in text and not [m for m in mentions(default, text) if "arrow" in m]
    other = captions(testdata, "nonradiology")
    assert "Scanning electron microscopy" in mentions(default, other["ROCO_81827"])
    assert "Group" not in mentions(default, other["ROCO_81827"])


@pytest.mark.realdata
def test_bare_generic_mentions_are_rare_on_real_captions(
    default: ConceptMatcher, testdata: Path
) -> None:
    """Measured against issue 12's word classes (benchmarks/generic_eval.py), which the
    tagger never reads; the old lexicon had 34% here."""
    for split in ("radiology_dev600", "nonradiology"):
        spans = [s for text in captions(testdata, split).values() for s in mentions(default, text)]
        share = sum(map(is_bare_generic, spans)) / len(spans)
        assert len(spans) > 1000 and share <= 0.02, (split, share)


@pytest.mark.realdata
def test_a_portuguese_caption_says_why_it_has_no_concepts(testdata: Path) -> None:
    tree = etree.parse(str(testdata / "jats" / "SciELO_0034-8910-rsp-48-2-0240.xml"))
    texts = [" ".join("".join(c.itertext()).split()) for c in tree.iter("caption")]
    portuguese = next(t for t in texts if t.startswith("Cobertura anual"))
    english = next(t for t in texts if t.startswith("Annual coverage"))
    tagger = Tagger(ConceptMatcher(load_default()))

    def tagged(caption: str) -> dict:
        record = new_record(PANEL_SCHEMA, key="SciELO/F1/p0", caption=caption)
        return tagger(record).records[0]

    assert tagged(portuguese)["concepts"] == []
    assert tagged(portuguese)["concepts_empty_reason"] == "language_unsupported"
    assert tagged(english)["concepts_empty_reason"] in (None, "no_match")
    # a UMLS lexicon loaded with Portuguese names is not "unsupported" for it
    tagger = Tagger(ConceptMatcher(load_default(), languages=("en", "pt")))
    assert tagger(new_record(PANEL_SCHEMA, key="k", caption=portuguese)).records[0][
        "concepts_empty_reason"
    ] in ("no_match", None)


def test_generic_only_captions_say_so() -> None:
    tagger = Tagger(ConceptMatcher(Lexicon("small", SMALL)))
    record = new_record(PANEL_SCHEMA, key="k", caption="The arrow marks the spot.")
    assert tagger(record).records[0]["concepts_empty_reason"] == "generic_only"
    record = new_record(PANEL_SCHEMA, key="k", caption="A plain sentence with nothing.")
    assert tagger(record).records[0]["concepts_empty_reason"] == "no_match"


def test_stats_count_the_empty_reasons_of_written_records(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    from pipeline.ledger_check import empty_reason_counts
    from schemas import TAGGED_SCHEMA, to_table

    tagger = Tagger(ConceptMatcher(Lexicon("small", SMALL)))
    captions = ["Liver.", "The arrow.", None, "Nothing here.", "Contrast medium."]
    records = [
        tagger(new_record(PANEL_SCHEMA, key=f"k{i}", caption=c)).records[0]
        for i, c in enumerate(captions)
    ]
    pq.write_table(to_table(TAGGED_SCHEMA, records), tmp_path / "data-00000-of-00001.parquet")
    assert empty_reason_counts(str(tmp_path), "data-*.parquet") == {
        "concepts_empty_reason": {"generic_only": 1, "no_match": 1, "no_text": 1}
    }


def test_the_tag_stage_takes_a_stop_list_and_umls_languages(tmp_path: Path) -> None:
    import argparse

    from pipeline.stages.tag import add_arguments, make_config, make_fn
    from transforms.tag.artefact import LexiconSource

    stop = tmp_path / "stop.txt"
    stop.write_text("lesion\n", encoding="utf-8")
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    config = make_config(parser.parse_args(["--stop-words", str(stop)]))
    assert config.stop_words == ("lesion",)
    tagger = make_fn(config)
    assert tagger.matcher.generic.reason("lesion") == "stop_list"
    record = new_record(PANEL_SCHEMA, key="k", caption="CT of a liver lesion.")
    assert [c["name"] for c in tagger(record).records[0]["concepts"]] == [
        "X-Ray Computed Tomography",
        "Liver",
    ]
    with pytest.raises(SystemExit):
        make_config(parser.parse_args(["--lexicon", "x.matcher", "--stop-words", str(stop)]))
    source = LexiconSource("umls", "META", languages=("ENG", "POR", "XXX"))
    assert source.caption_languages() == ("en", "pt")
    assert LexiconSource("default").caption_languages() == ("en",)
