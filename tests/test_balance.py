"""The balance stage's logic: entries, the count combine, the keep draw, t, the report."""

from __future__ import annotations

import io
import math
import pickle
import random
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pytest
from PIL import Image

from metadata.lexicon import load_default
from schemas import (
    BALANCED_SCHEMA,
    ENTRY_COUNT_SCHEMA,
    PANEL_SCHEMA,
    TAGGED_SCHEMA,
    new_record,
    to_table,
)
from transforms.balance.batch import (
    TableEntryCounts,
    add_entries,
    decide_batch,
    kept_keys_and_entries,
)
from transforms.balance.entries import (
    EntryExtractor,
    EntryOptions,
)
from transforms.balance.keep import (
    BalanceOptions,
    Balancer,
    count_combine,
    draw,
    expected_share,
    keep_probability,
    solve_t,
)
from transforms.balance.plot import plot_entry_counts
from transforms.balance.pool import EntryCountCombine, EntryCounts, batch_counts
from transforms.balance.report import balance_stats, entry_count_rows
from transforms.ledger import Ledger, StageError, run_unit
from transforms.tag.concepts import ConceptMatcher
from transforms.tag.tagger import Tagger

CONCEPTS_ONLY = EntryExtractor(EntryOptions())


def tagged(key: str, entries: list[str] | None = None, **fields) -> dict:
    record = new_record(TAGGED_SCHEMA, key=key, source_uri=f"file:///{key}.xml", **fields)
    if entries is not None:
        record["entries"] = entries
    return record


def count(records: list[dict], sample_size: int = 0, seed: int = 0) -> EntryCounts:
    combine = EntryCountCombine(sample_size, seed)
    acc = combine.create_accumulator()
    for record in records:
        combine.add_input(acc, record["entries"], key=record["key"])
    return combine.extract_output(acc)


def balance(records: list[dict], options: BalanceOptions, pool: EntryCounts | None = None):
    pool = pool or count(records, sample_size=10_000, seed=options.seed)
    balancer = Balancer(CONCEPTS_ONLY, options)
    results = [balancer(record, pool) for record in records]
    kept = [r for result in results for r in result.records]
    return pool, kept, results


def single_entry_pool(sizes: dict[str, int]) -> list[dict]:
    return [tagged(f"PMC{e}/F{i}", [e]) for e, n in sizes.items() for i in range(n)]


def binomial_bound(n: int, p: float) -> float:
    return 4 * math.sqrt(n * p * (1 - p)) + 1  # 4 sigma: fails ~1 in 15,000 seeds


# --- the keep draw --------------------------------------------------------------------


def test_head_entries_cut_to_t_and_tail_entries_keep_everything() -> None:
    sizes = {"head": 5000, "neck": 1200, "shoulder": 250, "tail": 100, "tip": 3}
    t = 100
    _, kept, _ = balance(single_entry_pool(sizes), BalanceOptions(t=t, seed=7))
    after = Counter(e for r in kept for e in r["entries"])
    for entry, size in sizes.items():
        p = min(1.0, t / size)
        if p == 1.0:  # tail safety: nothing lost
            assert after[entry] == size
        else:  # the observed keep rate matches t/c within a binomial bound
            assert abs(after[entry] - size * p) <= binomial_bound(size, p), entry
            assert all(r["keep_prob"] == pytest.approx(p) for r in kept if r["entries"] == [entry])


def test_keep_prob_worked_example_and_its_empirical_rate() -> None:
    # a record with entries counted 200 and 400 at t = 100: 1 - (1 - 1/2)(1 - 1/4) = 0.625
    assert keep_probability([200, 400], 100) == pytest.approx(0.625)
    assert keep_probability([200, 400, 50], 100) == 1.0  # a tail entry keeps it
    assert keep_probability([], 100) == 0.0
    pool = EntryCounts({"a": 200, "b": 400}, {}, 4000, 0, ())
    records = [tagged(f"PMC9/F{i}", ["a", "b"]) for i in range(4000)]
    _, kept, _ = balance(records, BalanceOptions(t=100, seed=3), pool)
    assert {r["keep_prob"] for r in kept} == {0.625}
    assert abs(len(kept) - 2500) <= binomial_bound(4000, 0.625)


def test_draw_is_a_seeded_hash_of_seed_entry_and_key() -> None:
    assert draw(1, "C0040405", "PMC1/F1") == draw(1, "C0040405", "PMC1/F1")
    values = {draw(s, e, k) for s in (1, 2) for e in ("a", "b") for k in ("PMC1/F1", "PMC1/F2")}
    assert len(values) == 8 and all(0.0 <= v < 1.0 for v in values)


def test_same_output_across_runs_input_order_and_partitions() -> None:
    generator = random.Random(11)
    records = [
        tagged(
            f"PMC{i}/F1",
            sorted(set(generator.choices("abcdefgh", [40, 20, 9, 5, 3, 2, 1, 1], k=3))),
        )
        for i in range(3000)
    ]
    options = BalanceOptions(t=150, seed=5)
    pool, kept, _ = balance(records, options)
    _, kept_again, _ = balance(records, options)
    assert kept == kept_again
    shuffled = records[::-1]
    _, kept_reversed, _ = balance(shuffled, options)
    assert sorted(r["key"] for r in kept_reversed) == sorted(r["key"] for r in kept)
    # counting in two partitions merged in either order gives the same pool, sample included
    combine = EntryCountCombine(sample_size=500, seed=5)
    parts = [combine.create_accumulator(), combine.create_accumulator()]
    for index, record in enumerate(shuffled):
        combine.add_input(parts[index % 2], record["entries"], key=record["key"])
    single = count(records, sample_size=500, seed=5)
    for order in (parts, parts[::-1]):
        assert combine.extract_output(combine.merge_accumulators(order)) == single
    assert len(single.sample) == 500
    # another seed draws another subset
    _, kept_other, _ = balance(records, BalanceOptions(t=150, seed=6))
    assert {r["key"] for r in kept_other} != {r["key"] for r in kept}


def test_ledger_found_is_out_plus_not_sampled_plus_no_entries() -> None:
    records = single_entry_pool({"head": 400, "tail": 5}) + [tagged("PMC0/F1", [])]
    pool, kept, results = balance(records, BalanceOptions(t=50))
    ledger = Ledger.total(Ledger.of(result) for result in results)
    assert ledger.ok and ledger.inputs == ledger.found == len(records)
    assert ledger.out == len(kept)
    assert ledger.found == ledger.out + ledger.dropped["not_sampled"] + ledger.dropped["no_entries"]
    assert ledger.dropped["no_entries"] == 1 and ledger.dropped["not_sampled"] > 300
    dropped = next(d for r in results for d in r.drops if d.reason == "not_sampled")
    assert "keep_prob=0.125" in dropped.detail and "head (400)" in dropped.detail
    assert dropped.source_uri.startswith("file:///PMChead/")
    for record in kept:
        assert list(record) == BALANCED_SCHEMA.names
    to_table(BALANCED_SCHEMA, kept)


def test_records_without_entries_dropped_by_default_or_kept_by_option() -> None:
    record = tagged("PMC3/F1", concepts=[{"cui": "C1", "name": "x", "negated": True}])
    pool = count([{"key": "PMC3/F1", "entries": []}])
    (drop,) = Balancer(CONCEPTS_ONLY, BalanceOptions(t=5))(record, pool).drops
    assert drop.reason == "no_entries"
    (kept,) = Balancer(CONCEPTS_ONLY, BalanceOptions(t=5, keep_no_entries=True))(
        record, pool
    ).records
    assert kept["entries"] == [] and kept["keep_prob"] == 1.0


def test_an_entry_missing_from_the_counts_is_a_dead_letter() -> None:
    pool = count([{"key": "PMC1/F1", "entries": ["a"]}])
    balancer = Balancer(CONCEPTS_ONLY, BalanceOptions(t=5))
    result = run_unit(lambda r: balancer(r, pool), tagged("PMC1/F2", ["b"]), "PMC1/F2", "")
    assert result.error is not None and result.error.error_type == "entry_not_counted"


def test_options_reject_contradictions() -> None:
    with pytest.raises(ValueError, match="not both"):
        BalanceOptions(t=10, target_size=100)
    with pytest.raises(ValueError, match="positive"):
        BalanceOptions(t=0)


# --- t from a target size -------------------------------------------------------------


def zipf_records(n: int, entries: int, seed: int) -> list[dict]:
    generator = random.Random(seed)
    weights = [1 / rank for rank in range(1, entries + 1)]
    names = [f"e{rank}" for rank in range(entries)]
    return [
        tagged(
            f"PMC{i}/F1", sorted(set(generator.choices(names, weights, k=generator.randint(1, 4))))
        )
        for i in range(n)
    ]


def test_target_size_solves_t_within_five_percent() -> None:
    records = zipf_records(20_000, 2000, seed=2)
    pool = count(records, sample_size=4000, seed=9)
    for target in (2000, 8000):
        options = BalanceOptions(target_size=target, seed=9)
        _, kept, _ = balance(records, options, pool)
        assert abs(len(kept) - target) <= 0.05 * target, (target, len(kept))
        t = solve_t(pool, target)
        assert expected_share(pool.sample, pool.counts, t) == pytest.approx(target / 20_000, 1e-3)
    # a target above what any t keeps keeps everything: t is the largest count
    assert solve_t(pool, 10**9) == max(pool.counts.values())
    with pytest.raises(ValueError, match="needs the count pass's sample"):
        solve_t(count(records, sample_size=0), 2000)
    assert count_combine(BalanceOptions(target_size=5, seed=9)).seed == 9


def test_target_size_counts_kept_records_without_entries() -> None:
    records = zipf_records(4000, 300, seed=5) + [tagged(f"PMC0/F{i}", []) for i in range(1000)]
    pool = count(records, sample_size=5000, seed=1)
    options = BalanceOptions(target_size=2500, keep_no_entries=True, seed=1)
    _, kept, _ = balance(records, options, pool)
    assert sum(not r["entries"] for r in kept) == 1000
    assert abs(len(kept) - 2500) <= 0.05 * 2500


# --- counting -------------------------------------------------------------------------


def test_batch_counts_match_per_record_counting_and_names_merge() -> None:
    lists = [["a", "b"], [], ["b"], None, ["c", "a", "b"]]
    counts, records, empty = batch_counts(pa.array(lists, pa.list_(pa.string())))
    assert counts == Counter({"b": 3, "a": 2, "c": 1}) and (records, empty) == (5, 2)
    combine = EntryCountCombine()
    by_batch = combine.add_counts(combine.create_accumulator(), counts, records, empty)
    by_record = combine.create_accumulator()
    for entries in lists:
        combine.add_input(by_record, entries or [])
    assert combine.extract_output(by_batch) == combine.extract_output(by_record)
    named = combine.add_input(combine.create_accumulator(), {"C0040405": "CT", "ct": "ct"})
    named = combine.add_input(named, {"C0040405": "CT"})
    assert combine.extract_output(named).names == {"C0040405": "CT"}
    assert combine.extract_output(named).counts == {"C0040405": 2, "ct": 1}


# --- the report -----------------------------------------------------------------------


def test_entry_count_table_stats_and_plot() -> None:
    sizes = {"head": 900, "neck": 300, "tail": 40, "tip": 2}
    records = single_entry_pool(sizes) + [tagged("PMC0/F0", [])]
    pool, kept, _ = balance(records, BalanceOptions(t=60, seed=1, keep_no_entries=True))
    after = count(kept, sample_size=10_000)
    rows = entry_count_rows(pool, after)
    to_table(ENTRY_COUNT_SCHEMA, rows)
    assert [r["entry"] for r in rows] == ["head", "neck", "tail", "tip"]
    assert [r["count_after"] for r in rows[2:]] == [40, 2]
    stats = balance_stats(pool, after, 60)
    assert stats["head_entries"] == 2 and stats["tail_entries"] == 2
    assert stats["head_pair_share_before"] == pytest.approx(1200 / 1242, abs=1e-6)
    assert stats["head_pair_share_after"] < 0.8 < stats["head_pair_share_before"]
    assert stats["records_without_entries"] == 1 and stats["records_after"] == len(kept)
    png = plot_entry_counts(pool.counts.values(), after.counts.values(), 60)
    assert png == plot_entry_counts(pool.counts.values(), after.counts.values(), 60)
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.size == (800, 500)
    # the curves are drawn: both series' colours are on the canvas
    colours = {colour for _, colour in image.convert("RGB").getcolors(1 << 16)}
    assert {(31, 119, 180), (255, 127, 14)} <= colours


# --- real captions --------------------------------------------------------------------


@pytest.fixture(scope="module")
def roco_tagged(testdata: Path) -> list[dict]:
    """ROCO's 1,212 real captions, tagged by the tag stage with the bundled lexicon."""
    tagger = Tagger(ConceptMatcher(load_default()))
    records = []
    for path in sorted((testdata / "captions").glob("ROCO_test_*_captions.txt")):
        for line in path.read_text("utf-8").splitlines():
            key, _, caption = line.partition("\t")
            panel = new_record(PANEL_SCHEMA, key=key, caption=caption.strip(), source_uri=path.name)
            records.extend(tagger(panel).records)
    assert len(records) == 1212
    return records


def balance_real(records: list[dict], extractor: EntryExtractor, t: float):
    combine = EntryCountCombine(sample_size=2000, seed=4)
    acc = combine.create_accumulator()
    for record in records:
        combine.add_input(acc, extractor(record), key=record["key"])
    before = combine.extract_output(acc)
    balancer = Balancer(extractor, BalanceOptions(t=t, seed=4))
    results = [balancer(record, before) for record in records]
    ledger = Ledger.total(Ledger.of(result) for result in results)
    assert ledger.ok and ledger.found == 1212
    assert ledger.dropped["no_entries"] == before.no_entries
    kept = [r for result in results for r in result.records]
    after = count(kept, sample_size=2000)
    rows = {row["entry"]: row for row in entry_count_rows(before, after)}
    tail = [row for row in rows.values() if row["count_before"] <= t]
    assert tail and all(row["count_after"] == row["count_before"] for row in tail)
    return rows, balance_stats(before, after, t)


@pytest.mark.realdata
def test_real_captions_modality_head_is_capped_and_tail_kept(roco_tagged: list[dict]) -> None:
    extractor = EntryExtractor(EntryOptions(concepts=False, modalities=True))
    rows, stats = balance_real(roco_tagged, extractor, t=10)
    ct = rows["radiology/ct"]
    assert ct["count_before"] > 150 and ct["count_after"] < 0.25 * ct["count_before"]
    head = [row for row in rows.values() if row["count_before"] > 10]
    assert len(head) >= 5 and all(row["count_after"] < row["count_before"] for row in head)
    assert stats["head_pair_share_after"] < stats["head_pair_share_before"] - 0.15


@pytest.mark.realdata
def test_real_captions_concept_head_shrinks(roco_tagged: list[dict]) -> None:
    # concept-dense captions: most records also hold a tail concept, which keeps them
    rows, stats = balance_real(roco_tagged, CONCEPTS_ONLY, t=3)
    assert rows["C0040405"]["name"] == "X-Ray Computed Tomography"
    assert rows["C0040405"]["count_after"] < 0.9 * rows["C0040405"]["count_before"]
    assert stats["head_pair_share_after"] < stats["head_pair_share_before"]
    assert stats["records_after"] < 0.75 * 1212


def test_plot_draws_both_curves_and_the_cap() -> None:
    png = plot_entry_counts([900, 300, 40, 2], [70, 60, 40, 2], 60)
    image = Image.open(io.BytesIO(png)).convert("RGB")
    assert image.size == (800, 500)
    colours = {colour for _, colour in image.getcolors(1 << 16)}
    # before, after, and the dashed line at t
    assert {(31, 119, 180), (255, 127, 14), (120, 120, 120)} <= colours


def test_batched_path_keeps_exactly_what_the_record_path_keeps() -> None:
    generator = random.Random(8)
    cuis = [f"C{n:07d}" for n in range(30)]
    records = [
        tagged(
            f"PMC{i}/F1",
            concepts=[
                {"cui": c, "name": f"n{c}", "start": j, "end": j + 1, "negated": j == 2}
                for j, c in enumerate(
                    generator.choices(cuis, [1 / (r + 1) for r in range(30)], k=3)
                )
            ],
            caption=f"Figure {i}.",
        )
        for i in range(600)
    ]
    options = BalanceOptions(t=25, seed=2)
    per_record = [{**r, "entries": list(CONCEPTS_ONLY(r))} for r in records]
    record_combine = EntryCountCombine(100, seed=2)
    acc = record_combine.create_accumulator()
    for record in records:
        record_combine.add_input(acc, CONCEPTS_ONLY(record), key=record["key"])
    pool = record_combine.extract_output(acc)
    table = add_entries(to_table(TAGGED_SCHEMA, records), CONCEPTS_ONLY)
    assert table.column("entries").to_pylist() == [r["entries"] for r in per_record]
    combine = TableEntryCounts(EntryCountCombine(100, seed=2))
    halves = [
        combine.add_input(combine.create_accumulator(), part) for part in (table[:250], table[250:])
    ]
    batched_pool = combine.extract_output(combine.merge_accumulators(halves))
    assert batched_pool == pool  # counts, names and sample
    assert pool.names == {c: f"n{c}" for c in pool.counts}
    result = decide_batch(table, batched_pool, 25, options)
    expected = [Balancer(None, options).decide(r, pool, 25) for r in per_record]
    kept = [r for e in expected for r in e.records]
    assert result.records.column("key").to_pylist() == [r["key"] for r in kept]
    assert result.records.column("keep_prob").to_pylist() == pytest.approx(
        [r["keep_prob"] for r in kept]
    )
    assert result.drops == [d for e in expected for d in e.drops]
    to_table(BALANCED_SCHEMA, result.records.to_pylist())
    after = kept_keys_and_entries(table, batched_pool, 25, options)
    assert after.column("key").to_pylist() == [r["key"] for r in kept]


def test_packed_pool_unpickles_once_per_object() -> None:
    from transforms.balance.packed import Packed

    pool = count(single_entry_pool({"a": 3}), sample_size=10)
    packed = Packed.of(pool)
    assert packed.value() == pool and packed.value() is packed.value()
    again = pickle.loads(pickle.dumps(packed))
    assert again.value() == pool and again.value() is not packed.value()


def test_columnar_entries_and_decisions_match_the_record_code_on_awkward_rows() -> None:
    """Homonyms on one span, null spans, repeated CUIs, null and empty concepts, empty CUIs,
    null `negated`, slices: the Arrow paths give what the per-record code gives."""
    generator = random.Random(11)
    cuis = [f"C{n:07d}" for n in (5, 3, 9, 1, 7, 2)]

    def concept() -> dict:
        start = generator.choice([None, 0, 0, 4, 9])
        return {
            "cui": generator.choice([*cuis, ""]),
            "name": "n",
            "start": start,
            "end": None if start is None else start + generator.choice([1, 1, 2]),
            "negated": generator.choice([None, False, False, True]),
        }

    records = [
        tagged(
            f"PMC{i}/F{i % 3}",
            concepts=None if i % 17 == 0 else [concept() for _ in range(generator.randint(0, 7))],
        )
        for i in range(400)
    ]
    table = to_table(TAGGED_SCHEMA, records)
    every = EntryExtractor(EntryOptions(one_cui_per_span=False))
    for extractor in (CONCEPTS_ONLY, every):
        for part in (table, table.slice(7, 150), table.to_batches()[0].slice(3, 60)):
            expected = [list(extractor(r)) for r in part.to_pylist()]
            assert add_entries(part, extractor).column("entries").to_pylist() == expected
    table = add_entries(table, CONCEPTS_ONLY)
    per_record = [{**r, "entries": list(CONCEPTS_ONLY(r))} for r in records]
    pool = count(per_record, sample_size=50)
    for options in (BalanceOptions(t=6, seed=4), BalanceOptions(t=3, keep_no_entries=True)):
        expected = [Balancer(None, options).decide(r, pool, options.t) for r in per_record]
        result = decide_batch(table.slice(5), pool, options.t, options)
        expected = expected[5:]
        kept = [r for e in expected for r in e.records]
        assert result.records.column("key").to_pylist() == [r["key"] for r in kept]
        assert result.records.column("keep_prob").to_pylist() == [
            pa.scalar(r["keep_prob"], pa.float32()).as_py() for r in kept
        ]
        assert result.drops == [d for e in expected for d in e.drops]
    missing = EntryCounts({}, {}, 0, 0, ())
    with pytest.raises(StageError, match="entry_not_counted|missing from the counts"):
        decide_batch(table, missing, 5, BalanceOptions(t=5))
