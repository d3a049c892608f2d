"""Rerunning a stage replaces its folder whole: write to a temporary place, then move.

A run writes `OUT.tmp-XXXXXXXX/` and moves it to `OUT/` when the stage is complete (a local
rerun first moves the old folder aside to `OUT.old-XXXXXXXX/`). A run that is killed leaves
these behind; the next run of the same output removes the ones that match that naming and
were last written before it started (`clean_stale_folders`), and nothing else.
"""

from __future__ import annotations

import os
import re
import shutil
import time
import uuid

from apache_beam.io.filesystems import FileSystems

# the marker a stage writes last (pipeline/resume.py): removed first when a folder is replaced
RUN_MARKER = "run.json"
WORK_SUFFIX = re.compile(r"\.(tmp|old)-[0-9a-f]{8}$")


def is_local(path: str) -> bool:
    return "://" not in path


def temp_folder_for(output: str) -> str:
    return f"{output.rstrip('/')}.tmp-{uuid.uuid4().hex[:8]}"


def files_under(folder: str) -> list[str]:
    """Every file below `folder` (local or object store); none when it does not exist."""
    matched = FileSystems.match([folder.rstrip("/") + "/**"])[0].metadata_list
    return sorted(m.path for m in matched)


def replace_folder(temp: str, output: str) -> None:
    """Move `temp` to `output`, dropping whatever `output` held before."""
    if is_local(output):
        old = None
        if os.path.exists(output):
            old = f"{output}.old-{uuid.uuid4().hex[:8]}"
            os.replace(output, old)
        os.replace(temp, output)
        if old:
            shutil.rmtree(old, ignore_errors=True)
        return
    # Object stores have no folders and no atomic rename: a "folder" is a key prefix, which
    # FileSystems.exists() reports missing, so list its objects instead. The old run marker
    # goes first (a half-replaced folder never looks complete), then the new files are
    # copied over, then whatever of the old run the new one did not overwrite is deleted.
    temp, output = temp.rstrip("/"), output.rstrip("/")
    old = files_under(output)
    marker = f"{output}/{RUN_MARKER}"
    if marker in old:
        FileSystems.delete([marker])
    src = files_under(temp)
    dst = [f"{output}/{path[len(temp) + 1 :]}" for path in src]
    if src:
        FileSystems.rename(src, dst)
    stale = sorted(set(old) - set(dst) - {marker})
    if stale:
        FileSystems.delete(stale)


def discard_folder(temp: str) -> None:
    if is_local(temp):
        shutil.rmtree(temp, ignore_errors=True)
    else:
        matched = files_under(temp)
        if matched:
            FileSystems.delete(matched)


def _newest_local(folder: str) -> float:
    newest = os.lstat(folder).st_mtime
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            newest = max(newest, os.lstat(os.path.join(root, name)).st_mtime)
    return newest


def stale_folders(output: str, started: float) -> list[str]:
    """`OUT.tmp-*` / `OUT.old-*` work folders of `output` last written before `started`
    (seconds since the epoch): what a killed run left. A folder still being written by a
    run that started later is newer, and is left alone."""
    output = output.rstrip("/")
    found: dict[str, float] = {}
    if is_local(output):
        parent, base = os.path.split(os.path.abspath(output))
        names = os.listdir(parent) if os.path.isdir(parent) else []
        for name in names:
            path = os.path.join(parent, name)
            if name.startswith(base) and WORK_SUFFIX.fullmatch(name[len(base) :]):
                if os.path.isdir(path) and not os.path.islink(path):
                    found[path] = _newest_local(path)
    else:
        matched = FileSystems.match([f"{output}.*/**"])[0].metadata_list
        for meta in matched:
            folder = meta.path[: meta.path.index("/", len(output))]
            if WORK_SUFFIX.fullmatch(folder[len(output) :]):
                updated = meta.last_updated_in_seconds or time.time()
                found[folder] = max(found.get(folder, 0.0), updated)
    return sorted(path for path, newest in found.items() if newest < started)


def clean_stale_folders(output: str, started: float) -> list[str]:
    """Remove what `stale_folders` finds; returns the folders removed."""
    stale = stale_folders(output, started)
    for folder in stale:
        discard_folder(folder)
    return stale
