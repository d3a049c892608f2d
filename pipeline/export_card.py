"""After the export run: sizes.json per split, the dataset card with its plots, and
croissant.json, all made from what was written (the shards and every stage's stats.json).

The WebDataset tar `wds/{split}/NNNNN.tar` holds the same rows as the Parquet shard
`parquet/{split}-NNNNN-of-*.parquet` (same split, same key hash, same count), so sizes.json
reads the Parquet footers instead of scanning the tars.
"""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from importlib import metadata as package_metadata
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from pipeline.ledger_check import shard_paths
from pipeline.sinks import read_stats
from transforms.export.card import CardInputs, card_files
from transforms.export.croissant import CroissantInputs, croissant_json
from transforms.export.paths import METADATA_GLOB, PARQUET_GLOB, sizes_path, tar_name
from transforms.export.plan import ExportConfig
from transforms.export.splits import SPLITS
from transforms.export.summary import (
    ExportSummary,
    ExportSummaryCombine,
    example_keys,
    histogram,
    sizes_json,
    with_example_images,
)

# the chain's folders, in order, and the stage that writes each
CHAIN = (
    ("figures", "extract"),
    ("panels", "segment"),
    ("tagged", "tag"),
    ("balanced", "balance"),
    ("deduped", "dedup"),
)
SUMMARY_COLUMNS = [
    "key",
    "parent_key",
    "split",
    "license",
    "modalities",
    "entries",
    "is_compound",
    "text",
    "year",
]
PACKAGES = (
    "apache-beam",
    "pyarrow",
    "pillow",
    "datasets",
    "webdataset",
    "open_clip_torch",
    "mlcroissant",
    "lxml",
)


def _write(path: str, data: bytes) -> None:
    with FileSystems.create(path) as handle:
        handle.write(data)


def write_sizes(folder: str) -> dict[str, dict[str, int]]:
    """`wds/{split}/sizes.json` for every split written; split -> tar name -> samples."""
    sizes: dict[str, dict[str, int]] = {}
    for path in shard_paths(folder, PARQUET_GLOB):
        split, rest = path.rsplit("/", 1)[1].split("-", 1)
        with FileSystems.open(path, compression_type="uncompressed") as handle:
            rows = pq.ParquetFile(handle).metadata.num_rows
        sizes.setdefault(split, {})[tar_name(int(rest.split("-", 1)[0]))] = rows
    for split, counts in sizes.items():
        _write(f"{folder}/{sizes_path(split)}", sizes_json(counts).encode("utf-8"))
    return {split: sizes[split] for split in SPLITS if split in sizes}


def summarise(folder: str, config: ExportConfig) -> tuple[ExportSummary, dict[int, int], int]:
    """The card's numbers from the metadata table: (summary, panels per figure, newest year)."""
    combine = ExportSummaryCombine(config.order_seed)
    summary = combine.create_accumulator()
    per_figure: Counter = Counter()
    newest = 0
    for path in shard_paths(folder, METADATA_GLOB):
        with FileSystems.open(path, compression_type="uncompressed") as handle:
            for batch in pq.ParquetFile(handle).iter_batches(columns=SUMMARY_COLUMNS):
                for row in batch.to_pylist():
                    summary = combine.add_input(summary, row)
                    per_figure[row["parent_key"] or row["key"]] += 1
                    newest = max(newest, row["year"] or 0)
    return summary, histogram(per_figure.values()), newest


def example_images(folder: str, keys: list[str]) -> dict[str, bytes]:
    """The images of a few keys, reading only the row groups that hold them."""
    wanted, found = set(keys), {}
    for path in shard_paths(folder, PARQUET_GLOB):
        with FileSystems.open(path, compression_type="uncompressed") as handle:
            parquet = pq.ParquetFile(handle)
            for group in range(parquet.num_row_groups):
                group_keys = parquet.read_row_group(group, columns=["key"]).column(0)
                if wanted.isdisjoint(group_keys.to_pylist()):
                    continue
                for row in parquet.read_row_group(group, columns=["key", "image"]).to_pylist():
                    if row["key"] in wanted:
                        found[row["key"]] = row["image"]["bytes"]
    return found


def _read_json(path: str) -> dict[str, Any] | None:
    if not FileSystems.exists(path):
        return None
    with FileSystems.open(path, compression_type="uncompressed") as handle:
        return json.loads(handle.read().decode("utf-8"))


def upstream(input_uri: str) -> list[tuple[str, str]]:
    """(stage, folder) of the chain's folders beside the input, and the input itself."""
    root = input_uri.rstrip("/").rsplit("/", 1)[0] if "/" in input_uri else "."
    folders = [(stage, f"{root}/{kind}") for kind, stage in CHAIN]
    if all(folder != input_uri.rstrip("/") for _, folder in folders):
        folders.append(("input", input_uri.rstrip("/")))
    return [(stage, folder) for stage, folder in folders if _read_json(f"{folder}/stats.json")]


def entry_counts(balanced: str) -> dict[str, int]:
    """Balance's entry counts over the tagged pool (`entry_counts-*`), when it wrote them."""
    counts: dict[str, int] = {}
    for path in shard_paths(balanced, "entry_counts-*.parquet"):
        with FileSystems.open(path, compression_type="uncompressed") as handle:
            for row in pq.read_table(handle, columns=["entry", "count"]).to_pylist():
                counts[row["entry"]] = row["count"]
    return counts


def lexicon_of(tag_options: str) -> str:
    """Which lexicon the tag stage used, from its recorded options (a compiled UMLS or MeSH
    matcher is named after its source)."""
    lowered = tag_options.lower()
    if "umls" in lowered or "mesh" in lowered:
        return "umls" if "umls" in lowered else "mesh"
    return "custom" if "lexicon_tsv='" in lowered else "bundled"


def _versions() -> dict[str, str]:
    found = {}
    for name in PACKAGES:
        try:
            found[name] = package_metadata.version(name)
        except package_metadata.PackageNotFoundError:
            continue
    return found


def _project(project_root: Path) -> tuple[str, str]:
    try:
        version = package_metadata.version("biomed-curate")
    except package_metadata.PackageNotFoundError:
        version = "unknown"
    try:
        commit = subprocess.run(
            ["git", "-C", str(project_root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return version, commit


def finalize_export(config: ExportConfig, folder: str, input_uri: str, project_root: Path) -> None:
    folder = folder.rstrip("/")
    sizes = write_sizes(folder)
    summary, panels, newest_year = summarise(folder, config)
    summary = with_example_images(summary, example_images(folder, example_keys(summary)))
    folders = upstream(input_uri)
    stage_stats = [(stage, _read_json(f"{path}/stats.json")) for stage, path in folders]
    stage_stats.append(("export", read_stats(folder)))
    options: dict[str, Any] = {
        stage: (_read_json(f"{path}/run.json") or {}).get("options") for stage, path in folders
    }
    options["export"] = repr(config)
    root = input_uri.rstrip("/").rsplit("/", 1)[0] if "/" in input_uri else "."
    version, commit = _project(project_root)
    inputs = CardInputs(
        name=config.dataset_name,
        export_root=folder,
        stage_stats=stage_stats,
        summary=summary,
        shard_sizes=sizes,
        entry_counts_before=entry_counts(f"{root}/balanced"),
        panels_per_figure=panels,
        options=options,
        versions=_versions(),
        project_version=version,
        project_commit=commit,
        lexicon=lexicon_of(str(options.get("tag") or "")),
    )
    for name, data in card_files(inputs).items():
        _write(f"{folder}/{name}", data)
    croissant = CroissantInputs(
        name=config.dataset_name,
        description="Figure and panel images from biomedical articles with their captions, "
        "curated for CLIP training (see README.md).",
        url=config.dataset_url,
        creators=config.creators or ("biomed-curate",),
        date_published=config.release_date or str(newest_year or ""),
        version=version,
        licenses=tuple(sorted(summary.licenses)),
    )
    _write(f"{folder}/croissant.json", croissant_json(croissant).encode("utf-8"))
