"""Stage folders on an object store: a real S3-compatible server (moto_server) that the test
starts, read and written through Beam's own S3 filesystem, as a run on AWS would."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions
from hostile import article_xml, png_bytes, write
from test_pipeline_extract import make_corpus, read_rows

from pipeline import listing, sources
from pipeline.cli import main
from pipeline.folders import clean_stale_folders, replace_folder
from pipeline.listing import (
    LISTED,
    RANGE,
    SPEC,
    list_input_files,
    list_part,
    s3_settings_of,
    split_listing,
)

boto3 = pytest.importorskip("boto3", reason="the aws extra: pip install -e '.[aws,dev]'")
MOTO = shutil.which("moto_server") or str(Path(sys.executable).parent / "moto_server")
BUCKET = "biomed-curate-test"
KEYS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    if not Path(MOTO).exists():
        # the dev extra installs it: CI must run this test, a laptop without it may skip
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but moto_server is missing: pip install -e '.[dev]'")
        pytest.skip("moto_server not installed: pip install -e '.[dev]'")
    port = free_port()
    server = subprocess.Popen(
        [MOTO, "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("moto_server did not start") from None
                time.sleep(0.2)
        client(url).create_bucket(Bucket=BUCKET)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


def client(url: str):
    return boto3.client("s3", endpoint_url=url, region_name="us-east-1", **KEYS)


def s3_options(url: str) -> list[str]:
    return [
        f"--s3_endpoint_url={url}",
        f"--s3_access_key_id={KEYS['aws_access_key_id']}",
        f"--s3_secret_access_key={KEYS['aws_secret_access_key']}",
        "--s3_region_name=us-east-1",
        "--s3_verify=False",
    ]


def keys_under(url: str, prefix: str) -> list[str]:
    listed = client(url).list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return sorted(obj["Key"] for obj in listed.get("Contents", []))


def upload(url: str, folder: Path, prefix: str) -> None:
    s3 = client(url)
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        s3.put_object(
            Bucket=BUCKET, Key=f"{prefix}/{path.relative_to(folder)}", Body=path.read_bytes()
        )


def put(url: str, key: str, body: bytes = b"x") -> None:
    client(url).put_object(Bucket=BUCKET, Key=key, Body=body)


@pytest.mark.beam
def test_a_rerun_to_s3_leaves_no_stale_shard(endpoint: str, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    make_corpus(corpus)
    upload(endpoint, corpus, "in/corpus")
    out = f"s3://{BUCKET}/out/figures"
    args = ["extract", "--input", f"s3://{BUCKET}/in/corpus", "--output", out, "--quiet"]
    args += [*s3_options(endpoint), "--direct_num_workers=2"]

    assert main([*args, "--records-per-shard", "1"]) == 0
    first = keys_under(endpoint, "out/")
    assert [k for k in first if "/data-" in k] == [
        f"out/figures/data-0000{i}-of-00003.parquet" for i in range(3)
    ]
    assert main(args) == 0  # other options: runs again, into one shard
    second = keys_under(endpoint, "out/")
    assert [k for k in second if "/data-" in k] == ["out/figures/data-00000-of-00001.parquet"]
    assert all(k.startswith("out/figures/") for k in second)  # no .tmp-* left beside it
    stats = json.loads(
        client(endpoint).get_object(Bucket=BUCKET, Key="out/figures/stats.json")["Body"].read()
    )
    # the same ledger as from local disk (tests/test_pipeline_extract.py), read back from S3
    assert stats["ledger_ok"] is True and stats["in"] == 6 and stats["out"] == 3
    assert stats["errors"] == {"tar_unsafe_member": 1, "xml_entity_declaration": 1, "xml_empty": 1}


def test_replace_folder_on_s3_drops_what_the_new_run_did_not_write(endpoint: str) -> None:
    FileSystems.set_options(PipelineOptions(s3_options(endpoint)))
    for key in (
        "old/data-00000-of-00002.parquet",
        "old/data-00001-of-00002.parquet",
        "old/run.json",
    ):
        put(endpoint, f"r/stage/{key.split('/', 1)[1]}", b"old")
    put(endpoint, "r/stage2/keep.txt")  # a sibling whose name starts the same: not touched
    put(endpoint, "r/stage.tmp-0000abcd/data-00000-of-00001.parquet", b"new")
    put(endpoint, "r/stage.tmp-0000abcd/sub/stats.json", b"new")

    replace_folder(f"s3://{BUCKET}/r/stage.tmp-0000abcd", f"s3://{BUCKET}/r/stage")
    assert keys_under(endpoint, "r/") == [
        "r/stage/data-00000-of-00001.parquet",
        "r/stage/sub/stats.json",
        "r/stage2/keep.txt",
    ]
    body = client(endpoint).get_object(Bucket=BUCKET, Key="r/stage/data-00000-of-00001.parquet")
    assert body["Body"].read() == b"new"


def test_stale_work_folders_on_s3_are_cleaned_and_nothing_else(endpoint: str) -> None:
    FileSystems.set_options(PipelineOptions(s3_options(endpoint)))
    stale = ["c/figures.tmp-0123abcd/a.parquet", "c/figures.old-89abcdef/x/b.parquet"]
    kept = [
        "c/figures/data-00000-of-00001.parquet",
        "c/figures.tmp-notours1/a",  # not our naming
        "c/figuresX.tmp-0123abcd/a",  # another output's
        "c/panels.tmp-0123abcd/a",
    ]
    for key in stale + kept:
        put(endpoint, key)
    output = f"s3://{BUCKET}/c/figures"
    assert clean_stale_folders(output, started=time.time() - 3600) == []  # newer than the run
    removed = clean_stale_folders(output, started=time.time() + 5)
    assert removed == [
        f"s3://{BUCKET}/c/figures.old-89abcdef",
        f"s3://{BUCKET}/c/figures.tmp-0123abcd",
    ]
    assert keys_under(endpoint, "c/") == sorted(kept)


def article_folders(root: Path, count: int) -> None:
    for i in range(count):
        write(root / f"PMC{i}" / f"PMC{i}.nxml", article_xml(f"PMC{i}", ["f1.png"]))
        write(root / f"PMC{i}" / "f1.png", png_bytes(20 + i, 20))


def test_an_s3_folder_is_split_into_ranges_of_whole_article_folders(
    endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    options = PipelineOptions(s3_options(endpoint))
    FileSystems.set_options(options)
    settings = s3_settings_of(options)
    article_folders(tmp_path / "split", 9)
    write(tmp_path / "split" / "PMC0" / "supp" / "deep" / "table.csv", b"x")
    write(tmp_path / "split" / "we[ir]d*" / "PMC20.nxml", b"<article/>")
    write(tmp_path / "split" / "loose.nxml", b"<article/>")
    upload(endpoint, tmp_path / "split", "split/corpus")
    put(endpoint, "split/corpus-2/a.nxml")  # a sibling whose name starts the same: not listed
    put(endpoint, "split/corpus/PMC3/", b"")  # a folder marker, as the S3 console makes
    spec = f"s3://{BUCKET}/split/corpus"
    unsplit = list_input_files(spec)  # Beam's own S3 listing, as before the split
    assert len(unsplit) == 9 * 2 + 4

    monkeypatch.setattr(listing, "FOLDERS_PER_PART", 1)
    parts = split_listing(spec, settings)
    folders = [f"split/corpus/PMC{i}/" for i in range(9)] + ["split/corpus/we[ir]d*/"]
    assert [(p.how, p.start) for p in parts if p.how == RANGE] == [(RANGE, f) for f in folders]
    assert [os.fsdecode(p.path) for p in parts if p.how == LISTED] == [f"{spec}/loose.nxml"]
    by_parts = [item for part in parts for item in list_part(part, settings)]
    assert sorted(by_parts) == sorted(unsplit) and len(by_parts) == len(set(by_parts))

    monkeypatch.setattr(listing, "FOLDERS_PER_PART", 4)
    parts = split_listing(spec, settings)
    assert [p.start.rsplit("/", 2)[1] for p in parts if p.how == RANGE] == ["PMC0", "PMC4", "PMC8"]
    assert sorted(item for part in parts for item in list_part(part, settings)) == sorted(unsplit)
    # few subfolders: one level further down; nothing there: one part, listed as missing
    [*top] = split_listing(f"s3://{BUCKET}/split", settings)
    assert {p.how for p in top} == {RANGE, LISTED}
    [missing] = split_listing(f"s3://{BUCKET}/split/nothing", settings)
    assert list_part(missing, settings) == [("missing", f"s3://{BUCKET}/split/nothing")]


def test_s3_ranges_list_a_sibling_that_sorts_inside_a_boundary_once(
    endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    options = PipelineOptions(s3_options(endpoint))
    FileSystems.set_options(options)
    settings = s3_settings_of(options)
    # "f1-old/" and "f1.v2/" sort between "f1" and "f1/": the range that starts at "f1/"
    # must not list them again (they belong to the range before)
    names = [f"f{i}" for i in range(9)] + ["f1-old", "f1.v2"]  # 8+: split at this level
    for name in names:
        put(endpoint, f"edge/root/{name}/a.nxml")
    spec = f"s3://{BUCKET}/edge/root"
    monkeypatch.setattr(listing, "FOLDERS_PER_PART", 1)
    parts = split_listing(spec, settings)
    starts = [p.start for p in parts if p.how == RANGE]
    assert starts == sorted(f"edge/root/{name}/" for name in names)  # "f1-old/" < "f1/"
    listed = [path for part in parts for _, path in list_part(part, settings)]
    assert sorted(listed) == sorted(f"{spec}/{name}/a.nxml" for name in names)
    assert len(listed) == len(set(listed))


def test_a_missing_bucket_is_one_part_listed_as_missing(endpoint: str) -> None:
    options = PipelineOptions(s3_options(endpoint))
    FileSystems.set_options(options)
    spec = "s3://no-such-bucket-here/corpus"
    [part] = split_listing(spec, s3_settings_of(options))
    assert part.how == SPEC
    assert list_part(part, s3_settings_of(options)) == [("missing", spec)]


@pytest.mark.beam
def test_extract_from_a_split_s3_listing_equals_the_unsplit_one(
    endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = tmp_path / "corpus"
    make_corpus(corpus)
    article_folders(corpus, 6)
    write(corpus / "top.nxml", article_xml("PMC30", []))
    upload(endpoint, corpus, "splitrun/corpus")
    spec = f"s3://{BUCKET}/splitrun/corpus"
    monkeypatch.setattr(listing, "FOLDERS_PER_PART", 2)  # in_memory: the workers see it
    outputs = {}
    for name, split in (("split", sources.split_listing), ("unsplit", one_part)):
        monkeypatch.setattr(sources, "split_listing", split)
        out = tmp_path / name
        args = ["extract", "--input", spec, "--output", str(out), "--quiet"]
        assert main([*args, *s3_options(endpoint), "--direct_running_mode=in_memory"]) == 0
        outputs[name] = {
            kind: sorted(map(repr, read_rows(out, kind)))
            for kind in ("data", "errors", "dropped", "unrecognised")
        }
        outputs[name]["stats"] = json.loads((out / "stats.json").read_text())
    assert outputs["split"] == outputs["unsplit"]
    stats = outputs["split"]["stats"]
    assert stats["ledger_ok"] is True and stats["in"] == 6 + 6 + 1 and stats["out"] == 3 + 6
    assert stats["listing"]["paths"] == 9 + 12 + 1


def one_part(spec: str, settings: tuple) -> list[listing.ListingPart]:
    """The listing as it was before the split: the whole input in one element."""
    return [listing.ListingPart(listing.SPEC, os.fsencode(spec))]
