"""Build and run one stage, or the chain of stages, as one Beam pipeline."""

from __future__ import annotations

import argparse
import logging
from typing import Any

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

from pipeline.folders import discard_folder, replace_folder, temp_folder_for
from pipeline.options import beam_args_with_defaults, set_single_thread_env
from pipeline.resume import leading_completed, run_record, write_run_record
from pipeline.run_stage import RunStage
from pipeline.sinks import WriteStageFolder, read_stats
from pipeline.sources import ReadArticleSources, ReadRecords
from pipeline.stage_spec import StageSpec
from schemas import SCHEMAS

log = logging.getLogger("biomed_curate")


def stage_folders(specs: list[StageSpec], output: str, chain: bool) -> dict[str, str]:
    """Where each stage writes: OUT itself for one stage, OUT/<kind> in a chain."""
    if not chain:
        return {specs[0].name: output.rstrip("/")}
    return {spec.name: f"{output.rstrip('/')}/{spec.output_kind}" for spec in specs}


def build(
    pipeline: beam.Pipeline,
    specs: list[StageSpec],
    args: argparse.Namespace,
    temp_folders: dict[str, str],
    input_uri: str,
) -> None:
    """Add the stages to `pipeline`, reading `input_uri`; each writes under `temp_folders`."""
    first = specs[0]
    if first.input_kind is None:
        units = pipeline | ReadArticleSources(input_uri)
    else:
        units = pipeline | ReadRecords(input_uri)
    for spec in specs:
        outputs = units | RunStage(spec, spec.make_config(args))
        outputs | WriteStageFolder(
            temp_folders[spec.name],
            spec.name,
            SCHEMAS[spec.output_kind],
            records_per_shard=args.records_per_shard,
        )
        units = outputs["records"]


def run(
    specs: list[StageSpec], args: argparse.Namespace, beam_args: list[str], chain: bool
) -> dict[str, Any]:
    """Run, then move each finished folder into place. Returns stage name -> stats; a stage
    already complete for the same input and options is not run (`up_to_date` in its stats)
    unless `args.force`."""
    set_single_thread_env()
    folders = stage_folders(specs, args.output, chain)
    force = getattr(args, "force", False)
    done, input_uri = ({}, args.input) if force else leading_completed(specs, args, folders)
    stats = {name: {**stage_stats, "up_to_date": True} for name, stage_stats in done.items()}
    specs = specs[len(done) :]
    if not specs:
        return stats
    temps = {spec.name: temp_folder_for(folders[spec.name]) for spec in specs}
    beam_args = beam_args_with_defaults(beam_args)
    if getattr(args, "quiet", False) and not any("sdk_harness_log_level" in a for a in beam_args):
        beam_args.append("--default_sdk_harness_log_level=WARNING")  # worker processes too
    options = PipelineOptions(beam_args)
    try:
        with beam.Pipeline(options=options) as pipeline:
            build(pipeline, specs, args, temps, input_uri)
    except BaseException:
        for temp in temps.values():
            discard_folder(temp)
        raise
    for spec in specs:
        folder = folders[spec.name]
        replace_folder(temps[spec.name], folder)
        stats[spec.name] = read_stats(folder)
        write_run_record(folder, run_record(spec, args, input_uri))
        input_uri = folder
        log.info("%s -> %s", spec.name, folder)
    return stats
