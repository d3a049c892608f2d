"""Beam sources: article files (for extract) and a stage folder's records."""

from __future__ import annotations

import os

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from transforms.extract.sources import (
    LIST_SUFFIXES,
    parent_of,
    parse_file_list,
    sources_in_folder,
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


def _match(pattern: str) -> list[str]:
    results = FileSystems.match([pattern])[0].metadata_list
    return sorted(m.path for m in results)


def list_input_files(spec: str) -> list[str]:
    """Every file an input names: a file, a folder (recursively), a glob, or a file list."""
    spec = spec.rstrip("/") if not spec.endswith("://") else spec
    if any(ch in spec for ch in "*?["):
        return _match(spec)
    if suffix_of(spec) in LIST_SUFFIXES and FileSystems.exists(spec):
        with FileSystems.open(spec, compression_type="uncompressed") as handle:
            entries = parse_file_list(handle.read().decode("utf-8"))
        return [path for entry in entries for path in list_input_files(entry)]
    if "://" not in spec:
        spec = os.path.abspath(spec)
        if os.path.isfile(spec):
            return [spec]
        if not os.path.isdir(spec):
            raise FileNotFoundError(f"input not found: {spec}")
        return _match(spec + "/**")
    exact = _match(spec) if FileSystems.exists(spec) else []
    if exact == [spec]:
        return exact
    return _match(spec + "/**")


class ReadArticleSources(beam.PTransform):
    """input spec -> ArticleSource, grouped by folder, spread over workers."""

    def __init__(self, spec: str) -> None:
        super().__init__(label="ReadArticleSources")
        self.spec = spec

    def expand(self, pbegin):
        return (
            pbegin
            | "Spec" >> beam.Create([self.spec])
            | "ListFiles" >> beam.FlatMap(list_input_files)
            | "ByFolder" >> beam.Map(lambda path: (parent_of(path), path))
            | "GroupFolder" >> beam.GroupByKey()
            | "Sources" >> beam.FlatMap(lambda kv: sources_in_folder(kv[0], kv[1]))
            | "Spread" >> beam.Reshuffle()
        )


class ReadRecords(beam.PTransform):
    """A stage folder's `data-*.parquet` as record dicts."""

    def __init__(self, folder: str) -> None:
        super().__init__(label=f"Read[{folder.rstrip('/').rsplit('/', 1)[-1]}]")
        self.folder = folder.rstrip("/")

    def expand(self, pbegin):
        return pbegin | "ReadParquet" >> beam.io.ReadFromParquet(f"{self.folder}/data-*.parquet")
