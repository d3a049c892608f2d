"""The balance stage's entries: CUIs, modality tags, and MetaCLIP-style entry lists."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest

from schemas import TAGGED_SCHEMA, new_record
from transforms.balance.entries import (
    EntryExtractor,
    EntryListError,
    EntryListMatcher,
    EntryOptions,
    own_text,
    parse_entry_list,
    read_entry_list,
)

CONCEPTS_ONLY = EntryExtractor(EntryOptions())


def tagged(key: str, **fields) -> dict:
    return new_record(TAGGED_SCHEMA, key=key, source_uri=f"file:///{key}.xml", **fields)


def test_default_entries_are_distinct_non_negated_cuis() -> None:
    concepts = [
        {"cui": "C0040405", "name": "X-Ray Computed Tomography", "negated": False},
        {"cui": "C0006826", "name": "Malignant Neoplasms", "negated": True},
        {"cui": "C0040405", "name": "X-Ray Computed Tomography", "negated": False},
    ]
    record = tagged("PMC1/F1", concepts=concepts, modalities=["radiology/ct"])
    assert CONCEPTS_ONLY(record) == {"C0040405": "X-Ray Computed Tomography"}
    with_modalities = EntryExtractor(EntryOptions(modalities=True))(record)
    assert list(with_modalities) == ["C0040405", "radiology/ct"]
    # homonyms: one matched span naming three concepts is one entry unless asked otherwise
    right = [
        {"cui": cui, "name": "Right", "start": 27, "end": 32, "negated": False}
        for cui in ("C1261259", "C0015726", "C0423899")
    ]
    record = tagged("PMC1/F2", concepts=[*right, {**right[0], "start": 40, "end": 45}])
    assert list(CONCEPTS_ONLY(record)) == ["C0015726", "C1261259"]
    every = EntryExtractor(EntryOptions(one_cui_per_span=False))
    assert list(every(record)) == ["C1261259", "C0015726", "C0423899"]


def test_list_matching_is_whitespace_padded_lower_cased_substring() -> None:
    matcher = EntryListMatcher(["CT", "ct scan", "Western  Blot", "blot", "fect"])
    assert matcher.match("A side effect of the drug") == []  # "ct" is not inside "effect"
    assert matcher.match("Axial CT scan of the chest") == ["ct", "ct scan"]
    assert matcher.match("western\n blot and CT") == ["western blot", "blot", "ct"]
    assert matcher.match("CT.") == [] and matcher.match(None) == []
    restored = pickle.loads(pickle.dumps(matcher))
    assert restored.match("Axial CT scan of the chest") == ["ct", "ct scan"]


def test_list_entries_match_the_panels_own_text(tmp_path: Path) -> None:
    path = tmp_path / "entries.txt"
    path.write_text("ct\nhistology\n", encoding="utf-8")
    extractor = EntryExtractor(EntryOptions(concepts=False, entry_list=str(path)))
    panel = tagged(
        "PMC1/F1/p1",
        caption="Figure 1. (A) CT of the liver. (B) Histology of the lesion.",
        caption_preamble="Figure 1.",
        subcaption="(B) Histology of the lesion.",
    )
    assert own_text(panel) == "Figure 1. (B) Histology of the lesion."
    assert list(extractor(panel)) == ["histology"]
    whole = tagged("PMC1/F2", caption="CT of the liver", subcaption=None)
    assert list(extractor(whole)) == ["ct"]


def test_entry_list_loaders(tmp_path: Path) -> None:
    as_json = tmp_path / "metadata.json"
    as_json.write_text(json.dumps(["Western blot", "H&E", "western blot", " "]), "utf-8")
    assert read_entry_list(as_json) == ["western blot", "h&e"]
    as_text = tmp_path / "entries.txt"
    as_text.write_text("Western Blot\n\n  bar chart \nH&E\n", encoding="utf-8")
    assert read_entry_list(as_text) == ["western blot", "bar chart", "h&e"]
    bad = {
        "broken.json": ('["a", "b"', "invalid JSON at line 1"),
        "object.json": ('{"a": 1}', "must be a list of strings, found dict"),
        "mixed.json": ('["a", 3]', "item 1 is int"),
        "empty.txt": ("\n \n", "holds no entries"),
    }
    for name, (text, message) in bad.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        with pytest.raises(EntryListError, match=message):
            read_entry_list(tmp_path / name)
    (tmp_path / "latin1.txt").write_bytes("b\xe9ta\n".encode("latin-1"))
    with pytest.raises(EntryListError, match="not UTF-8"):
        read_entry_list(tmp_path / "latin1.txt")
    # bytes read from an object store parse the same way, named by their URI
    assert parse_entry_list(b"CT\nMRI\n", "s3://lists/entries.txt") == ["ct", "mri"]
    with pytest.raises(EntryListError, match="gs://lists/metadata.json: invalid JSON"):
        parse_entry_list(b"ct, mri", "gs://lists/metadata.json")
    with pytest.raises(EntryListError, match="no such file"):
        EntryExtractor(EntryOptions(entry_list=str(tmp_path / "missing.json")))


def test_batched_entries_read_the_columns_their_options_need() -> None:
    from schemas import to_table
    from transforms.balance.batch import add_entries, source_columns

    extractor = EntryExtractor(EntryOptions(modalities=True), EntryListMatcher(["liver"]))
    records = [
        tagged("PMC1/F1", caption="CT of the liver", modalities=["radiology/ct"], concepts=[]),
        tagged(
            "PMC1/F2/p0",
            caption="(A) Liver. (B) Lung.",
            subcaption="(B) Lung.",
            concepts=[{"cui": "C0024109", "name": "Lung", "start": 15, "end": 19}],
        ),
    ]
    table = add_entries(to_table(TAGGED_SCHEMA, records), extractor)
    assert table.column("entries").to_pylist() == [list(extractor(r)) for r in records]
    assert table.column("entries").to_pylist() == [["radiology/ct", "liver"], ["C0024109"]]
    assert source_columns(CONCEPTS_ONLY) == ["concepts"]


def test_batched_entries_of_slices_and_null_concepts() -> None:
    from schemas import to_table
    from transforms.balance.batch import add_entries

    def concepts(i: int) -> list[dict] | None:
        if i % 3 == 0:
            return None
        first = {"cui": f"C{i}", "name": "n", "start": 0, "end": 1, "semtypes": ["T1"]}
        second = {"cui": f"C{i + 1}", "name": "m", "start": 2, "end": 3, "negated": i % 2 == 0}
        return [first, second]

    table = to_table(TAGGED_SCHEMA, [tagged(f"k{i}", concepts=concepts(i)) for i in range(10)])
    for part in (table, table.slice(3, 5), table.to_batches()[0].slice(4, 4), table.slice(0, 0)):
        expected = [list(CONCEPTS_ONLY(r)) for r in part.to_pylist()]
        assert add_entries(part, CONCEPTS_ONLY).column("entries").to_pylist() == expected
    assert add_entries(table, CONCEPTS_ONLY).column("entries").to_pylist()[:3] == [
        [],
        ["C1", "C2"],
        ["C2"],
    ]
