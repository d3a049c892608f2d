"""Beam sources: article files (for extract) and a stage folder's records."""

from __future__ import annotations

import os
from collections import Counter
from typing import BinaryIO

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

import pipeline.arrow_coder  # noqa: F401 - registers the coder of batched units
from transforms.extract.sources import (
    LIST_SUFFIXES,
    OUTSIDE_ROOT,
    ArticleSource,
    classify_folder,
    is_within,
    parent_of,
    parse_file_list,
    suffix_of,
)
from transforms.ledger import StageError


def read_bytes(uri: str, limit: int) -> bytes:
    """Read through Beam filesystems (local, gs://, s3://), refusing more than `limit` bytes."""
    with FileSystems.open(uri, compression_type="uncompressed") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise StageError("file_too_large", f"{uri}: larger than {limit} bytes")
    return data


def open_stream(uri: str) -> BinaryIO:
    """Open a file to stream through Beam filesystems (local, gs://, s3://)."""
    return FileSystems.open(uri, compression_type="uncompressed")


def _match(pattern: str) -> list[str]:
    results = FileSystems.match([pattern])[0].metadata_list
    return sorted(m.path for m in results)


MISSING = "missing"


def _within_root(paths: list[str], root: str) -> list[tuple[str, str]]:
    """Local files as (kind, path): "link_outside_root" for one whose real path (links
    followed) leaves the root folder, else "file". Links inside the root are followed."""
    real_root = os.path.realpath(root)
    return [
        ("file" if is_within(os.path.realpath(path), real_root) else OUTSIDE_ROOT, path)
        for path in paths
    ]


def list_input_files(spec: str, base: str = "") -> list[tuple[str, str]]:
    """Every file an input names, as (kind, path): kind "file", "missing" for a path in a
    file list that does not exist, or "link_outside_root" for a link in a local folder that
    leads out of it. A spec is a file, a folder (recursively), a glob, or a file list
    (`.txt`), whose relative lines are resolved against the list's folder."""
    spec = spec.rstrip("/") if not spec.endswith("://") else spec
    if base and "://" not in spec and not os.path.isabs(spec):
        spec = f"{base}/{spec}" if "://" in base else os.path.join(base, spec)
    if any(ch in spec for ch in "*?["):
        if "://" in spec:
            return [("file", p) for p in _match(spec)]
        fixed = spec[: min(spec.find(ch) for ch in "*?[" if ch in spec)]
        return _within_root(_match(spec), os.path.dirname(os.path.abspath(fixed + "x")))
    if suffix_of(spec) in LIST_SUFFIXES and FileSystems.exists(spec):
        with FileSystems.open(spec, compression_type="uncompressed") as handle:
            # a line that is not UTF-8 keeps its bytes (as local file names do): flagged below
            entries = parse_file_list(handle.read().decode("utf-8", "surrogateescape"))
        folder = parent_of(spec)
        return [item for entry in entries for item in list_input_files(entry, folder)]
    if "://" not in spec:
        spec = os.path.abspath(spec)
        if os.path.isfile(spec):
            return [("file", spec)]
        if not os.path.isdir(spec):
            return [(MISSING, spec)]
        return _within_root(_match(spec + "/**"), spec)
    exact = _match(spec) if FileSystems.exists(spec) else []
    if exact == [spec]:
        return [("file", spec)]
    found = _match(spec + "/**")
    return [("file", p) for p in found] if found else [(MISSING, spec)]


LISTING, UNRECOGNISED, UNITS = "listing", "unrecognised", "units"
# a file name that is not UTF-8: no Beam coder or Parquet column can carry it as it is
NOT_UTF8 = "path_not_utf8"


def printable_path(path: str) -> str:
    """The path as UTF-8, its undecodable bytes written as \\xNN."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def list_input_paths(spec: str) -> list[tuple[str, str]]:
    """`list_input_files`, with a path that is not UTF-8 as (NOT_UTF8, printable path): it
    is reported among the unrecognised files, and the run goes on."""
    listed = []
    for kind, path in list_input_files(spec):
        try:
            path.encode("utf-8")
        except UnicodeEncodeError:
            kind, path = NOT_UTF8, printable_path(path)
        listed.append((kind, path))
    return listed


def _sources_of_folder(item: tuple[str, list[tuple[str, str]]]):
    folder, listed = item
    files = [path for _, path in listed]
    outside_root = frozenset(path for kind, path in listed if kind == OUTSIDE_ROOT)
    listing = classify_folder(folder, files, outside_root)
    yield from listing.sources
    for path, reason in listing.unrecognised:
        yield beam.pvalue.TaggedOutput(UNRECOGNISED, {"path": path, "reason": reason})
    counts = {"article_files": listing.article_files, "media_files": listing.media_files}
    yield beam.pvalue.TaggedOutput(LISTING, counts)


def _by_folder(item: tuple[str, str]):
    kind, path = item
    if kind == NOT_UTF8:
        yield beam.pvalue.TaggedOutput(NOT_UTF8, {"path": path, "reason": NOT_UTF8})
    elif kind == MISSING:
        # a listing error is a unit of its own: extract turns it into an error record
        yield beam.pvalue.TaggedOutput(MISSING, ArticleSource(kind=MISSING, uri=path))
    else:
        yield parent_of(path), (kind, path)


class SumCounts(beam.CombineFn):
    def create_accumulator(self) -> Counter:
        return Counter()

    def add_input(self, acc: Counter, counts: dict[str, int]) -> Counter:
        acc.update(counts)
        return acc

    def merge_accumulators(self, accs) -> Counter:
        total: Counter = Counter()
        for acc in accs:
            total.update(acc)
        return total

    def extract_output(self, acc: Counter) -> dict[str, int]:
        return dict(acc)


class ReadArticleSources(beam.PTransform):
    """input spec -> {units: ArticleSource (grouped by folder, spread over workers),
    unrecognised: {path, reason}, listing: one dict of counts}."""

    def __init__(self, spec: str) -> None:
        super().__init__(label="ReadArticleSources")
        self.spec = spec

    def expand(self, pbegin):
        listed = (
            pbegin
            | "Spec" >> beam.Create([self.spec])
            | "ListFiles" >> beam.FlatMap(list_input_paths)
        )
        found = listed | "ByFolder" >> beam.FlatMap(_by_folder).with_outputs(
            MISSING, NOT_UTF8, main="files"
        )
        folders = (
            found["files"]
            | "GroupFolder" >> beam.GroupByKey()
            | "Sources" >> beam.FlatMap(_sources_of_folder).with_outputs(UNRECOGNISED, LISTING)
        )
        units = (folders[None], found[MISSING]) | "AllUnits" >> beam.Flatten() | beam.Reshuffle()
        paths = listed | "CountPaths" >> beam.Map(
            lambda item: {"paths": 1, "errors": int(item[0] == MISSING)}
        )
        listing = (
            (folders[LISTING], paths)
            | "ListingParts" >> beam.Flatten()
            | "Listing" >> beam.CombineGlobally(SumCounts())
        )
        unrecognised = (folders[UNRECOGNISED], found[NOT_UTF8]) | "Unrecognised" >> beam.Flatten()
        return {UNITS: units, UNRECOGNISED: unrecognised, LISTING: listing}


UNIT_ROWS = 8192  # rows per unit of a batched stage: a worker holds a few units at a time
# rows per read part of a per-record stage: one row group of a shard (transforms/shards.py),
# so even a small folder is spread over every worker
RECORD_PART_ROWS = 256


def parquet_parts(path: str, unit_rows: int = UNIT_ROWS) -> list[tuple[str, list[int]]]:
    """A Parquet file as (path, row groups) parts of about `unit_rows` rows or more, so
    that a large file is read by several workers."""
    with FileSystems.open(path, compression_type="uncompressed") as handle:
        metadata = pq.ParquetFile(handle).metadata
    parts, current, rows = [], [], 0
    for group in range(metadata.num_row_groups):
        current.append(group)
        rows += metadata.row_group(group).num_rows
        if rows >= unit_rows:
            parts.append((path, current))
            current, rows = [], 0
    return parts + [(path, current)] if current or not parts else parts


def read_part(part: tuple[str, list[int]], unit_rows: int = UNIT_ROWS):
    """The part's rows as Tables of at most `unit_rows` rows (a large row group is split)."""
    path, groups = part
    with FileSystems.open(path, compression_type="uncompressed") as handle:
        reader = pq.ParquetFile(handle)
        schema = reader.schema_arrow
        for batch in reader.iter_batches(batch_size=unit_rows, row_groups=groups):
            yield pa.Table.from_batches([batch], schema=schema)


def read_rows(part: tuple[str, list[int]]):
    """The part's rows as record dicts."""
    for table in read_part(part, RECORD_PART_ROWS):
        yield from table.to_pylist()


class ReadRecords(beam.PTransform):
    """A stage folder's `data-*.parquet` as record dicts, or as pyarrow Tables of at most
    `UNIT_ROWS` rows (batched), typed so that Beam codes them with `ArrowCoder`. The files
    are listed and cut into row-group parts first, and the parts reshuffled, so every
    worker reads (a source read from one element runs on one worker under FnApiRunner)."""

    def __init__(self, folder: str, batched: bool = False) -> None:
        super().__init__(label=f"Read[{folder.rstrip('/').rsplit('/', 1)[-1]}]")
        self.folder = folder.rstrip("/")
        self.batched = batched

    def expand(self, pbegin):
        pattern = f"{self.folder}/data-*.parquet"
        part_rows = UNIT_ROWS if self.batched else RECORD_PART_ROWS
        parts = (
            pbegin
            | "Pattern" >> beam.Create([pattern])
            | "Files" >> beam.FlatMap(_match)
            | "Parts" >> beam.FlatMap(parquet_parts, part_rows)
            | "Spread" >> beam.Reshuffle()
        )
        if self.batched:
            return parts | "ReadParts" >> beam.FlatMap(read_part).with_output_types(pa.Table)
        return parts | "ReadRows" >> beam.FlatMap(read_rows)
