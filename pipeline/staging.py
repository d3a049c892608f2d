"""Files a stage reads (lexicons, entry lists, model folders, evaluation sets) where remote
workers can read them.

On a local runner every worker shares the launching machine's disk, so paths stay as
given. On a remote runner (Dataflow, Flink, Spark) a local path is copied once, by
content digest, under `--staging_location` (or `--temp_location`)/biomed-curate-files/,
and the stage's config names that copy. Each worker then copies any gs:// or s3:// path
it is given (the user's or a staged one) to its own disk once, in `DoFn.setup`, so the
stage's code always opens a local path.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import (
    GoogleCloudOptions,
    PipelineOptions,
    StandardOptions,
)

LOCAL_RUNNERS = {"", "FnApiRunner", "DirectRunner", "BundleBasedDirectRunner"}
STAGED_FOLDER = "biomed-curate-files"
COPY_CHUNK = 1 << 20


def is_remote(options: PipelineOptions) -> bool:
    runner = options.view_as(StandardOptions).runner or ""
    name = runner if isinstance(runner, str) else type(runner).__name__
    return name not in LOCAL_RUNNERS


def staging_root(options: PipelineOptions) -> str:
    cloud = options.view_as(GoogleCloudOptions)
    root = cloud.staging_location or cloud.temp_location
    if not root:
        raise SystemExit(
            "a remote runner cannot read this machine's files: give --temp_location "
            "(gs://… or s3://…) so they are staged there, or name them by gs:// or s3:// path"
        )
    return root.rstrip("/")


def get_field(config: Any, dotted: str) -> Any:
    """The value at a dotted field; None when a part on the way is None (an unset option)."""
    for name in dotted.split("."):
        if config is None:
            return None
        config = getattr(config, name)
    return config


def with_field(config: Any, dotted: str, value: Any) -> Any:
    """A copy of a (frozen, nested) dataclass config with one dotted field replaced."""
    head, _, rest = dotted.partition(".")
    inner = with_field(getattr(config, head), rest, value) if rest else value
    return dataclasses.replace(config, **{head: inner})


def files_under(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*") if p.is_file())


def content_digest(path: Path) -> str:
    """sha256 over relative names and bytes: the same content stages to the same place."""
    digest = hashlib.sha256()
    for file in files_under(path):
        digest.update(str(file.relative_to(path) if path.is_dir() else file.name).encode())
        with open(file, "rb") as handle:
            for chunk in iter(lambda h=handle: h.read(COPY_CHUNK), b""):
                digest.update(chunk)
    return digest.hexdigest()[:20]


def copy_stream(source, target) -> None:
    for chunk in iter(lambda: source.read(COPY_CHUNK), b""):
        target.write(chunk)


def upload(path: Path, root: str) -> str:
    """Copy a local file or folder under `root` by content; its URI there."""
    target = f"{root}/{STAGED_FOLDER}/{content_digest(path)}/{path.name}"
    for file in files_under(path):
        dest = target if path.is_file() else f"{target}/{file.relative_to(path).as_posix()}"
        if FileSystems.exists(dest):
            continue  # staged by an earlier launch: same digest, same bytes
        with open(file, "rb") as source, FileSystems.create(dest) as handle:
            copy_stream(source, handle)
    return target


def stage_config_files(config: Any, fields: tuple[str, ...], options: PipelineOptions) -> Any:
    """For a remote runner: every local path named by `fields` staged, the config naming
    the staged copies. A path that does not exist stops the launch here."""
    if not fields or not is_remote(options):
        return config
    root = None
    for dotted in fields:
        value = get_field(config, dotted)
        if not value or "://" in value:
            continue
        path = Path(value)
        if not path.exists():
            raise SystemExit(f"{value}: no such file or folder to stage for the workers")
        root = root or staging_root(options)
        config = with_field(config, dotted, upload(path, root))
    return config


def download(uri: str, target: Path) -> None:
    """Copy a remote file, or every file under a remote folder, to `target`."""
    if FileSystems.exists(uri) and not FileSystems.match([uri + "/**"])[0].metadata_list:
        target.parent.mkdir(parents=True, exist_ok=True)
        with FileSystems.open(uri, compression_type="uncompressed") as source:
            with open(target, "wb") as handle:
                copy_stream(source, handle)
        return
    found = FileSystems.match([uri.rstrip("/") + "/**"])[0].metadata_list
    if not found:
        raise FileNotFoundError(f"{uri}: nothing there to read")
    for meta in found:
        relative = meta.path[len(uri.rstrip("/")) + 1 :]
        if not relative or ".." in Path(relative).parts:
            continue
        dest = target / relative
        dest.parent.mkdir(parents=True, exist_ok=True)
        with FileSystems.open(meta.path, compression_type="uncompressed") as source:
            with open(dest, "wb") as handle:
                copy_stream(source, handle)


def local_copy(uri: str, cache: str | None = None) -> str:
    """A local path for `uri`: itself when local, else a copy made once per machine
    (written to a temporary name, then renamed, so concurrent workers never see half)."""
    if "://" not in uri:
        return uri
    base = Path(cache or tempfile.gettempdir()) / STAGED_FOLDER
    name = Path(uri.rstrip("/")).name or "file"
    done = base / hashlib.sha256(uri.encode()).hexdigest()[:20] / name
    if done.exists():
        return str(done)
    base.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=".partial-", dir=base))
    try:
        download(uri, partial / name)
        done.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.rename(partial / name, done)
        except OSError:
            if not done.exists():  # not another worker's copy that landed first
                raise
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return str(done)


def localize_config(config: Any, fields: tuple[str, ...]) -> Any:
    """On a worker: every gs:// or s3:// path named by `fields` as a local copy."""
    for dotted in fields:
        value = get_field(config, dotted)
        if value and "://" in value:
            config = with_field(config, dotted, local_copy(value))
    return config
