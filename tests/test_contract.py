"""The stage contract's pure parts: ledger, unit errors, source grouping, media lookup."""

from __future__ import annotations

import pytest

from pipeline.options import beam_args_with_defaults
from pipeline.sinks import shard_name, shard_of
from schemas import FIGURE_SCHEMA, PANEL_SCHEMA, new_record, to_table
from transforms.extract.media import MediaIndex
from transforms.extract.sources import group_sources, parse_file_list
from transforms.ledger import Drop, Ledger, StageError, UnitResult, run_unit


def test_ledger_adds_up_and_detects_a_lost_record() -> None:
    results = [
        UnitResult(records=[{"key": "a"}], drops=[Drop("b", "image_missing")]),
        UnitResult(empty_reason="no_figures"),
        UnitResult(drops=[Drop("c", "image_too_large")]),
        run_unit(lambda u: (_ for _ in ()).throw(StageError("xml_malformed", "bad")), 1, "k", "u"),
        run_unit(lambda u: 1 / 0, 1, "k", "u"),
    ]
    ledger = Ledger.total(Ledger.of(r) for r in results)
    stats = ledger.to_stats("extract")
    assert stats["in"] == 5 and stats["in_with_output"] == 1 and stats["in_empty"] == 2
    assert stats["errors"] == {"ZeroDivisionError": 1, "xml_malformed": 1}
    assert stats["found"] == 3 and stats["out"] == 1
    assert stats["dropped"] == {"image_missing": 1, "image_too_large": 1}
    assert stats["in_empty_reasons"] == {"all_dropped": 1, "no_figures": 1}
    assert stats["ledger_ok"] is True
    ledger.out += 1  # a record that appears from nowhere breaks the ledger
    assert not ledger.ok


def test_failed_unit_keeps_no_partial_records() -> None:
    def half(unit: int) -> UnitResult:
        raise StageError("tar_corrupt", "truncated")

    result = run_unit(half, 0, "key", "uri")
    assert result.records == [] and result.error.error_type == "tar_corrupt"
    assert result.error.key == "key" and result.error.source_uri == "uri"


def test_group_sources_by_layout() -> None:
    listing = [
        "/c/PMC1/PMC1.nxml",
        "/c/PMC1/f1.jpg",
        "/c/PMC1/PMC1.pdf",
        "/c/legacy/PMC2.tar.gz",
        "/c/loose/a.xml",
        "/c/loose/b.xml",
        "/c/texture/manuscript.xml",
        "/c/texture/manifest.xml",
        "/c/pdfs/x.pdf",
    ]
    sources = {s.uri: s for s in group_sources(listing)}
    assert sources["/c/PMC1/PMC1.nxml"].media == ("/c/PMC1/PMC1.pdf", "/c/PMC1/f1.jpg")
    assert sources["/c/PMC1/PMC1.nxml"].folder_key == "PMC1"
    assert sources["/c/legacy/PMC2.tar.gz"].kind == "targz"
    assert sources["/c/loose/a.xml"].folder_key is None  # two articles share the folder
    assert "/c/texture/manifest.xml" not in sources
    assert sources["/c/pdfs/x.pdf"].kind == "pdf"
    assert "/c/PMC1/PMC1.pdf" not in sources  # beside its XML, a PDF is media


def test_file_list_parsing() -> None:
    text = "# corpus\n/a/b.xml\n\n  gs://bucket/c/  \n"
    assert parse_file_list(text) == ["/a/b.xml", "gs://bucket/c/"]


@pytest.mark.parametrize(
    "href,expected",
    [
        ("fig1", "/a/FIG1.JPG"),
        ("fig1.tif", "/a/FIG1.JPG"),  # declared TIFF, shipped as JPEG
        ("pone.0000217.g002", "/a/pone.0000217.g002.png"),  # dots are not extensions
        ("https://host/fig1.jpg", None),
        ("info:doi/10.1371/x.g001", None),
        ("", None),
        ("nothere", None),
    ],
)
def test_media_resolution(href: str, expected: str | None) -> None:
    index = MediaIndex(["/a/FIG1.JPG", "/a/pone.0000217.g002.png", "/a/pone.0000217.g001.tif"])
    assert index.resolve(href) == expected


def test_records_match_schema_and_shards_are_stable() -> None:
    record = new_record(FIGURE_SCHEMA, key="PMC1/F1", caption="x", width=3)
    assert to_table(FIGURE_SCHEMA, [record]).num_rows == 1
    with pytest.raises(KeyError):
        new_record(FIGURE_SCHEMA, captoin="typo")
    assert set(FIGURE_SCHEMA.names) < set(PANEL_SCHEMA.names)
    assert shard_of("PMC1/F1", 7) == shard_of("PMC1/F1", 7)
    assert shard_name("data", 3, 12) == "data-00003-of-00012.parquet"


def test_local_runner_defaults() -> None:
    args = beam_args_with_defaults([])
    assert "--runner=FnApiRunner" in args
    assert "--direct_running_mode=multi_processing" in args
    assert beam_args_with_defaults(["--runner", "DataflowRunner"]) == ["--runner", "DataflowRunner"]


def test_input_forms_folder_glob_file_and_list(tmp_path) -> None:
    from pipeline.listing import list_input_files

    for rel in ("a/PMC1/PMC1.nxml", "a/PMC1/f1.jpg", "b/x.tar.gz", "c/loose.xml"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"x")

    def paths(spec: str) -> list[str]:
        listed = list_input_files(spec)
        assert {kind for kind, _ in listed} <= {"file"}
        return [path for _, path in listed]

    everything = sorted(str(p) for p in tmp_path.rglob("*") if p.is_file())
    assert paths(str(tmp_path)) == everything
    assert paths(str(tmp_path / "c" / "loose.xml")) == [str(tmp_path / "c/loose.xml")]
    assert paths(str(tmp_path / "*" / "*.tar.gz")) == [str(tmp_path / "b/x.tar.gz")]
    listing = tmp_path / "inputs.txt"
    listing.write_text(f"# two entries\n{tmp_path / 'a'}\n{tmp_path / 'b' / 'x.tar.gz'}\n")
    assert paths(str(listing)) == [
        str(tmp_path / "a/PMC1/PMC1.nxml"),
        str(tmp_path / "a/PMC1/f1.jpg"),
        str(tmp_path / "b/x.tar.gz"),
    ]


def test_a_missing_line_in_a_list_is_one_listing_error_and_relative_lines_use_its_folder(
    tmp_path,
) -> None:
    from pipeline.listing import list_input_files

    (tmp_path / "lists").mkdir()
    (tmp_path / "lists" / "PMC2.nxml").write_bytes(b"x")
    listing = tmp_path / "lists" / "inputs.txt"
    listing.write_text("PMC2.nxml\nnot-there.nxml\n")
    assert list_input_files(str(listing)) == [
        ("file", str(tmp_path / "lists" / "PMC2.nxml")),
        ("missing", str(tmp_path / "lists" / "not-there.nxml")),
    ]


def test_cli_refuses_a_missing_input(tmp_path, capsys) -> None:
    from pipeline.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["extract", "--input", str(tmp_path / "nope"), "--output", str(tmp_path / "o")])
    assert exit_info.value.code == 2
    assert "does not exist" in capsys.readouterr().err


def test_cli_names_the_nearest_option_for_a_typo(tmp_path, capsys) -> None:
    from pipeline.cli import main

    corpus = tmp_path / "in"
    corpus.mkdir()
    typos = (("--keep-mising-images", "--keep-missing-images"), ("--runer", "--runner"))
    for typo, nearest in typos:
        with pytest.raises(SystemExit) as exit_info:
            main(["extract", "--input", str(corpus), "--output", str(tmp_path / "o"), typo])
        assert exit_info.value.code == 2
        err = capsys.readouterr().err
        assert f"unknown option {typo}" in err and f"did you mean {nearest}?" in err


def test_cli_refuses_an_output_it_cannot_write_before_work_starts(tmp_path, capsys) -> None:
    from pipeline.cli import main

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(SystemExit) as exit_info:
        main(["extract", "--input", str(tmp_path), "--output", str(blocker / "out")])
    assert exit_info.value.code == 2
    assert "cannot be written" in capsys.readouterr().err


@pytest.mark.beam
def test_an_input_of_images_only_yields_no_units_and_exits_non_zero(tmp_path, capsys) -> None:
    from pipeline.cli import main

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "figure.png").write_bytes(b"\x89PNG")
    argv = ["extract", "--input", str(tmp_path / "in"), "--output", str(tmp_path / "o"), "--quiet"]
    assert main(argv) == 2
    assert "no input units" in capsys.readouterr().err
    assert main([*argv, "--allow-empty"]) == 0
