"""The balance stage: tagged records -> balanced records (MetaCLIP-style curation).

Units are Arrow batches: image bytes and the other columns never become Python objects.
Prepare adds each row's `entries` (extracted once, on the worker that holds the entry
list). The pool pass counts records per entry (pass 1), solves the effective t, and
counts the entries of the rows the keep draw will keep, which is the same deterministic
draw the units make, so the entry-count table gets its after-balancing column from the
pool. The units (pass 2) keep or drop each row.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import apache_beam as beam
import pyarrow as pa

from pipeline.run_stage import PoolCombineFn
from pipeline.sources import read_bytes
from pipeline.stage_spec import ExtraOutput, PoolPass, StageSpec, record_key
from schemas import ENTRY_COUNT_SCHEMA
from transforms.balance.batch import (
    TableEntryCounts,
    add_entries,
    decide_batch,
    kept_keys_and_entries,
)
from transforms.balance.entries import (
    EntryExtractor,
    EntryListMatcher,
    EntryOptions,
    parse_entry_list,
)
from transforms.balance.keep import DEFAULT_T, BalanceOptions, effective_t
from transforms.balance.packed import Packed
from transforms.balance.pool import SAMPLE_SIZE, EntryCountCombine
from transforms.balance.report import BalanceOutcome
from transforms.ledger import StageError, UnitResult

MAX_ENTRY_LIST_BYTES = 1 << 30


@dataclass(frozen=True)
class BalanceConfig:
    entries: EntryOptions
    balance: BalanceOptions


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--t",
        "--balance-t",
        dest="balance_t",
        type=float,
        help=f"records kept per head entry (default {DEFAULT_T}, MetaCLIP's for 400M pairs); "
        "stats.json gives the value used under `t`",
    )
    parser.add_argument(
        "--target-size",
        type=int,
        help="solve t for about this many balanced records (instead of --t)",
    )
    parser.add_argument("--balance-seed", type=int, default=0, help="seed of the keep draw")
    parser.add_argument(
        "--balance-keep-no-entries",
        action="store_true",
        help="keep records with no entry (default: dropped as `no_entries`, as MetaCLIP does)",
    )
    parser.add_argument(
        "--balance-modalities",
        action="store_true",
        help="add each record's modality tags to its entries",
    )
    parser.add_argument(
        "--balance-no-concepts",
        action="store_true",
        help="leave the concepts' CUIs out of the entries (use with an entry list or modalities)",
    )
    parser.add_argument(
        "--balance-every-homonym",
        action="store_true",
        help="a span naming several concepts gives every CUI as an entry (default: the "
        "smallest CUI only, one entry per matched span)",
    )
    parser.add_argument(
        "--entry-list",
        help="entries matched in each panel's own text, MetaCLIP's way: a text file (one a "
        "line) or a JSON list of strings such as MetaCLIP's metadata.json",
    )


@lru_cache(maxsize=4)
def load_entry_list(uri: str) -> tuple[str, ...]:
    return tuple(parse_entry_list(read_bytes(uri, MAX_ENTRY_LIST_BYTES), uri))


def make_config(args: argparse.Namespace) -> BalanceConfig:
    """Options checked before any work: contradictions and a bad entry list fail here."""
    entries = EntryOptions(
        concepts=not args.balance_no_concepts,
        modalities=args.balance_modalities,
        entry_list=args.entry_list or "",
        one_cui_per_span=not args.balance_every_homonym,
    )
    try:
        balance = BalanceOptions(
            t=args.balance_t,
            target_size=args.target_size,
            seed=args.balance_seed,
            keep_no_entries=args.balance_keep_no_entries,
        )
        if not (entries.concepts or entries.modalities or entries.entry_list):
            raise ValueError("balance: --balance-no-concepts needs modalities or an entry list")
        if entries.entry_list:
            load_entry_list(entries.entry_list)
    except (ValueError, OSError) as exc:  # EntryListError is a ValueError
        raise SystemExit(str(exc)) from exc
    return BalanceConfig(entries, balance)


def make_extractor(config: BalanceConfig) -> EntryExtractor:
    uri = config.entries.entry_list
    matcher = EntryListMatcher(load_entry_list(uri)) if uri else None
    return EntryExtractor(config.entries, matcher)


def prepare(config: BalanceConfig):
    extractor = make_extractor(config)
    return lambda batch: add_entries(batch, extractor)


class BalancePass(beam.PTransform):
    """Prepared batches -> one packed `BalanceOutcome` (counts before, t, counts after)."""

    def __init__(self, config: BalanceConfig) -> None:
        super().__init__()
        self.options = config.balance

    def expand(self, batches):
        options = self.options

        def counts(label: str, tables):
            combine = PackedOutput(TableEntryCounts(EntryCountCombine(SAMPLE_SIZE, options.seed)))
            return tables | label >> beam.CombineGlobally(PoolCombineFn(combine))

        # packed from the combine on: Beam weighs every side input object by object, and
        # CombineGlobally's own default-value step reads its result as a side input
        before = counts("CountEntries", batches)
        t = before | "SolveT" >> beam.Map(lambda b: effective_t(b.value(), options))
        kept = batches | "KeptEntries" >> beam.FlatMap(
            _kept, options, beam.pvalue.AsSingleton(before), beam.pvalue.AsSingleton(t)
        ).with_output_types(pa.Table)
        after = counts("CountKept", kept)
        return before | "Outcome" >> beam.Map(
            lambda b, a, t: Packed.of(BalanceOutcome(b.value(), a.value(), t)),
            beam.pvalue.AsSingleton(after),
            beam.pvalue.AsSingleton(t),
        )


class PackedOutput:
    """A pool combine whose output is `Packed`."""

    def __init__(self, combine: TableEntryCounts) -> None:
        self.combine = combine

    def create_accumulator(self):
        return self.combine.create_accumulator()

    def add_input(self, acc, batch):
        return self.combine.add_input(acc, batch)

    def merge_accumulators(self, accumulators):
        return self.combine.merge_accumulators(accumulators)

    def extract_output(self, acc) -> Packed:
        return Packed.of(self.combine.extract_output(acc))


def _kept(batch, options: BalanceOptions, before: Packed, t: float):
    try:
        yield kept_keys_and_entries(batch, before.value(), t, options)
    except StageError:  # the unit pass makes these rows dead letters
        return


def make_fn(config: BalanceConfig):
    options = config.balance

    def balance(batch, pool: Packed) -> UnitResult:
        outcome = pool.value()
        return decide_batch(batch, outcome.before, outcome.t, options)

    return balance


def entry_count_rows(pool: Packed) -> list[pa.Table]:
    """The entry-count table as one element: Beam moves it as one, not one per entry."""
    return [pa.Table.from_pylist(pool.value().rows(), schema=ENTRY_COUNT_SCHEMA)]


def summarise(pool: Packed) -> tuple[dict[str, Any], dict[str, bytes]]:
    """stats.json gets the head/tail statistics and `t`; the plot goes beside it."""
    outcome = pool.value()
    return outcome.stats(), {"entry_counts.png": outcome.plot()}


BALANCE = StageSpec(
    name="balance",
    output_kind="balanced",
    input_kind="tagged",
    add_arguments=add_arguments,
    make_config=make_config,
    make_fn=make_fn,
    unit_key=record_key,
    prepare=prepare,
    staged_paths=("entries.entry_list",),
    pool=PoolPass(make_transform=BalancePass),
    batched=True,
    extra_outputs=(
        ExtraOutput("entry_counts", ENTRY_COUNT_SCHEMA, "entry", from_pool=entry_count_rows),
    ),
    summary=lambda config: summarise,
)
