"""Listing an input: whole (`list_input_files`), or split into parts that workers list
(`split_listing` on one worker, then `list_part` on each part's worker)."""

from __future__ import annotations

import logging
import os
from typing import Any, NamedTuple

from apache_beam.io.filesystems import FileSystems

from pipeline.object_listing import S3Settings, split_folder, store_for
from transforms.extract.sources import (
    LIST_SUFFIXES,
    OUTSIDE_ROOT,
    is_within,
    parent_of,
    parse_file_list,
    suffix_of,
)

MISSING = "missing"
# a file name that is not UTF-8: no Beam coder or Parquet column can carry it as it is
NOT_UTF8 = "path_not_utf8"
GLOB_CHARS = "*?["

log = logging.getLogger(__name__)


def match_paths(pattern: str) -> list[str]:
    results = FileSystems.match([pattern])[0].metadata_list
    return sorted(m.path for m in results)


def _within_root(paths: list[str], root: str) -> list[tuple[str, str]]:
    """Local files as (kind, path): "link_outside_root" for one whose real path (links
    followed) leaves the root folder, else "file". Links inside the root are followed."""
    real_root = os.path.realpath(root)
    return [
        ("file" if is_within(os.path.realpath(path), real_root) else OUTSIDE_ROOT, path)
        for path in paths
    ]


def _resolve(spec: str, base: str) -> str:
    spec = spec.rstrip("/") if not spec.endswith("://") else spec
    if base and "://" not in spec and not os.path.isabs(spec):
        spec = f"{base}/{spec}" if "://" in base else os.path.join(base, spec)
    return spec


def _is_list(spec: str) -> bool:
    return suffix_of(spec) in LIST_SUFFIXES and FileSystems.exists(spec)


def _remote_file(spec: str) -> bool:
    return FileSystems.exists(spec) and match_paths(spec) == [spec]


def list_input_files(spec: str, base: str = "") -> list[tuple[str, str]]:
    """Every file an input names, as (kind, path): kind "file", "missing" for a path in a
    file list that does not exist, or "link_outside_root" for a link in a local folder that
    leads out of it. A spec is a file, a folder (recursively), a glob, or a file list
    (`.txt`), whose relative lines are resolved against the list's folder."""
    spec = _resolve(spec, base)
    if any(ch in spec for ch in GLOB_CHARS):
        if "://" in spec:
            return [("file", p) for p in match_paths(spec)]
        fixed = spec[: min(spec.find(ch) for ch in GLOB_CHARS if ch in spec)]
        return _within_root(match_paths(spec), os.path.dirname(os.path.abspath(fixed + "x")))
    if _is_list(spec):
        folder = parent_of(spec)
        return [item for entry in _list_entries(spec) for item in list_input_files(entry, folder)]
    if "://" not in spec:
        spec = os.path.abspath(spec)
        if os.path.isfile(spec):
            return [("file", spec)]
        if not os.path.isdir(spec):
            return [(MISSING, spec)]
        return _within_root(match_paths(spec + "/**"), spec)
    if _remote_file(spec):
        return [("file", spec)]
    found = match_paths(spec + "/**")
    return [("file", p) for p in found] if found else [(MISSING, spec)]


def _list_entries(spec: str) -> list[str]:
    with FileSystems.open(spec, compression_type="uncompressed") as handle:
        # a line that is not UTF-8 keeps its bytes (as local file names do): flagged later
        return parse_file_list(handle.read().decode("utf-8", "surrogateescape"))


def printable_path(path: str) -> str:
    """The path as UTF-8, its undecodable bytes written as \\xNN."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _utf8_checked(listed: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """A path that is not UTF-8 as (NOT_UTF8, printable path): it is reported among the
    unrecognised files, and the run goes on."""
    checked = []
    for kind, path in listed:
        try:
            path.encode("utf-8")
        except UnicodeEncodeError:
            kind, path = NOT_UTF8, printable_path(path)
        checked.append((kind, path))
    return checked


def list_input_paths(spec: str) -> list[tuple[str, str]]:
    """`list_input_files`, with a path that is not UTF-8 as (NOT_UTF8, printable path)."""
    return _utf8_checked(list_input_files(spec))


# how a part is listed: SPEC by `list_input_files` (a glob, a file, a list's entry, a path
# that is missing); LISTED is one file listed already; TREE every file under a local
# folder; RANGE the keys of whole subfolders of an object-store folder
SPEC, LISTED, TREE, RANGE = "spec", "listed", "tree", "range"
# subfolders of an object-store folder per part: one request lists up to 1000 keys, so a
# part of a few article folders costs about what they cost in an unsplit listing
FOLDERS_PER_PART = 32


class ListingPart(NamedTuple):
    how: str
    path: bytes  # os.fsencode'd: a local name need not be UTF-8, and Beam codes bytes as is
    root: bytes = b""  # TREE: the input's root folder; SPEC: the folder of the list naming it
    kind: str = "file"  # LISTED: the file's kind
    start: str = ""  # RANGE: the first subfolder's key ...
    end: str = ""  # ... and the key the range stops before ("": the folder's end)


def _part(how: str, path: str, root: str = "", **fields: str) -> ListingPart:
    return ListingPart(how, os.fsencode(path), os.fsencode(root), **fields)


def _local_level(folder: str) -> tuple[list[str], list[str]]:
    """A folder's files and subfolders as Beam's local listing (os.walk) sees them: a link
    to a folder is not followed, and a file that cannot be stat'ed is not listed."""
    _, dirs, names = next(os.walk(folder), (folder, [], []))
    subfolders = [os.path.join(folder, name) for name in dirs]
    files = [os.path.join(folder, name) for name in names]
    return [p for p in files if _stats(p)], sorted(p for p in subfolders if not os.path.islink(p))


def _stats(path: str) -> bool:
    try:
        os.stat(path)
    except (OSError, ValueError):
        return False
    return True


def _local_tree(folder: str) -> list[str]:
    found = (os.path.join(top, name) for top, _, names in os.walk(folder) for name in names)
    return sorted(path for path in found if _stats(path))


def split_listing(spec: str, s3_settings: S3Settings = ()) -> list[ListingPart]:
    """An input spec as parts whose listings together are `list_input_files(spec)`: a local
    folder's subfolders (its own files listed here), an object-store folder's subfolders in
    ranges (one delimiter listing), a list's entries; anything else is one part."""
    spec = _resolve(spec, "")
    if any(ch in spec for ch in GLOB_CHARS):
        return [_part(SPEC, spec)]
    if _is_list(spec):
        return [_part(SPEC, entry, parent_of(spec)) for entry in _list_entries(spec)]
    if "://" not in spec:
        spec = os.path.abspath(spec)
        if not os.path.isdir(spec):
            return [_part(SPEC, spec)]
        files, groups = split_folder(spec, _local_level)
        listed = [_part(LISTED, path, kind=kind) for kind, path in _within_root(files, spec)]
        return listed + [_part(TREE, sub, spec) for _, subs in groups for sub in subs]
    scheme, _, rest = spec.partition("://")
    store = store_for(scheme, s3_settings)
    if store is None or _remote_file(spec):
        return [_part(SPEC, spec)]
    bucket, _, key = rest.partition("/")
    try:
        files, groups = split_folder(f"{key}/" if key else "", lambda p: store.level(bucket, p))
    except Exception as exc:  # noqa: BLE001 - botocore/google errors: no such bucket, denied
        # listed unsplit, by Beam's own filesystem: a missing bucket is a listing error
        # record there, and any other failure is reported as Beam reports it
        log.warning("listing %s unsplit: %s", spec, exc)
        return [_part(SPEC, spec)]
    if not files and not groups:  # nothing there: reported missing, as unsplit
        return [_part(SPEC, spec)]
    parts = [_part(LISTED, f"{scheme}://{bucket}/{name}") for name in files]
    for folder, subs in groups:
        for at in range(0, len(subs), FOLDERS_PER_PART):
            end = subs[at + FOLDERS_PER_PART] if at + FOLDERS_PER_PART < len(subs) else ""
            parts.append(_part(RANGE, f"{scheme}://{bucket}/{folder}", start=subs[at], end=end))
    return parts


def list_part(part: ListingPart, s3_settings: S3Settings = ()) -> list[tuple[str, str]]:
    """A part's files as `list_input_files` lists them: (kind, path)."""
    path, root = os.fsdecode(part.path), os.fsdecode(part.root)
    if part.how == SPEC:
        return list_input_files(path, root)
    if part.how == LISTED:
        return [(part.kind, path)]
    if part.how == TREE:  # links are checked against the input's root, not the part's
        return _within_root(_local_tree(path), root)
    scheme, _, rest = path.partition("://")
    bucket, _, folder = rest.partition("/")
    store = store_for(scheme, s3_settings)
    keys = store.keys(bucket, folder, part.start, part.end)
    # the folder's own files were listed with the split: only those of its subfolders here
    return [("file", f"{scheme}://{bucket}/{key}") for key in keys if "/" in key[len(folder) :]]


def list_part_paths(part: ListingPart, s3_settings: S3Settings = ()) -> list[tuple[str, str]]:
    """`list_part`, with a path that is not UTF-8 as (NOT_UTF8, printable path)."""
    return _utf8_checked(list_part(part, s3_settings))


def s3_settings_of(options: Any) -> S3Settings:
    """Beam's S3 options of a run, as `store_for` takes them."""
    from apache_beam.options.pipeline_options import S3Options

    given = options.view_as(S3Options).get_all_options()
    return tuple(sorted((name, value) for name, value in given.items() if name.startswith("s3_")))
