"""What a stage is to the Beam wiring: its name, its input and output, its function."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from transforms.ledger import UnitResult

StageFn = Callable[[Any], UnitResult]


@dataclass(frozen=True)
class StageSpec:
    name: str
    # folder name of the record kind it writes, e.g. "figures"
    output_kind: str
    # record kind it reads, or None for article sources (extract)
    input_kind: str | None
    add_arguments: Callable[[argparse.ArgumentParser], None]
    # builds a picklable config from the CLI arguments
    make_config: Callable[[argparse.Namespace], Any]
    # builds the unit function from the config, once per worker (DoFn.setup)
    make_fn: Callable[[Any], StageFn]
    # (key, source_uri) of an input unit, for error records
    unit_key: Callable[[Any], tuple[str, str]]


def record_key(record: dict[str, Any]) -> tuple[str, str]:
    return record.get("key") or "", record.get("source_uri") or ""
