"""Folder levels and key ranges of an object store (s3://, gs://), for a listing split into
parts: one delimiter listing names a folder's files and subfolders; each part then lists a
range of whole subfolders, one request per 1000 keys as an unsplit listing would make.
S3 is tested against moto_server; gs:// (google-cloud-storage) is not tested here."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any, Protocol


class Store(Protocol):
    def level(self, bucket: str, prefix: str) -> tuple[list[str], list[str]]:
        """Keys directly under `prefix` (ending with "/", or ""), and its subfolders' prefixes."""

    def keys(self, bucket: str, prefix: str, start: str, end: str) -> Iterator[str]:
        """Keys under `prefix` from `start` (inclusive) to `end` (exclusive; "": no end)."""


class S3Store:
    """boto3 through Beam's own client, so the run's S3 options (endpoint, keys, region) apply;
    options left unset fall back to boto3's environment, as Beam's S3 filesystem does."""

    def __init__(self, options: dict[str, Any]) -> None:
        from apache_beam.io.aws.clients.s3 import boto3_client

        self.client = boto3_client.Client(options).client

    def level(self, bucket: str, prefix: str) -> tuple[list[str], list[str]]:
        files, folders = [], []
        pages = self.client.get_paginator("list_objects_v2")
        for page in pages.paginate(Bucket=bucket, Prefix=prefix, Delimiter="/"):
            files += [item["Key"] for item in page.get("Contents", [])]
            folders += [item["Prefix"] for item in page.get("CommonPrefixes", [])]
        return files, sorted(folders)

    def keys(self, bucket: str, prefix: str, start: str, end: str) -> Iterator[str]:
        # StartAfter is exclusive: start from the folder's name without its "/"; keys of
        # siblings that sort between "f31" and "f31/" ("f31-old/...") belong to the
        # range before, so keys under `start` begin at `start` itself
        pages = self.client.get_paginator("list_objects_v2")
        for page in pages.paginate(Bucket=bucket, Prefix=prefix, StartAfter=start[:-1]):
            for item in page.get("Contents", []):
                if end and item["Key"] >= end:
                    return
                if item["Key"] >= start:
                    yield item["Key"]


class GcsStore:
    """google-cloud-storage with the worker's default credentials. Not tested here."""

    def __init__(self) -> None:
        from google.cloud import storage

        self.client = storage.Client()

    def level(self, bucket: str, prefix: str) -> tuple[list[str], list[str]]:
        blobs = self.client.list_blobs(bucket, prefix=prefix, delimiter="/")
        files = [blob.name for blob in blobs]  # the prefixes are known once it is consumed
        return files, sorted(blobs.prefixes)

    def keys(self, bucket: str, prefix: str, start: str, end: str) -> Iterator[str]:
        offsets = {"start_offset": start, "end_offset": end or None}
        blobs = self.client.list_blobs(bucket, prefix=prefix, **offsets)
        return (blob.name for blob in blobs)


S3Settings = tuple[tuple[str, Any], ...]  # Beam's S3 options as sorted (name, value) pairs


@functools.lru_cache(maxsize=4)  # one client per worker process, not one per part
def store_for(scheme: str, s3_settings: S3Settings = ()) -> Store | None:
    """The store that lists a scheme's folders, or None (the input is listed unsplit)."""
    if scheme == "s3":
        return S3Store(dict(s3_settings))
    if scheme == "gs":
        try:
            return GcsStore()
        except ImportError:  # not installed: one part, listed by Beam's own filesystem
            return None
    return None


# fewer subfolders than this: the split goes one level further down (PMC's oa_comm/ and
# oa_noncomm/ would make two parts), at most MAX_DESCENT levels
MIN_FOLDERS = 8
MAX_DESCENT = 2


def split_folder(
    root: str,
    level: Callable[[str], tuple[list[str], list[str]]],
    min_folders: int = MIN_FOLDERS,
    max_descent: int = MAX_DESCENT,
) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """A folder as the files listed on the way down and (folder, its subfolders) groups to
    list on workers; a folder's own files are all listed here or all in one subtree."""
    files, folders = level(root)
    groups = [(root, folders)]
    for _ in range(max_descent):
        if not folders or len(folders) >= min_folders:
            break
        groups = []
        for folder in folders:
            more, subfolders = level(folder)
            files += more
            groups.append((folder, subfolders))
        folders = [sub for _, subs in groups for sub in subs]
    return files, [(folder, subs) for folder, subs in groups if subs]
