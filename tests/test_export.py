"""Export's pure logic: training text, splits, order, shard plan, selection, images, card,
Croissant. The readers (webdataset, open_clip, datasets) are in test_export_readers.py."""

from __future__ import annotations

import io
import json
from collections import Counter

import pyarrow as pa
import pytest
import yaml
from export_fixtures import PREAMBLE, SUBCAPTIONS, corpus, deduped_record, image_bytes, plan_of
from PIL import Image

from transforms.export.card import CardInputs, card_files, hf_license_id, ledger_table
from transforms.export.croissant import CroissantInputs, croissant_json, license_url
from transforms.export.images import ImageOptions, export_image, output_size
from transforms.export.order import in_shard_order, table_in_shard_order
from transforms.export.plan import ExportConfig, ExportPlan
from transforms.export.select import (
    Selection,
    license_family,
    metadata_drop,
    read_exclusion_list,
)
from transforms.export.splits import VALIDATION, article_of, split_of
from transforms.export.summary import ExportSummaryCombine, histogram
from transforms.export.text import clean_text, fit_tokens, training_text
from transforms.export.unit import ExportRecord
from transforms.ledger import Drop, Ledger


def words(text: str) -> int:  # a stand-in counter where CLIP's own BPE is not the point
    return len(text.split())


# --- training text ---------------------------------------------------------------------


def test_panel_text_is_preamble_and_own_subcaption_else_caption() -> None:
    panel = deduped_record("PMC1/F1/p0", subcaption=SUBCAPTIONS[2], is_compound=True)
    assert training_text(panel) == f"{PREAMBLE} {SUBCAPTIONS[2]}"
    single = deduped_record("PMC1/F2/p0", is_compound=False)
    assert training_text(single) == single["caption"]
    assert training_text(panel, "caption") == panel["caption"]
    panel["mentions"] = ["As shown in Fig. 1, the lesion grew."]
    assert training_text(panel, "caption_mentions").endswith("the lesion grew.")
    with pytest.raises(ValueError, match="caption policy"):
        training_text(panel, "everything")


def test_clean_text_drops_markup_entities_and_odd_white_space() -> None:
    raw = "CT of the <italic>liver</italic> &amp; spleen\u200b;\n\tp&lt;0.05\u00ad."
    assert clean_text(raw) == "CT of the liver & spleen; p<0.05."
    assert clean_text(None) == "" and clean_text("  \n ") == ""


def test_token_budget_keeps_whole_sentences_then_cuts_a_long_first_one() -> None:
    text = "One two three. Four five six seven. Eight nine."
    assert fit_tokens(text, 5, words) == "One two three."
    assert fit_tokens(text, 7, words) == "One two three. Four five six seven."
    assert fit_tokens(text, 100, words) == text
    assert fit_tokens("Fig. 2 shows a b c d e f.", 4, words) == "Fig. 2 shows a"
    assert fit_tokens(text, 0, words) == text  # 0: no budget


def test_clip_budget_counts_clip_bpe_tokens() -> None:
    pytest.importorskip("open_clip")
    from open_clip.tokenizer import SimpleTokenizer

    from transforms.export.text import CLIP_CONTENT_TOKENS, clip_token_counter

    count = clip_token_counter()
    long = " ".join(f"Panel {i} shows hepatocellular carcinoma in segment {i}." for i in range(30))
    fitted = fit_tokens(long, CLIP_CONTENT_TOKENS, count)
    assert fitted.endswith(".") and long.startswith(fitted) and fitted != long
    tokens = len(SimpleTokenizer().encode(fitted))
    assert tokens <= CLIP_CONTENT_TOKENS < tokens + count(" Panel 9 shows hepatocellular carcinoma")


# --- splits and order ----------------------------------------------------------------


def test_split_is_per_article_seeded_and_about_the_fraction() -> None:
    keys = [f"PMC{a}/F{f}/p{p}" for a in range(3000) for f in (1, 2) for p in (0, 1)]
    by_article: dict[str, set[str]] = {}
    for key in keys:
        by_article.setdefault(article_of(key), set()).add(split_of(key, seed=7))
    assert all(len(splits) == 1 for splits in by_article.values())
    share = sum(VALIDATION in s for s in by_article.values()) / len(by_article)
    assert 0.08 < share < 0.12
    other_seed = [split_of(f"PMC{a}/F1/p0", seed=8) for a in range(3000)]
    assert other_seed != [split_of(f"PMC{a}/F1/p0", seed=7) for a in range(3000)]
    assert split_of("PMC5/F1/p0", 7, 0.0) == "train" and split_of("PMC5/F1", 7, 1.0) == VALIDATION


def test_small_export_still_gets_a_validation_article() -> None:
    records = corpus(4)
    config = ExportConfig(split_seed=3, text_max_tokens=0)
    articles = {article_of(r["key"]) for r in records}
    assert all(config.seeded_split(f"{a}/F1") == "train" for a in articles)  # none by hash
    plan = plan_of(records, config)
    moved = plan.moved_to_validation
    assert moved in articles
    by_split = Counter(plan.split_of(r["key"], config) for r in records)
    moved_records = [r for r in records if article_of(r["key"]) == moved]
    assert by_split["validation"] == len(moved_records) > 0
    assert plan.records == {"train": len(records) - len(moved_records), **by_split}
    assert plan_of(list(reversed(records)), config) == plan
    assert (
        plan_of(records, ExportConfig(split_seed=3, validation_fraction=0.0)).moved_to_validation
        is None
    )
    one_article = [r for r in records if article_of(r["key"]) == moved]
    assert plan_of(one_article, config).moved_to_validation is None


def test_shard_order_is_seeded_not_by_key_and_separates_siblings() -> None:
    records = [{"key": f"PMC{a}/F1/p{p}"} for a in range(20) for p in range(10)]
    ordered = in_shard_order(list(reversed(records)), seed=3)
    assert ordered == in_shard_order(records, seed=3)  # input order does not matter
    assert [r["key"] for r in ordered] != sorted(r["key"] for r in records)
    parent = [r["key"].rsplit("/", 1)[0] for r in ordered]
    adjacent_siblings = sum(a == b for a, b in zip(parent, parent[1:], strict=False))
    assert adjacent_siblings < 40  # sorted by key: 180
    assert in_shard_order(records, seed=4) != ordered


def test_table_order_is_the_record_order() -> None:
    records = [{"key": f"PMC{a}/F1/p{p}", "n": a * 10 + p} for a in range(5) for p in range(4)]
    table = pa.Table.from_pylist(records)
    ordered = table_in_shard_order(table, seed=9).to_pylist()
    assert ordered == in_shard_order(records, seed=9)


# --- selection and images -------------------------------------------------------------


def test_license_family_matches_versions_not_variants() -> None:
    cc_by = Selection(licenses=("CC BY", "CC0"))
    for name, kept in [
        ("CC BY 4.0", True),
        ("CC BY 2.0", True),
        ("CC0 1.0", True),
        ("CC BY-NC 4.0", False),
        ("CC BY-SA 4.0", False),
        (None, False),
    ]:
        drop = metadata_drop(deduped_record("PMC1/F1/p0", license=name), cc_by)
        assert (drop is None) is kept, name
        if not kept:
            assert drop[0] == "license"
    assert license_family("CC BY-NC-SA 3.0") == "cc by-nc-sa"


def test_exclusion_list_reads_pmcids_and_rejects_junk() -> None:
    text = "# takedowns\nPMC123\n\n456  # bare number\npmc789\n"
    assert read_exclusion_list(text) == {"PMC123", "PMC456", "PMC789"}
    with pytest.raises(ValueError, match="line 2"):
        read_exclusion_list("PMC1\n10.1000/xyz\n")


def test_every_filtered_record_is_a_drop_with_its_reason() -> None:
    config = ExportConfig(
        selection=Selection(modalities=("radiology",), exclude_pmcids=("PMC9",)),
        text_max_tokens=0,
    )
    cases = {
        "no_image": deduped_record("PMC1/F1/p0", image=None, image_status="missing"),
        "excluded": deduped_record("PMC9/F1/p0"),
        "selection": deduped_record("PMC2/F1/p0", modalities=["microscopy/light"]),
        "too_small": deduped_record("PMC3/F1/p0", size=(40, 200)),
        "extreme_aspect": deduped_record("PMC4/F1/p0", size=(900, 70)),
        "short_caption": deduped_record("PMC5/F1/p0", is_compound=False, caption="Liver."),
        "blank_image": deduped_record("PMC6/F1/p0"),
        "image_undecodable": deduped_record("PMC7/F1/p0"),
    }
    blank = io.BytesIO()
    Image.new("RGB", (96, 80), (200, 200, 200)).save(blank, format="JPEG")
    cases["blank_image"]["image"] = {"bytes": blank.getvalue(), "path": "b.jpg"}
    cases["image_undecodable"]["image"] = {"bytes": b"\xff\xd8 not a jpeg", "path": "x.jpg"}
    kept = deduped_record("PMC8/F1/p0")
    unit = ExportRecord(config, words)
    plan = ExportPlan({"train": 1, "validation": 0})
    results = [unit(record, plan) for record in [*cases.values(), kept]]
    assert [r["key"] for result in results for r in result.records] == ["PMC8/F1/p0"]
    drops = [d for result in results for d in result.drops]
    assert {d.key: d.reason for d in drops} == {r["key"]: k for k, r in cases.items()}
    assert all(isinstance(d, Drop) and d.source_uri for d in drops)
    ledger = Ledger.total(Ledger.of(result) for result in results)
    assert ledger.ok and ledger.found == len(cases) + 1 == ledger.inputs
    assert ledger.out == 1 and sum(ledger.dropped.values()) == len(cases)


def test_a_subset_all_cc_by_ct_panels_about_the_liver() -> None:
    liver_ct = Selection(licenses=("CC BY",), modalities=("radiology/ct",), cuis=("C0023884",))
    negated_liver = [{**deduped_record("PMC1/F1/p0")["concepts"][0], "negated": True}]
    cases = {
        "kept": deduped_record("PMC1/F1/p0"),
        "nc": deduped_record("PMC2/F1/p0", license="CC BY-NC 4.0"),
        "mri": deduped_record("PMC3/F1/p0", modalities=["radiology/mri"]),
        "no liver": deduped_record("PMC4/F1/p0", concepts=[]),
        "negated liver": deduped_record("PMC5/F1/p0", concepts=negated_liver),
    }
    reasons = {name: metadata_drop(r, liver_ct) for name, r in cases.items()}
    assert reasons == {
        "kept": None,
        "nc": ("license", "CC BY-NC 4.0"),
        "mri": ("selection", "modality"),
        "no liver": ("selection", "cui"),
        "negated liver": ("selection", "cui"),
    }


def test_images_shrink_to_max_side_and_keep_small_ones_untouched() -> None:
    big = image_bytes(1500, 900, "jpeg", 1)
    image, _ = export_image(big, "jpeg", ImageOptions(max_side=1024))
    assert (image.width, image.height) == (1024, 614) == output_size(1500, 900, 1024)
    assert Image.open(io.BytesIO(image.data)).size == (1024, 614)
    small = image_bytes(120, 90, "png", 2)
    same, _ = export_image(small, "png", ImageOptions())
    assert same.data == small and same.extension == "png"
    as_jpeg, _ = export_image(small, "png", ImageOptions(image_format="jpeg"))
    assert Image.open(io.BytesIO(as_jpeg.data)).format == "JPEG" and as_jpeg.extension == "jpg"


# --- card and Croissant --------------------------------------------------------------


def _stage_stats() -> list[tuple[str, dict]]:
    def stats(stage: str, n_in: int, out: int, dropped: dict[str, int]) -> dict:
        ledger = Ledger(
            inputs=n_in,
            in_with_output=n_in,
            found=out + sum(dropped.values()),
            out=out,
            dropped=Counter(dropped),
        )
        return ledger.to_stats(stage)

    return [
        ("extract", stats("extract", 14, 60, {"no_graphic": 2})),
        ("dedup", stats("dedup", 60, 57, {"duplicate": 3})),
        ("export", stats("export", 57, 55, {"license": 2})),
    ]


def _card_inputs(records: list[dict]) -> CardInputs:
    combine = ExportSummaryCombine()
    acc = combine.create_accumulator()
    for record in records:
        acc = combine.add_input(acc, {**record, "split": "train", "text": record["caption"]})
    return CardInputs(
        name="Test export",
        export_root="out/demo/export",
        stage_stats=_stage_stats(),
        summary=combine.extract_output(acc),
        shard_sizes={"train": {"00000.tar": 40, "00001.tar": 17}, "validation": {"00000.tar": 0}},
        entry_counts_before={"C0023884": 900, "C0024109": 12, "C0000001": 1},
        panels_per_figure=histogram([1, 1, 2, 3, 3, 3]),
        options={"export": {"split_seed": 0}},
        versions={"pyarrow": "25.0.1"},
        project_version="0.1.0",
        project_commit="abc123",
    )


def test_card_numbers_equal_the_stats_and_front_matter_parses() -> None:
    inputs = _card_inputs(corpus(3))
    files = card_files(inputs)
    card = files["README.md"].decode()
    meta = yaml.safe_load(card.split("---\n")[1])
    assert meta["license"] == ["cc-by-4.0"]
    assert [f["split"] for f in meta["configs"][0]["data_files"]] == ["train"]  # validation: 0
    for stage, stats in inputs.stage_stats:
        row = next(line for line in card.splitlines() if line.startswith(f"| {stage} |"))
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert [int(c.replace(",", "")) for c in cells[1:5]] == [
            stats["in"],
            stats["out"],
            sum(stats["errors"].values()),
            sum(stats["dropped"].values()),
        ]
    assert ledger_table(inputs.stage_stats) in card
    assert "near-duplicates removed" in card and "balanced" not in card  # no balance stats
    for name in (
        "license_mix.png",
        "modality_mix.png",
        "panels_per_figure.png",
        "concepts_head.png",
        "concepts_tail.png",
        "samples.png",
    ):
        assert Image.open(io.BytesIO(files[name])).format == "PNG" and f"]({name})" in card
    assert files == card_files(_card_inputs(corpus(3)))  # same numbers, same bytes
    assert hf_license_id("CC BY-NC-SA 4.0") == "cc-by-nc-sa-4.0" and hf_license_id("x") == "other"


def test_croissant_validates_with_mlcroissant(tmp_path) -> None:
    mlc = pytest.importorskip("mlcroissant")
    inputs = CroissantInputs(
        name="biomed-curate-test",
        description="Test export.",
        url="https://example.org/data",
        creators=("Test Curator",),
        date_published="2026-01-01",
        version="0.1.0",
        licenses=("CC BY 4.0", "CC0 1.0", "CC BY 4.0"),
        cite_as="@misc{test}",
    )
    text = croissant_json(inputs)
    document = json.loads(text)
    assert document["conformsTo"] == "http://mlcommons.org/croissant/1.1"
    assert document["license"] == [license_url("CC BY 4.0"), license_url("CC0 1.0")]
    path = tmp_path / "croissant.json"
    path.write_text(text)
    dataset = mlc.Dataset(jsonld=path)  # raises ValidationError on any error
    assert dataset.metadata.issues.errors == set()
    names = {f.name for f in dataset.metadata.record_sets[0].fields}
    assert {"image", "key", "text", "caption", "license", "split"} <= names
