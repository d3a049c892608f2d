"""Beam sources: article files (for extract) and a stage folder's records."""

from __future__ import annotations

from collections import Counter
from typing import BinaryIO

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

import pipeline.arrow_coder  # noqa: F401 - registers the coder of batched units
from pipeline.listing import (
    MISSING,
    NOT_UTF8,
    list_part_paths,
    match_paths,
    s3_settings_of,
    split_listing,
)
from pipeline.object_listing import S3Settings
from transforms.extract.sources import OUTSIDE_ROOT, ArticleSource, classify_folder, parent_of
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


LISTING, UNRECOGNISED, UNITS = "listing", "unrecognised", "units"


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


class SplitListing(beam.PTransform):
    """input spec -> its listing parts, reshuffled: each its own element on any worker."""

    def __init__(self, spec: str, s3_settings: S3Settings = ()) -> None:
        super().__init__(label="SplitListing")
        self.spec = spec
        self.s3_settings = s3_settings

    def expand(self, pbegin):
        return (
            pbegin
            | "Spec" >> beam.Create([self.spec])
            | "Split" >> beam.FlatMap(split_listing, self.s3_settings)
            | "Spread" >> beam.Reshuffle()
        )


class ReadArticleSources(beam.PTransform):
    """input spec -> {units: ArticleSource (grouped by folder, spread over workers),
    unrecognised: {path, reason}, listing: one dict of counts}. The listing is split into
    parts on one worker (`split_listing`: a folder's subfolders, a list's entries) and the
    parts are reshuffled, so that every worker lists some (`list_part`)."""

    def __init__(self, spec: str) -> None:
        super().__init__(label="ReadArticleSources")
        self.spec = spec

    def expand(self, pbegin):
        s3_settings = s3_settings_of(pbegin.pipeline.options)
        listed = (
            pbegin
            | SplitListing(self.spec, s3_settings)
            | "ListFiles" >> beam.FlatMap(list_part_paths, s3_settings)
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
            | "Files" >> beam.FlatMap(match_paths)
            | "Parts" >> beam.FlatMap(parquet_parts, part_rows)
            | "Spread" >> beam.Reshuffle()
        )
        if self.batched:
            return parts | "ReadParts" >> beam.FlatMap(read_part).with_output_types(pa.Table)
        return parts | "ReadRows" >> beam.FlatMap(read_rows)
