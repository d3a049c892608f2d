"""`python -m pipeline <stage|all> --input IN --output OUT [stage options] [beam options]`."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import uuid
from collections.abc import Iterator

from pipeline.options import unknown_options
from pipeline.prune import is_pruned
from pipeline.runner import run, stage_folders
from pipeline.stages import STAGES
from transforms.extract.images import DEFAULT_MAX_PIXELS


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline",
        allow_abbrev=False,
        description="biomed-curate: run one stage, or `all` of them as one Beam pipeline. "
        "Options the parser does not know go to Beam (e.g. --runner DataflowRunner).",
    )
    parser.add_argument("stage", choices=[*STAGES, "all"])
    parser.add_argument(
        "--input", required=True, help="article files/folder/glob/list, or a stage folder"
    )
    parser.add_argument("--output", required=True, help="the stage folder (for `all`: the parent)")
    parser.add_argument(
        "--records-per-shard",
        type=int,
        default=2000,
        help="Parquet shard size (default %(default)s)",
    )
    parser.add_argument(
        "--max-image-pixels",
        type=int,
        default=DEFAULT_MAX_PIXELS,
        help="decompression-bomb guard for every stage that decodes images: larger images "
        "are dropped (default %(default)s)",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="run every stage, even one whose folder is complete for the same input and options",
    )
    parser.add_argument(
        "--ledger-retries",
        type=int,
        default=1,
        help="run a stage again, up to this many times, when its ledger read back from disk "
        "does not add up (rows lost between steps; seen rarely on the local runner with "
        "several workers under heavy load); only a folder that adds up, or the last "
        "attempt, is committed (default %(default)s)",
    )
    parser.add_argument(
        "--allow-empty",
        action="store_true",
        help="exit 0 even when the input yields no article sources or records",
    )
    parser.add_argument(
        "--no-intermediate",
        action="store_true",
        help="`all` only: keep the records of deduped and export alone; every other stage "
        "keeps its ledger, errors, dropped rows and extra tables (pruned.json says so)",
    )
    parser.add_argument(
        "--quiet",
        action="store_true",
        help="no live progress line; Beam's logs (workers too) go to OUTPUT.beam.log instead "
        "of the terminal",
    )
    for spec in STAGES.values():
        group = parser.add_argument_group(spec.name)
        spec.add_arguments(group)
    return parser


def format_stats(stats: dict) -> str:
    errors = sum(stats["errors"].values())
    dropped = sum(stats["dropped"].values())
    return (
        f"{stats['stage']:>8}: in={stats['in']} with_output={stats['in_with_output']} "
        f"empty={stats['in_empty']} errors={errors} found={stats['found']} out={stats['out']} "
        f"dropped={dropped} ledger_ok={stats['ledger_ok']}"
    )


@contextlib.contextmanager
def stderr_to(path: str) -> Iterator[None]:
    """Send this process's stderr, and so its Beam worker processes', to a file."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    sys.stderr.flush()
    saved = os.dup(2)
    with open(path, "w") as log:
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["explore"]:  # the read-only explorer has its own options
        from explorer.serve import main as explore

        return explore(argv[1:])
    parser = build_parser()
    args, beam_args = parser.parse_known_args(argv)
    ours = [name for name in parser._option_string_actions if name.startswith("--")]
    for name, nearest in unknown_options(beam_args, ours):
        hint = f"; did you mean {nearest}?" if nearest else ""
        parser.error(f"unknown option {name}{hint} (neither a stage's nor Beam's)")
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if (
        "://" not in args.input
        and not any(ch in args.input for ch in "*?[")
        and not os.path.exists(args.input)
    ):
        parser.error(f"--input {args.input!r} does not exist")
    set_filesystem_options(beam_args)
    problem = output_problem(args.output)
    if problem:
        parser.error(f"--output {args.output!r} cannot be written: {problem}")
    chain = args.stage == "all"
    if args.no_intermediate and not chain:
        parser.error("--no-intermediate is for `all`: a single stage's records are its output")
    specs = list(STAGES.values()) if chain else [STAGES[args.stage]]
    if args.quiet and "://" not in args.output:
        log_path = f"{args.output.rstrip('/')}.beam.log"
        with stderr_to(log_path):
            stats = run(specs, args, beam_args, chain)
        print(f"Beam's own log: {log_path}")
    else:
        stats = run(specs, args, beam_args, chain)
    folders = stage_folders(specs, args.output, chain)
    for name, stage_stats in stats.items():
        print(format_stats(stage_stats))
        if stage_stats.get("up_to_date"):
            print("          up to date: same input and options, not run again (--force runs it)")
        if stage_stats["errors"] or stage_stats["dropped"]:
            print(f"          errors={stage_stats['errors']} dropped={stage_stats['dropped']}")
        kept = "" if not is_pruned(folders[name]) else " (records not kept: --no-intermediate)"
        print(f"          -> {folders[name]}{kept}")
    first = next(iter(stats.values()), None)
    if first is not None and first["in"] == 0 and not args.allow_empty:
        print(
            f"no input units in {args.input!r}: an empty folder, a glob that matched nothing "
            "usable, or files that are not articles (see unrecognised-*.parquet). "
            "Pass --allow-empty to accept an empty run.",
            file=sys.stderr,
        )
        return 2
    return 0 if all(s["ledger_ok"] for s in stats.values()) else 1


def set_filesystem_options(beam_args: list[str]) -> None:
    """Object-store options (--s3_endpoint_url, credentials, ...) for the driver's own file
    work: the output probe, resume and folder replacement, before any pipeline exists."""
    from apache_beam.io.filesystems import FileSystems
    from apache_beam.options.pipeline_options import PipelineOptions

    FileSystems.set_options(PipelineOptions(beam_args))


def output_problem(output: str) -> str | None:
    """Why `output` cannot be written, found before any work starts (None: it can)."""
    from apache_beam.io.filesystems import FileSystems

    probe = f"{output.rstrip('/')}.write-probe-{uuid.uuid4().hex[:8]}"
    try:
        if "://" not in output:
            os.makedirs(os.path.dirname(os.path.abspath(output)) or ".", exist_ok=True)
        with FileSystems.create(probe) as handle:
            handle.write(b"probe")  # S3 rejects an empty multipart upload
        FileSystems.delete([probe])
    except ValueError as exc:  # Beam: no filesystem for the scheme (a missing extra)
        scheme = output.split("://", 1)[0]
        extra = {"s3": "aws", "gs": "gcp"}.get(scheme, "aws,gcp")
        return f"{exc}; install the extra: pip install -e '.[{extra}]'"
    except Exception as exc:  # noqa: BLE001 - any failure to write is the answer
        return f"{type(exc).__name__}: {exc}"
    return None


if __name__ == "__main__":
    sys.exit(main())
