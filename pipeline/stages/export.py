"""The export stage: deduped records -> OUT/export/ (Parquet and WebDataset shards per
split, the metadata table, sizes.json, the dataset card and croissant.json).

The unit is one record (`transforms.export.unit.ExportRecord`); the pool pass fixes the
splits; three shard outputs, partitioned by `split` and ordered by the seeded key hash,
are written by Beam's workers in parallel, shard by shard. After the run `finalize`
(pipeline/export_card.py) adds sizes.json, the card and croissant.json from what was
written.
"""

from __future__ import annotations

import argparse
from functools import partial
from pathlib import Path

from apache_beam.io.filesystems import FileSystems

from pipeline.export_card import finalize_export
from pipeline.stage_spec import PoolPass, ShardOutput, StageSpec, record_key
from schemas.records import EXPORT_SCHEMA
from transforms.export.images import (
    DEFAULT_BLANK_STDDEV,
    DEFAULT_JPEG_QUALITY,
    DEFAULT_MAX_SIDE,
    IMAGE_FORMATS,
    ImageOptions,
)
from transforms.export.order import table_in_shard_order
from transforms.export.parquet import (
    DEFAULT_ROW_GROUP_BYTES,
    ByteBoundedParquetWriter,
    metadata_writer,
)
from transforms.export.paths import (
    METADATA_GLOB,
    PARQUET_GLOB,
    TARS_GLOB,
    metadata_path,
    parquet_path,
    tar_path,
)
from transforms.export.plan import DEFAULT_SHARD_SAMPLES, ExportConfig, ExportPlanCombine
from transforms.export.select import (
    DEFAULT_MAX_ASPECT,
    DEFAULT_MIN_CAPTION_WORDS,
    DEFAULT_MIN_SIDE,
    Selection,
    parse_name_list,
    read_exclusion_list,
)
from transforms.export.splits import DEFAULT_VALIDATION_FRACTION, SPLITS
from transforms.export.text import CAPTION_POLICIES, CLIP_CONTENT_TOKENS, DEFAULT_CAPTION_POLICY
from transforms.export.unit import ExportRecord
from transforms.export.wds import WdsShardWriter


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add(
        "--caption-policy",
        choices=CAPTION_POLICIES,
        default=DEFAULT_CAPTION_POLICY,
        help="the training text: 'panel' = a compound figure's preamble + the panel's own "
        "sub-caption, else the caption (default); 'caption'; 'caption_mentions'",
    )
    add(
        "--text-max-tokens",
        type=int,
        default=CLIP_CONTENT_TOKENS,
        help="CLIP BPE tokens the text is cut to, at a sentence (0: whole; default %(default)s)",
    )
    add("--english-only", action="store_true", help="keep articles in English only")
    add("--split-seed", type=int, default=0, help="seed of the article-level split")
    add(
        "--validation-fraction",
        type=float,
        default=DEFAULT_VALIDATION_FRACTION,
        help="share of articles in the validation split (default %(default)s)",
    )
    add("--order-seed", type=int, default=0, help="seed of the row order within a shard")
    add(
        "--shard-samples",
        type=int,
        default=DEFAULT_SHARD_SAMPLES,
        help="samples per tar and Parquet shard (default %(default)s)",
    )
    add(
        "--row-group-bytes",
        type=int,
        default=DEFAULT_ROW_GROUP_BYTES,
        help="bound on a Parquet row group (default %(default)s; the HF viewer fails past "
        "about 286 MiB)",
    )
    add(
        "--max-side",
        type=int,
        default=DEFAULT_MAX_SIDE,
        help="longer image side after shrinking, 0 keeps full size (default %(default)s)",
    )
    add(
        "--min-side",
        type=int,
        default=DEFAULT_MIN_SIDE,
        help="drop images whose shorter side is below this (default %(default)s)",
    )
    add("--jpeg-quality", type=int, default=DEFAULT_JPEG_QUALITY)
    add(
        "--image-format",
        choices=IMAGE_FORMATS,
        default="keep",
        help="'keep': JPEG stays JPEG, PNG stays PNG",
    )
    add(
        "--blank-stddev",
        type=float,
        default=DEFAULT_BLANK_STDDEV,
        help="drop images whose grey levels vary less (default %(default)s)",
    )
    add(
        "--max-aspect",
        type=float,
        default=DEFAULT_MAX_ASPECT,
        help="drop images more elongated than this (default %(default)s)",
    )
    add(
        "--min-caption-words",
        type=int,
        default=DEFAULT_MIN_CAPTION_WORDS,
        help="drop records whose training text is shorter (default %(default)s)",
    )
    add("--licenses", default="", help="licence families to keep, e.g. 'CC BY,CC0'")
    add("--modalities", default="", help="modality tags to keep, e.g. 'radiology/ct,microscopy'")
    add("--cuis", default="", help="keep records asserting one of these CUIs")
    add("--semgroups", default="", help="keep records asserting one of these semantic groups")
    add("--exclude-pmcids", help="a file of PMCIDs to leave out (takedown requests)")
    add("--dataset-name", default="biomed-curate export", help="for the card and Croissant")
    add(
        "--dataset-url",
        default="https://example.org/biomed-curate",
        help="where the dataset will be published (Croissant `url`)",
    )
    add("--creator", action="append", default=[], help="a creator's name (repeatable)")
    add(
        "--release-date",
        default="",
        help="ISO date for Croissant (default: the newest article year in the export)",
    )


def _exclusions(path: str | None) -> tuple[str, ...]:
    if not path:
        return ()
    with FileSystems.open(path) as handle:
        return tuple(sorted(read_exclusion_list(handle.read().decode("utf-8"))))


def make_config(args: argparse.Namespace) -> ExportConfig:
    selection = Selection(
        licenses=parse_name_list(args.licenses),
        modalities=parse_name_list(args.modalities),
        cuis=parse_name_list(args.cuis),
        semgroups=parse_name_list(args.semgroups),
        english_only=args.english_only,
        exclude_pmcids=_exclusions(args.exclude_pmcids),
        min_side=args.min_side,
        min_caption_words=args.min_caption_words,
        max_aspect=args.max_aspect,
    )
    images = ImageOptions(
        max_side=args.max_side,
        image_format=args.image_format,
        jpeg_quality=args.jpeg_quality,
        blank_stddev=args.blank_stddev,
        max_pixels=args.max_image_pixels,
    )
    return ExportConfig(
        selection=selection,
        images=images,
        caption_policy=args.caption_policy,
        text_max_tokens=args.text_max_tokens,
        split_seed=args.split_seed,
        validation_fraction=args.validation_fraction,
        order_seed=args.order_seed,
        shard_samples=args.shard_samples,
        row_group_bytes=args.row_group_bytes,
        dataset_name=args.dataset_name,
        dataset_url=args.dataset_url,
        creators=tuple(args.creator),
        release_date=args.release_date,
    )


def make_fn(config: ExportConfig) -> ExportRecord:
    return ExportRecord(config)


def outputs(config: ExportConfig) -> list[ShardOutput]:
    """Parquet and tars per split (both splits always), the metadata table over both; each
    shard's rows in the seeded hash order."""
    order = partial(table_in_shard_order, seed=config.order_seed)
    per_split = {
        "partition_field": "split",
        "order": order,
        "rows_per_shard": config.shard_samples,
        "partitions": SPLITS,
    }
    parquet = ByteBoundedParquetWriter(EXPORT_SCHEMA, config.row_group_bytes)
    return [
        ShardOutput(writer=parquet, path=parquet_path, glob=PARQUET_GLOB, **per_split),
        ShardOutput(writer=WdsShardWriter(), path=tar_path, glob=TARS_GLOB, **per_split),
        ShardOutput(
            writer=metadata_writer(config.row_group_bytes),
            path=metadata_path,
            glob=METADATA_GLOB,
            order=order,
            rows_per_shard=config.shard_samples,
        ),
    ]


def finalize(config: ExportConfig, folder: str, input_uri: str) -> None:
    finalize_export(config, folder, input_uri, project_root=Path(__file__).resolve().parents[2])


EXPORT = StageSpec(
    name="export",
    output_kind="export",
    input_kind="deduped",
    add_arguments=add_arguments,
    make_config=make_config,
    make_fn=make_fn,
    unit_key=record_key,
    pool=PoolPass(make_combine=ExportPlanCombine),
    outputs=outputs,
    finalize=finalize,
)
