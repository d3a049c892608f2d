"""Rerunning a stage replaces its folder whole: write to a temporary place, then move."""

from __future__ import annotations

import os
import shutil
import uuid

from apache_beam.io.filesystems import FileSystems


def is_local(path: str) -> bool:
    return "://" not in path


def temp_folder_for(output: str) -> str:
    return f"{output.rstrip('/')}.tmp-{uuid.uuid4().hex[:8]}"


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
    # object stores have no atomic folder rename: delete, then rename file by file
    prefix = output.rstrip("/") + "/"
    if FileSystems.exists(prefix):
        old = [m.path for m in FileSystems.match([prefix + "**"])[0].metadata_list]
        if old:
            FileSystems.delete(old)
    src = [m.path for m in FileSystems.match([temp.rstrip("/") + "/**"])[0].metadata_list]
    dst = [prefix + s[len(temp.rstrip("/")) + 1 :] for s in src]
    FileSystems.rename(src, dst)


def discard_folder(temp: str) -> None:
    if is_local(temp):
        shutil.rmtree(temp, ignore_errors=True)
    else:
        matched = FileSystems.match([temp.rstrip("/") + "/**"])[0].metadata_list
        if matched:
            FileSystems.delete([m.path for m in matched])
