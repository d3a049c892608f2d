"""Beam options with local defaults that work offline."""

from __future__ import annotations

import argparse
import difflib
import os

# One numeric thread per worker process: Beam already runs one worker per core.
THREAD_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
    "VECLIB_MAXIMUM_THREADS": "1",
    "TOKENIZERS_PARALLELISM": "false",
}


def set_single_thread_env() -> None:
    """Set before Beam starts its workers, which inherit the environment."""
    for name, value in THREAD_ENV.items():
        os.environ.setdefault(name, value)


def _has_flag(args: list[str], flag: str) -> bool:
    return any(a == flag or a.startswith(flag + "=") for a in args)


def beam_args_with_defaults(beam_args: list[str]) -> list[str]:
    """Name the runner explicitly: the default DirectRunner first tries to download Prism."""
    args = list(beam_args)
    if not _has_flag(args, "--runner"):
        args.append("--runner=FnApiRunner")
    runner = runner_name(args)
    if runner in ("FnApiRunner", "DirectRunner"):
        if not _has_flag(args, "--direct_running_mode"):
            args.append("--direct_running_mode=multi_processing")
        if not _has_flag(args, "--direct_num_workers"):
            args.append("--direct_num_workers=0")
    return args


def runner_name(args: list[str]) -> str:
    for i, arg in enumerate(args):
        if arg.startswith("--runner="):
            return arg.split("=", 1)[1]
        if arg == "--runner" and i + 1 < len(args):
            return args[i + 1]
    return ""


def _subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_subclasses(sub))
    return found


def beam_option_names() -> set[str]:
    """Every `--option` that Beam's PipelineOptions classes declare (runners included)."""
    from apache_beam.options.pipeline_options import PipelineOptions

    parser = argparse.ArgumentParser(add_help=False, conflict_handler="resolve")
    for cls in _subclasses(PipelineOptions):
        try:
            cls._add_argparse_args(parser)
        except (argparse.ArgumentError, TypeError, ValueError):
            continue  # a class whose options clash with another's: the other declares them
    return {name for name in parser._option_string_actions if name.startswith("--")}


def unknown_options(beam_args: list[str], ours: list[str]) -> list[tuple[str, str | None]]:
    """Options neither ours nor Beam's, each with the nearest known name (or None)."""
    beam = beam_option_names()
    known = sorted(beam | set(ours))
    unknown = []
    for arg in beam_args:
        if not arg.startswith("--"):
            continue  # a value of the option before it
        name = arg.split("=", 1)[0]
        if name in beam:
            continue
        nearest = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        unknown.append((name, nearest[0] if nearest else None))
    return unknown
