"""Build and run one stage, or the chain of stages: one Beam pipeline per stage, so each
stage's folder is committed as soon as that stage is complete and a rerun after a crash
resumes at the first stage that is not (pipeline/resume.py)."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import shutil
import tempfile
import time
from typing import Any

import apache_beam as beam
import pyarrow as pa
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions, S3Options

from pipeline.folders import (
    clean_stale_folders,
    discard_folder,
    replace_folder,
    temp_folder_for,
)
from pipeline.ledger_check import rows_written, write_checked_stats
from pipeline.options import beam_args_with_defaults, runner_name, set_single_thread_env
from pipeline.progress import CountInto, StageProgress, write_total
from pipeline.prune import prune_before
from pipeline.resume import leading_completed, run_record, write_run_record
from pipeline.run_stage import ERRORS, RECORDS, RunStage
from pipeline.sinks import (
    DEAD_LETTERS_PER_SHARD,
    WriteShards,
    WriteStageFolder,
    parquet_table,
    read_stats,
)
from pipeline.sources import LISTING, UNITS, UNRECOGNISED, ReadArticleSources, ReadRecords
from pipeline.stage_spec import StageSpec
from pipeline.staging import stage_config_files
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
    progress: str | None = None,
) -> None:
    """Add the stages to `pipeline`, reading `input_uri`; each writes under `temp_folders`.
    With `progress` (a local folder), workers count units and errors there as they go."""
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
        config = stage_config_files(spec.make_config(args), spec.staged_paths, pipeline.options)
        outputs = units | RunStage(spec, config)
        if progress:
            count_progress(
                spec, progress, units, outputs[ERRORS], listing if spec is first else None
            )
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


def count_progress(spec: StageSpec, folder: str, units, errors, listing=None) -> None:
    name = spec.name
    units | f"Progress[{name}:done]" >> beam.ParDo(CountInto(folder, name, "done"))
    errors | f"Progress[{name}:errors]" >> beam.ParDo(CountInto(folder, name, "errors"))
    if listing is not None:  # extract's units: the article files and listing errors found
        listing | f"Progress[{name}:total]" >> beam.Map(
            lambda n: write_total(folder, name, n.get("article_files", 0) + n.get("errors", 0))
        )


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


def run_stage_pipeline(
    spec: StageSpec,
    args: argparse.Namespace,
    options: PipelineOptions,
    folder: str,
    input_uri: str,
    progress: str | None,
) -> tuple[dict[str, Any], int]:
    """Run one stage as its own Beam pipeline, check its ledger and commit its folder; a
    ledger that does not add up runs the stage again, up to --ledger-retries times.
    Returns its stats and the attempts made."""
    record = run_record(spec, args, input_uri)  # before the run: what it was made from
    retries = max(0, getattr(args, "ledger_retries", 0))
    for attempt in range(1, retries + 2):
        temp = temp_folder_for(folder)
        try:
            if progress and spec.input_kind is not None:
                write_total(progress, spec.name, rows_written(input_uri, "data-*.parquet"))
            with StageProgress(progress or "", spec.name, enabled=bool(progress)):
                with beam.Pipeline(options=options) as pipeline:
                    build(pipeline, [spec], args, {spec.name: temp}, input_uri, progress)
            check_folders([spec], args, {spec.name: temp}, input_uri)
            checked = read_stats(temp)
        except BaseException:
            discard_folder(temp)
            raise
        if checked.get("ledger_ok") or attempt > retries:
            break
        log.warning(
            "%s: attempt %d lost rows (in %s of %s expected; found %s, out %s); running it again",
            spec.name,
            attempt,
            checked.get("in"),
            checked.get("in_expected"),
            checked.get("found"),
            checked.get("out"),
        )
        discard_folder(temp)
    replace_folder(temp, folder)
    if spec.finalize is not None:  # before run.json: a failed finalize reruns the stage
        spec.finalize(spec.make_config(args), folder, input_uri)
    write_run_record(folder, record)
    log.info("%s -> %s", spec.name, folder)
    return read_stats(folder), attempt


# Beam's S3 options, as the environment variables boto3 reads in FnApiRunner's worker
# processes, which are started without the pipeline options (their FileSystems have none)
S3_ENV = {
    "s3_access_key_id": "AWS_ACCESS_KEY_ID",
    "s3_secret_access_key": "AWS_SECRET_ACCESS_KEY",
    "s3_session_token": "AWS_SESSION_TOKEN",
    "s3_endpoint_url": "AWS_ENDPOINT_URL_S3",
    "s3_region_name": "AWS_DEFAULT_REGION",
}


@contextlib.contextmanager
def s3_options_in_environment(options: PipelineOptions):
    """Export the S3 options given for the run to local worker processes, then restore."""
    s3 = options.view_as(S3Options)
    given = {env: getattr(s3, name) for name, env in S3_ENV.items() if getattr(s3, name)}
    saved = {env: os.environ.get(env) for env in given}
    os.environ.update(given)
    try:
        yield
    finally:
        for env, value in saved.items():
            if value is None:
                os.environ.pop(env, None)
            else:
                os.environ[env] = value


def shows_progress(args: argparse.Namespace, beam_args: list[str]) -> bool:
    """A live bar for local runners (workers share the driver's disk), unless --quiet."""
    local = runner_name(beam_args) in ("FnApiRunner", "DirectRunner")
    return local and not getattr(args, "quiet", False)


def run(
    specs: list[StageSpec], args: argparse.Namespace, beam_args: list[str], chain: bool
) -> dict[str, Any]:
    """Run each stage that is not already complete, one Beam pipeline per stage, committing
    its folder when it ends. Returns stage name -> stats; a stage already complete for the
    same input and options is not run (`up_to_date` in its stats) unless `args.force`. A
    chain run (re)writes `OUT/run.json` at its end, also when a stage failed."""
    started = time.time()
    set_single_thread_env()
    beam_args = beam_args_with_defaults(beam_args)
    if getattr(args, "quiet", False) and not any("sdk_harness_log_level" in a for a in beam_args):
        beam_args.append("--default_sdk_harness_log_level=WARNING")  # worker processes too
    options = PipelineOptions(beam_args)
    FileSystems.set_options(options)  # object-store credentials/endpoints for the driver too
    folders = stage_folders(specs, args.output, chain)
    for folder in folders.values():
        for stale in clean_stale_folders(folder, started):
            log.warning("removed %s, left by an earlier run that did not finish", stale)
    force = getattr(args, "force", False)
    done, input_uri = ({}, args.input) if force else leading_completed(specs, args, folders)
    stats = {name: {**stage_stats, "up_to_date": True} for name, stage_stats in done.items()}
    seconds: dict[str, float] = {}
    attempts: dict[str, int] = {}
    progress = (
        tempfile.mkdtemp(prefix="biomed-progress-") if shows_progress(args, beam_args) else None
    )
    failed = None
    try:
        with s3_options_in_environment(options):
            for spec in specs[len(done) :]:
                failed, begun = spec.name, time.monotonic()
                stats[spec.name], attempts[spec.name] = run_stage_pipeline(
                    spec, args, options, folders[spec.name], input_uri, progress
                )
                seconds[spec.name], failed = time.monotonic() - begun, None
                input_uri = folders[spec.name]
                if not stats[spec.name].get("ledger_ok"):
                    # rows were lost or never counted: later stages would build on that;
                    # the folder stays for a look, and resume runs this stage again
                    failed = spec.name
                    log.error("%s: its ledger does not add up; the chain stops", spec.name)
                    break
                if getattr(args, "no_intermediate", False):
                    for name in prune_before([s.name for s in specs], spec.name, folders):
                        log.info("--no-intermediate: removed the records of %s", name)
    finally:
        if progress:
            shutil.rmtree(progress, ignore_errors=True)
        if chain:
            write_chain_record(args, stats, seconds, attempts, failed, time.time() - started)
    return stats


def write_chain_record(
    args: argparse.Namespace,
    stats: dict[str, dict[str, Any]],
    seconds: dict[str, float],
    attempts: dict[str, int],
    failed: str | None,
    total_seconds: float,
) -> None:
    """`OUT/run.json`: per stage, the input units taken whole from an earlier run
    (`units_reused`) or run now (`units_run`), its seconds, the attempts it took (a
    ledger that did not add up is run again) and its ledger."""
    stages = {}
    for name, stage_stats in stats.items():
        reused = bool(stage_stats.get("up_to_date"))
        ledger = {k: v for k, v in stage_stats.items() if k != "up_to_date"}
        stages[name] = {
            "units_reused": ledger.get("in", 0) if reused else 0,
            "units_run": 0 if reused else ledger.get("in", 0),
            "seconds": round(seconds.get(name, 0.0), 3),
            "attempts": attempts.get(name, 0),
            "ledger": ledger,
        }
    record = {
        "input": args.input,
        "output": args.output.rstrip("/"),
        "complete": failed is None,
        "failed_stage": failed,
        "seconds": round(total_seconds, 3),
        "stages": stages,
    }
    path = f"{args.output.rstrip('/')}/run.json"
    if "://" not in path:
        os.makedirs(os.path.dirname(path), exist_ok=True)
    with FileSystems.create(path) as handle:
        handle.write(json.dumps(record, indent=2).encode("utf-8"))
