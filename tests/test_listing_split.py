"""The input listing split into parts (pipeline/listing.py): the parts' listings together are
the unsplit listing, on real local trees, and each part is its own element after the
Reshuffle. The same on a real S3-compatible server: tests/test_object_store.py."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.util import assert_that, equal_to
from hostile import write

from pipeline.listing import (
    LISTED,
    SPEC,
    TREE,
    list_input_files,
    list_input_paths,
    list_part,
    list_part_paths,
    split_listing,
)
from pipeline.sources import SplitListing
from transforms.extract.sources import OUTSIDE_ROOT


def listed_by_parts(spec: str) -> list[tuple[str, str]]:
    return [item for part in split_listing(spec) for item in list_part(part)]


def hostile_tree(tmp_path: Path) -> Path:
    """Ten article folders, one nested; links in and out of the root, to a folder, dangling;
    names with glob characters, a newline, and bytes that are not UTF-8."""
    root = tmp_path / "corpus"
    for i in range(10):
        write(root / f"PMC{i}" / f"PMC{i}.nxml", b"<article/>")
        write(root / f"PMC{i}" / "f1.png", b"png")
    write(root / "PMC0" / "supp" / "deep" / "table.csv", b"x")
    write(root / "loose.xml", b"<article/>")
    write(tmp_path / "private" / "secret.png", b"secret")
    os.symlink(tmp_path / "private" / "secret.png", root / "PMC1" / "out.png")
    os.symlink(tmp_path / "private" / "secret.png", root / "top-out.png")
    os.symlink(root / "PMC2" / "f1.png", root / "PMC3" / "in.png")
    os.symlink(tmp_path / "private", root / "linked-folder")
    os.symlink(tmp_path / "nowhere", root / "PMC4" / "dangling.png")
    write(root / "we[ir]d*" / "PMC20.nxml", b"<article/>")
    write(root / "PMC5" / "odd\nname.png", b"png")
    bad = os.fsencode(root) + b"/PMC\xff6"
    os.makedirs(bad)
    with open(bad + b"/PMC\xff6.nxml", "wb") as handle:
        handle.write(b"<article/>")
    return root


def test_a_folder_splits_into_its_subfolders_and_they_list_every_file_once(
    tmp_path: Path,
) -> None:
    root = hostile_tree(tmp_path)
    parts = split_listing(str(root))
    # the top-level files are listed while splitting; each real subfolder is one part
    trees = sorted(os.fsdecode(p.path) for p in parts if p.how == TREE)
    folders = [*(f"PMC{i}" for i in range(10)), "we[ir]d*", os.fsdecode(b"PMC\xff6")]
    assert trees == sorted(str(root / name) for name in folders)  # not the linked folder
    assert {p.how for p in parts} == {TREE, LISTED}
    by_parts = listed_by_parts(str(root))
    unsplit = list_input_files(str(root))  # Beam's own listing (FileSystems.match)
    assert sorted(by_parts) == sorted(unsplit)
    assert len(by_parts) == len({path for _, path in by_parts}) == 28
    kinds = {os.path.relpath(path, root): kind for kind, path in by_parts}
    # a link out of the root is flagged against the input's root, not the part's folder
    assert kinds["PMC1/out.png"] == kinds["top-out.png"] == OUTSIDE_ROOT
    assert kinds["PMC3/in.png"] == "file"  # a link to another part of the root
    assert "PMC4/dangling.png" not in kinds and "linked-folder/secret.png" not in kinds
    assert kinds["PMC0/supp/deep/table.csv"] == "file"
    # a name that is not UTF-8 is flagged by the part that lists it
    by_paths = sorted(item for part in split_listing(str(root)) for item in list_part_paths(part))
    assert by_paths == sorted(list_input_paths(str(root)))
    assert ("path_not_utf8", f"{root}/PMC\\xff6/PMC\\xff6.nxml") in by_paths


def test_a_folder_with_few_subfolders_splits_one_level_further_down(tmp_path: Path) -> None:
    root = tmp_path / "pmc"
    for group in ("oa_comm", "oa_noncomm"):
        write(root / group / "filelist.csv", b"x")
        for i in range(5):
            write(root / group / f"PMC{group[-4:]}{i}" / "a.nxml", b"<article/>")
    parts = split_listing(str(root))
    assert Counter(p.how for p in parts) == {TREE: 10, LISTED: 2}
    assert sorted(listed_by_parts(str(root))) == sorted(list_input_files(str(root)))


def test_a_list_splits_into_its_entries_and_a_glob_or_file_stays_whole(tmp_path: Path) -> None:
    root = hostile_tree(tmp_path)
    entries = "corpus/PMC1\ncorpus/PMC2/PMC2.nxml\ncorpus/missing.nxml\ncorpus/PMC*/f1.png\n"
    listed = write(tmp_path / "lists" / "input.txt", entries.encode())
    write(tmp_path / "lists" / "corpus" / "PMC1" / "PMC1.nxml", b"<article/>")
    parts = split_listing(str(listed))
    assert [(p.how, os.fsdecode(p.root)) for p in parts] == [(SPEC, str(listed.parent))] * 4
    by_parts = listed_by_parts(str(listed))
    assert sorted(by_parts) == sorted(list_input_files(str(listed)))
    # relative lines resolve against the list's folder, not the working directory
    assert ("file", str(tmp_path / "lists" / "corpus" / "PMC1" / "PMC1.nxml")) in by_parts
    assert ("missing", str(tmp_path / "lists" / "corpus" / "missing.nxml")) in by_parts
    for spec in (f"{root}/PMC*/f1.png", str(root / "loose.xml"), str(tmp_path / "nothing")):
        [part] = split_listing(spec)
        assert part.how == SPEC and list_part(part) == list_input_files(spec)


@pytest.mark.beam
def test_listing_parts_are_separate_elements_after_the_reshuffle(tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    for i in range(12):
        write(root / f"PMC{i}" / f"PMC{i}.nxml", b"<article/>")
    write(root / "loose.xml", b"<article/>")
    options = PipelineOptions(["--direct_num_workers=2", "--direct_running_mode=multi_processing"])
    with beam.Pipeline(runner="FnApiRunner", options=options) as pipeline:
        parts = pipeline | SplitListing(str(root))
        count = parts | beam.combiners.Count.Globally()
        assert_that(count, equal_to([13]), label="Count")
        named = parts | beam.Map(lambda part: (part.how, os.fsdecode(part.path)))
        expected = [(TREE, str(root / f"PMC{i}")) for i in range(12)]
        assert_that(named, equal_to([*expected, (LISTED, str(root / "loose.xml"))]))
