"""Beam options with local defaults that work offline."""

from __future__ import annotations

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
