"""Build and run one stage, or the chain of stages, as one Beam pipeline."""

from __future__ import annotations

import argparse
import logging
from typing import Any

import apache_beam as beam
import pyarrow as pa
from apache_beam.options.pipeline_options import PipelineOptions

from pipeline.folders import discard_folder, replace_folder, temp_folder_for
from pipeline.ledger_check import rows_written, write_checked_stats
from pipeline.options import beam_args_with_defaults, set_single_thread_env
from pipeline.resume import leading_completed, run_record, write_run_record
from pipeline.run_stage import RECORDS, RunStage
from pipeline.sinks import (
    DEAD_LETTERS_PER_SHARD,
    WriteShards,
    WriteStageFolder,
    parquet_table,
    read_stats,
)
from pipeline.sources import LISTING, UNITS, UNRECOGNISED, ReadArticleSources, ReadRecords
from pipeline.stage_spec import StageSpec
from schemas import SCHEMAS, UNRECOGNISED_SCHEMA

log = logging.getLogger("biomed_curate")


def stage_folders(specs: list[StageSpec], output: str, chain: bool) -> dict[str, str]:
    """Where each stage writes: OUT itself for one stage, OUT/<kind> in a chain."""
    if not chain:
        return {specs[0].name: output.rstrip("/")}
    return {spec.name: f"{output.rstrip('/')}/{spec.output_kind}" for spec in specs}


def to_rows(element: Any) -> list[dict[str, Any]]:
    return [element] if isinstance(element, dict) else element.to_pylist()


def units_for(spec: StageSpec, records, label: str):
    """Records as the next stage takes them: dicts, or RecordBatches when it is batched."""
    rows = records | f"Rows[{label}]" >> beam.FlatMap(to_rows)
    if not spec.batched:
        return rows
    schema = SCHEMAS[spec.input_kind]
    return (
        rows
        | f"Batch[{label}]" >> beam.BatchElements(min_batch_size=256, max_batch_size=8192)
        | f"Arrow[{label}]" >> beam.Map(lambda rs: pa.RecordBatch.from_pylist(rs, schema=schema))
    )


def records_glob(spec: StageSpec, config: Any) -> str:
    return spec.outputs(config)[0].glob if spec.outputs else "data-*.parquet"


def build(
    pipeline: beam.Pipeline,
    specs: list[StageSpec],
    args: argparse.Namespace,
    temp_folders: dict[str, str],
    input_uri: str,
) -> None:
    """Add the stages to `pipeline`, reading `input_uri`; each writes under `temp_folders`."""
    first = specs[0]
    listing = None
    if first.input_kind is None:
        read = pipeline | ReadArticleSources(input_uri)
        units, listing = read[UNITS], read[LISTING]
        read[UNRECOGNISED] | "Unrecognised" >> WriteShards(
            temp_folders[first.name],
            UNRECOGNISED,
            parquet_table(UNRECOGNISED, UNRECOGNISED_SCHEMA),
            UNRECOGNISED_SCHEMA,
            DEAD_LETTERS_PER_SHARD,
            key_field="path",
        )
    else:
        units = pipeline | ReadRecords(input_uri, batched=first.batched)
    for spec in specs:
        config = spec.make_config(args)
        outputs = units | RunStage(spec, config)
        outputs | WriteStageFolder(
            temp_folders[spec.name],
            spec.name,
            SCHEMAS[spec.output_kind],
            records_per_shard=args.records_per_shard,
            outputs=spec.outputs(config) if spec.outputs else None,
            extra_outputs=spec.extra_outputs,
            listing=listing if spec is first else None,
            summary=spec.summary(config) if spec.summary else None,
        )
        units = outputs[RECORDS]
        following = specs[specs.index(spec) + 1 :]
        if following:
            units = units_for(following[0], units, spec.name)


def check_folders(
    specs: list[StageSpec], args: argparse.Namespace, temps: dict[str, str], input_uri: str
) -> None:
    """Replace each unit-side `stats.json` with the one read back from the written files."""
    for spec in specs:
        folder = temps[spec.name]
        if spec.input_kind is None:
            listing = read_stats(folder).get("listing", {})
            in_expected = listing.get("article_files", 0) + listing.get("errors", 0)
        else:
            in_expected = rows_written(input_uri, "data-*.parquet")
        write_checked_stats(folder, records_glob(spec, spec.make_config(args)), in_expected)
        input_uri = folder


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
        check_folders(specs, args, temps, input_uri)
    except BaseException:
        for temp in temps.values():
            discard_folder(temp)
        raise
    for spec in specs:
        folder = folders[spec.name]
        replace_folder(temps[spec.name], folder)
        if spec.finalize is not None:  # before run.json: a failed finalize reruns the stage
            spec.finalize(spec.make_config(args), folder, input_uri)
        stats[spec.name] = read_stats(folder)
        write_run_record(folder, run_record(spec, args, input_uri))
        input_uri = folder
        log.info("%s -> %s", spec.name, folder)
    return stats
