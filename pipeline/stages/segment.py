"""The segment stage: figure records -> panel records."""

from __future__ import annotations

import argparse

from pipeline.stage_spec import StageSpec, record_key
from transforms.segment.panel_types import SegmentConfig
from transforms.segment.segmenter import Segmenter, SegmentStageConfig

_DEFAULTS = SegmentConfig()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--keep-parent",
        action="store_true",
        help="also write each compound figure whole, keyed by the figure key",
    )
    parser.add_argument(
        "--work-side",
        type=int,
        default=_DEFAULTS.work_side,
        help="longest side of the image the layout is analysed on (default %(default)s)",
    )
    parser.add_argument(
        "--min-panel-side",
        type=float,
        default=_DEFAULTS.min_side,
        help="a panel spans at least this share of the figure's width and height "
        "(default %(default)s)",
    )
    parser.add_argument(
        "--separator-tolerance",
        type=int,
        default=_DEFAULTS.uniform_tol,
        help="grey-level range of a separator row or column (default %(default)s)",
    )


def make_config(args: argparse.Namespace) -> SegmentStageConfig:
    segment = SegmentConfig(
        work_side=args.work_side,
        min_side=args.min_panel_side,
        uniform_tol=args.separator_tolerance,
    )
    return SegmentStageConfig(
        keep_parent=args.keep_parent, max_image_pixels=args.max_image_pixels, segment=segment
    )


def make_fn(config: SegmentStageConfig) -> Segmenter:
    return Segmenter(config)


SEGMENT = StageSpec(
    name="segment",
    output_kind="panels",
    input_kind="figures",
    add_arguments=add_arguments,
    make_config=make_config,
    make_fn=make_fn,
    unit_key=record_key,
)
