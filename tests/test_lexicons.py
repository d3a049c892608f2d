"""Lexicon loaders (UMLS RRF, MeSH XML and TSV), semantic groups, the bundled default
lexicon and the cached matcher artefact."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from metadata import write_default
from metadata.lexicon import DEFAULT_LEXICON, load_default, read_tsv, write_tsv
from metadata.mesh import MeshFormatError, load_mesh_tsv, load_mesh_xml, natural_order
from metadata.modalities import TAXONOMY
from metadata.semgroups import GROUP_NAMES, TYPE_GROUP, read_semgroups
from metadata.umls import load_umls
from transforms.tag.artefact import LexiconSource, cached_artefact
from transforms.tag.concepts import ConceptMatcher, is_abbreviation


@pytest.fixture
def umls_dir(testdata: Path, tmp_path: Path) -> Path:
    """The real-format RRF fixtures laid out as a META folder."""
    meta = tmp_path / "META"
    meta.mkdir()
    shutil.copy(testdata / "vocab" / "scispacy_MRCONSO.RRF", meta / "MRCONSO.RRF")
    shutil.copy(testdata / "vocab" / "scispacy_MRSTY.RRF", meta / "MRSTY.RRF")
    return meta


@pytest.mark.realdata
def test_semantic_group_facts_match_nlm_semgroups(testdata: Path) -> None:
    assert read_semgroups(testdata / "vocab" / "UMLS_SemGroups.txt") == TYPE_GROUP
    assert len(GROUP_NAMES) == 15
    assert set(TYPE_GROUP.values()) == set(GROUP_NAMES)


@pytest.mark.realdata
def test_umls_loader_reads_the_rrf_fixtures(umls_dir: Path) -> None:
    lexicon = load_umls(umls_dir)
    by_cui = {c.cui: c for c in lexicon.concepts}
    assert set(by_cui) == {"C0000005", "C0000039"}
    maa = by_cui["C0000005"]
    assert maa.name == "(131)I-Macroaggregated Albumin"
    assert maa.terms == ("(131)I-Macroaggregated Albumin", "(131)I-MAA")
    assert maa.semtypes == ("T116",) and maa.semgroup == "CHEM"
    assert by_cui["C0000039"].semtypes == ("T109", "T121")
    assert load_umls(umls_dir, languages=("FRE",)).concepts == []
    assert load_umls(umls_dir, sources=("SNOMEDCT_US",)).concepts == []
    assert len(load_umls(umls_dir, sources=("MSH",))) == 2


@pytest.mark.realdata
def test_umls_loader_drops_suppressed_strings(umls_dir: Path) -> None:
    conso = umls_dir / "MRCONSO.RRF"
    rows = conso.read_text(encoding="utf-8").splitlines()
    # mark the (131)I-MAA string obsolete (SUPPRESS column = O)
    fields = rows[1].split("|")
    fields[16] = "O"
    rows[1] = "|".join(fields)
    conso.write_text("\n".join(rows) + "\n", encoding="utf-8")
    maa = next(c for c in load_umls(umls_dir).concepts if c.cui == "C0000005")
    assert maa.terms == ("(131)I-Macroaggregated Albumin",)
    kept = next(
        c for c in load_umls(umls_dir, keep_suppressed=True).concepts if c.cui == "C0000005"
    )
    assert "(131)I-MAA" in kept.terms


@pytest.mark.realdata
def test_umls_loader_names_a_malformed_line(umls_dir: Path) -> None:
    with open(umls_dir / "MRSTY.RRF", "a", encoding="utf-8") as handle:
        handle.write("\nC0000039|T109|\n")
    with pytest.raises(ValueError, match=r"MRSTY\.RRF:4: expected 6 fields"):
        load_umls(umls_dir)


@pytest.mark.realdata
def test_mesh_xml_descriptor_with_types_and_synonyms(testdata: Path) -> None:
    lexicon = load_mesh_xml(testdata / "vocab" / "mesh_xml2006sample.xml")
    (calcimycin,) = lexicon.concepts
    assert calcimycin.cui == "MESH:D000001"
    assert calcimycin.name == "Calcimycin"
    assert "A23187" in calcimycin.terms
    assert calcimycin.semtypes and calcimycin.semgroup == "CHEM"


@pytest.mark.realdata
def test_truncated_mesh_xml_names_file_and_line(testdata: Path) -> None:
    path = testdata / "vocab" / "dhimmel_mesh_desc2015_subset.xml"
    with pytest.raises(MeshFormatError) as info:
        load_mesh_xml(path)
    message = str(info.value)
    assert str(path) in message
    assert re.search(r"line \d+", message)
    salvaged = load_mesh_xml(path, recover=True)
    assert len(salvaged) >= 2
    assert [c.cui for c in salvaged.concepts[:2]] == ["MESH:D000001", "MESH:D000002"]
    assert all(c.semgroup for c in salvaged.concepts)


@pytest.mark.realdata
def test_mesh_2015_names_and_tree_numbers(testdata: Path) -> None:
    vocab = testdata / "vocab"
    lexicon = load_mesh_tsv(
        vocab / "dhimmel_mesh2015_terms.tsv", vocab / "dhimmel_mesh2015_tree-numbers.tsv"
    )
    assert len(lexicon) > 27000
    by_cui = {c.cui: c for c in lexicon.concepts}
    assert by_cui["MESH:D000001"].semgroup == "CHEM"  # Calcimycin, tree D03
    acute = by_cui["MESH:D000006"]
    assert acute.name == "Abdomen, Acute" and "Acute Abdomen" in acute.terms
    assert acute.semgroup == "DISO"
    matcher = ConceptMatcher(lexicon)
    found = matcher.concepts_of("Acute abdomen with liver cirrhosis")
    assert ("MESH:D000006", 0, 13) in [(c["cui"], c["start"], c["end"]) for c in found]
    assert any(c["cui"].startswith("MESH:D") and c["name"] == "Liver Cirrhosis" for c in found)


def test_natural_order_of_inverted_headings() -> None:
    assert natural_order("Abdomen, Acute") == "Acute Abdomen"
    assert natural_order("Liver") is None
    assert natural_order("Neoplasms, Germ Cell, Embryonal") is None


def test_default_lexicon_is_written_from_its_sources() -> None:
    assert DEFAULT_LEXICON.read_text(encoding="utf-8") == write_tsv(write_default.build())


def test_default_lexicon_is_well_formed() -> None:
    lexicon = load_default()
    assert len(lexicon) >= 2000
    assert len({c.cui for c in lexicon.concepts}) == len(lexicon)
    for concept in lexicon.concepts:
        assert re.fullmatch(r"C\d{7}", concept.cui), concept
        assert concept.semgroup == TYPE_GROUP[concept.semtypes[0]], concept
        assert concept.terms, concept
        if concept.modality:
            top, sub = concept.modality.split("/")
            assert sub in TAXONOMY[top]
    modalities = {c.modality for c in lexicon.concepts}
    for tag in ("radiology/ct", "radiology/mri", "radiology/pet", "radiology/ultrasound",
                "radiology/xray", "ophthalmology/oct", "endoscopy/other", "microscopy/electron",
                "microscopy/immunohistochemistry", "molecular/western_blot"):  # fmt: skip
        assert tag in modalities, tag
    groups = {c.semgroup for c in lexicon.concepts}
    assert {"ANAT", "DISO", "LIVB", "CHEM", "PROC"} <= groups


def test_writer_rejects_bad_rows() -> None:
    with pytest.raises(ValueError, match="not a CUI"):
        write_default.parse_rows("x", "X123|T023||Liver|liver")
    with pytest.raises(ValueError, match="unknown semantic types"):
        write_default.parse_rows("x", "C0023884|T999||Liver|liver")
    with pytest.raises(ValueError, match="not in the taxonomy"):
        write_default.parse_rows("x", "C0023884|T023|radiology/lidar|Liver|liver")


def test_read_tsv_names_a_malformed_line(tmp_path: Path) -> None:
    path = tmp_path / "lex.tsv"
    path.write_text(DEFAULT_LEXICON.read_text(encoding="utf-8") + "C1\tbroken\n", "utf-8")
    with pytest.raises(ValueError, match=r"lex\.tsv:\d+: malformed"):
        read_tsv(path)


def test_cached_artefact_is_built_once(tmp_path: Path) -> None:
    source = LexiconSource("tsv", str(DEFAULT_LEXICON))
    first = cached_artefact(source, tmp_path)
    stamp = first.stat().st_mtime_ns
    assert cached_artefact(source, tmp_path) == first
    assert first.stat().st_mtime_ns == stamp
    matcher = ConceptMatcher.from_bytes(first.read_bytes())
    assert matcher.concepts_of("MRI of the brain")[0]["cui"] == "C0024485"
    other = cached_artefact(LexiconSource("default"), tmp_path)
    assert other != first and other.is_file()


@pytest.mark.parametrize(
    ("text", "cui", "group"),
    [
        ("Pleural effusion on the right", "C0032227", "DISO"),
        ("Budd-Chiari syndrome", "C0856761", "DISO"),
        ("acute pyelonephritis", "C0034186", "DISO"),
        ("generalised osteopetrosis", "C0029454", "DISO"),
        ("atrial flutter on ECG", "C0004239", "DISO"),
        ("meningioma of the falx", "C0025286", "DISO"),
        ("a needle in the joint", "C0027551", "DEVI"),
        ("the molar teeth", "C0026367", "ANAT"),
        ("left eyelid", "C0015426", "ANAT"),
    ],
)
def test_bundled_concepts_have_their_cui_and_group(text: str, cui: str, group: str) -> None:
    found = {c["cui"]: c for c in ConceptMatcher(load_default()).concepts_of(text)}
    assert cui in found, (text, found)
    assert found[cui]["semgroup"] == group


def test_synonyms_and_spellings_resolve_to_one_cui() -> None:
    matcher = ConceptMatcher(load_default())
    groups = [
        ("Esophagitis", "oesophagitis", "C0014868"),
        ("epidermoid cyst", "epidermal inclusion cysts", "C0014511"),
        ("transient ischemic attack", "transient ischaemic attacks", "C0917805"),
        ("double outlet right ventricle", "DORV", "C0013069"),
        ("limb", "extremities", "C0015385"),
    ]
    for first, second, cui in groups:
        # the chosen (longest) match; concepts nested inside it ("cyst") come after it
        assert top_level_cuis(matcher, first) == [cui], first
        assert top_level_cuis(matcher, second) == [cui], second


def top_level_cuis(matcher: ConceptMatcher, text: str) -> list[str]:
    return [m.concept.cui for m in matcher.analyse(text).matches if not m.nested]


def test_every_semtype_has_a_group_and_terms_have_one_owner() -> None:
    lexicon = load_default()
    owner: dict[str, str] = {}
    for concept in lexicon.concepts:
        assert all(t in TYPE_GROUP for t in concept.semtypes), concept
        assert concept.semgroup in GROUP_NAMES, concept
    # hand-written terms name one concept; only the learned caption words are homonyms
    for concept in write_default.build(write_default.HAND_MODULES).concepts:
        for term in concept.terms:
            # short forms match by case ("TOE" is not "toe")
            key = term if is_abbreviation(term) else term.lower()
            assert owner.setdefault(key, concept.cui) == concept.cui, (term, owner[key])
    # the default covers the groups the figure filters ask for
    counts = {g: sum(c.semgroup == g for c in lexicon.concepts) for g in GROUP_NAMES}
    assert counts["DISO"] >= 1000 and counts["ANAT"] >= 250
    assert counts["LIVB"] >= 50 and counts["PROC"] >= 60 and counts["DEVI"] >= 5


def _roco_nonradiology(testdata: Path) -> list[tuple[str, set[str], set[str]]]:
    """(caption, CUIs, semantic types) per non-radiology ROCO caption."""
    folder = testdata / "captions"

    def table(kind: str) -> dict[str, list[str]]:
        rows = (folder / f"ROCO_test_nonradiology_{kind}.txt").read_text("utf-8").splitlines()
        return {r.split("\t")[0]: [x for x in r.split("\t")[1:] if x.strip()] for r in rows}

    captions, cuis, types = table("captions"), table("cuis"), table("semtypes")
    return [(" ".join(v), set(cuis[k]), set(types[k][0::2])) for k, v in captions.items()]


@pytest.mark.realdata
def test_semantic_types_agree_with_roco_annotations(testdata: Path) -> None:
    """ROCO lists, per caption, its UMLS CUIs and the semantic types they carry (of the
    types ROCO keeps): a bundled concept that ROCO annotates must carry no kept type that
    ROCO's annotation of that caption lacks."""
    entries = _roco_nonradiology(testdata)
    kept = set().union(*(types for _, _, types in entries))
    checked, wrong = 0, []
    for concept in load_default().concepts:
        for _, cuis, types in entries:
            if concept.cui in cuis:
                checked += 1
                missing = [t for t in concept.semtypes if t in kept and t not in types]
                if missing:
                    wrong.append((concept.cui, concept.name, missing))
    assert checked >= 600
    assert wrong == []


@pytest.mark.realdata
def test_cuis_are_confirmed_by_roco_captions(testdata: Path) -> None:
    """Most bundled CUIs that ROCO annotates are annotated on a caption that names the
    concept with one of our terms (ROCO also links adjectives such as "cardiac" to Heart,
    so not all are)."""
    entries = _roco_nonradiology(testdata)
    named = annotated = 0
    for concept in load_default().concepts:
        texts = " ".join(text.lower() for text, cuis, _ in entries if concept.cui in cuis)
        if texts:
            annotated += 1
            named += any(term.lower() in texts for term in concept.terms)
    assert annotated >= 200
    assert named / annotated >= 0.8


def test_adjectives_name_their_organ_and_homonyms_emit_every_cui() -> None:
    matcher = ConceptMatcher(load_default())
    for text, cui in [
        ("renal cyst", "C0022646"),
        ("pulmonary nodules", "C0024109"),
        ("hepatic", "C0023884"),
        ("cerebral", "C0006104"),
    ]:
        assert cui in {c["cui"] for c in matcher.concepts_of(text)}, text
    # "renal calculi" names two concepts: both share its span; Kidney is nested in it
    found = matcher.analyse("Bilateral renal calculi.").matches
    assert {(m.concept.cui, m.start, m.end, m.nested) for m in found} == {
        ("C0022650", 10, 23, False),
        ("C0392525", 10, 23, False),
        ("C0022646", 10, 15, True),
    }
    # "arrows" is no concept at all (ROCO gave "arrow" four senses)
    assert [c["name"] for c in matcher.concepts_of("White arrows mark the lesion.")] == ["Lesion"]


@pytest.mark.realdata
def test_learned_caption_words_are_reproducible(testdata: Path) -> None:
    from metadata.learn_words import OUTPUT, learn, render

    lines, check = learn(testdata / "captions")
    assert render(lines, check) == OUTPUT.read_text(encoding="utf-8")
    assert "C0935616|T047||Anterior chamber|anterior chamber" in lines
    # bare words need firm evidence: "image" (a Concepts & Ideas type) and "right" (three
    # guessed senses) are not learned, "anterior" only inside "anterior chamber"
    words = {line.rsplit("|", 1)[1] for line in lines}
    assert not {"image", "right", "arrow", "anterior", "contrast"} & words


def test_learned_senses_never_ride_on_hand_written_terms() -> None:
    lexicon = load_default()
    hand = {c.cui for c in write_default.build(write_default.HAND_MODULES).concepts}
    hand_terms = {t.lower() for c in lexicon.concepts if c.cui in hand for t in c.terms}
    learned = [c for c in lexicon.concepts if c.cui not in hand]
    assert learned  # the learned module contributes concepts
    assert not [(c.cui, t) for c in learned for t in c.terms if t.lower() in hand_terms]
    # "abdomen" is the body region only, not also ROCO's chemical-typed sense of the word
    found = ConceptMatcher(lexicon).concepts_of("CT of the abdomen")
    assert {c["semgroup"] for c in found if c["start"] == 10} == {"ANAT"}
