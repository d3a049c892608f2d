"""Resume: a stage whose folder is already complete for the same input and options is
not run again, so a chain that failed in a late stage restarts there.

A finished stage folder gets `run.json`: the stage, its input and its options. A later run
skips the leading stages whose `run.json` matches and whose ledger adds up; the first stage
that differs, and every stage after it, runs. Paths and options are compared, and for a
local input of article files its listing (files, bytes, newest mtime), so articles added
to a local corpus rerun the chain; after changing an object-store corpus, or the code,
pass `--force`.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from apache_beam.io.filesystems import FileSystems

from pipeline.listing import list_input_files
from pipeline.prune import is_pruned
from pipeline.sinks import read_stats
from pipeline.stage_spec import StageSpec

RUN_FILE = "run.json"


def absolute_uri(uri: str) -> str:
    """A URI as it is; a local path made absolute, so `run.json` names the same files from
    any working directory."""
    uri = uri.rstrip("/") or uri
    return uri if "://" in uri else os.path.abspath(uri)


def run_record(spec: StageSpec, args: argparse.Namespace, input_uri: str) -> dict[str, Any]:
    record = {
        "stage": spec.name,
        "input": absolute_uri(input_uri),
        "options": repr(spec.make_config(args)),
        "records_per_shard": args.records_per_shard,
    }
    if spec.input_kind is None:  # article files: articles added or changed rerun extract
        record["input_listing"] = local_listing(input_uri)
    return record


def local_listing(input_uri: str) -> dict[str, int] | None:
    """How many local files an input lists, their bytes and the newest modification time;
    None for object-store inputs, where listing millions of keys on the launching machine
    costs more than it saves (there only the path is compared: pass --force)."""
    if "://" in input_uri:
        return None
    files = bytes_ = newest = 0
    for kind, path in list_input_files(input_uri):
        if kind != "file" or "://" in path:
            continue
        try:
            stat = os.stat(path)
        except OSError:
            continue
        files, bytes_, newest = files + 1, bytes_ + stat.st_size, max(newest, stat.st_mtime_ns)
    return {"files": files, "bytes": bytes_, "newest_mtime_ns": newest}


def write_run_record(folder: str, record: dict[str, Any]) -> None:
    with FileSystems.create(f"{folder.rstrip('/')}/{RUN_FILE}") as handle:
        handle.write(json.dumps(record, indent=2).encode("utf-8"))


def completed(folder: str, record: dict[str, Any]) -> dict[str, Any] | None:
    """The folder's stats when it holds a finished run of `record` whose ledger adds up."""
    try:
        with FileSystems.open(f"{folder.rstrip('/')}/{RUN_FILE}") as handle:
            stored = json.loads(handle.read().decode("utf-8"))
        stats = read_stats(folder)
    except (OSError, ValueError):  # no such folder or file (Beam raises IOError), or junk
        return None
    return stats if stored == record and stats.get("ledger_ok") else None


def leading_completed(
    specs: list[StageSpec], args: argparse.Namespace, folders: dict[str, str]
) -> tuple[dict[str, dict[str, Any]], str]:
    """Stats of the leading stages that need not run, and the input of the first that does."""
    done: dict[str, dict[str, Any]] = {}
    input_uri = args.input
    for spec in specs:
        stats = completed(folders[spec.name], run_record(spec, args, input_uri))
        if stats is None:
            break
        done[spec.name] = stats
        input_uri = folders[spec.name]
    # a stage that must run needs its input's records: one removed by --no-intermediate
    # makes the stage before it run again too
    while done and len(done) < len(specs) and is_pruned(folders[list(done)[-1]]):
        done.popitem()
        input_uri = folders[list(done)[-1]] if done else args.input
    return done, input_uri
