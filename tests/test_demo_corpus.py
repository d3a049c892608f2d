"""The generated demo corpus, checked with the real extract code (and once with Beam)."""

from __future__ import annotations

import hashlib
import io
import json
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from demo import report
from demo.corpus import SPECIAL_FEATURES
from demo.writer import MANIFEST, generate
from schemas import DROP_SCHEMA, FIGURE_SCHEMA
from transforms.extract.extractor import ExtractConfig, Extractor
from transforms.extract.sources import group_sources
from transforms.ledger import Ledger, UnitResult, stats_json

PHOTOS = {"ihc", "retina", "cell", "microaneurysms", "phantom"}
CHARTS = {"bar", "line", "scatter", "gel", "km"}
SEED = 0


def listing(root: Path) -> list[str]:
    return sorted(str(p) for p in root.rglob("*") if p.is_file())


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("demo") / "corpus"
    return root, generate(root, seed=SEED)


@pytest.fixture(scope="module")
def results(corpus: tuple[Path, dict]) -> dict[str, UnitResult]:
    """Article path (relative to the corpus) -> what extract made of it."""
    root, _ = corpus
    extractor = Extractor(ExtractConfig())
    return {str(Path(s.uri).relative_to(root)): extractor(s) for s in group_sources(listing(root))}


@pytest.fixture(scope="module")
def records(results: dict[str, UnitResult]) -> dict[str, dict]:
    return {r["key"]: r for res in results.values() for r in res.records}


def figures(manifest: dict, feature: str | None = None) -> list[dict]:
    return [
        f
        for a in manifest["articles"]
        if feature is None or feature in a["features"]
        for f in a["figures"]
    ]


def test_corpus_has_both_layouts_every_feature_and_stays_small(corpus):
    root, manifest = corpus
    layouts = Counter(a["layout"] for a in manifest["articles"])
    assert len(manifest["articles"]) == 30 and layouts["folder"] >= 10 and layouts["targz"] >= 5
    features = {f for a in manifest["articles"] for f in a["features"]}
    assert {f for fs in SPECIAL_FEATURES.values() for f in fs} <= features
    kinds = {p["kind"] for f in figures(manifest) for p in f["panels"]}
    assert PHOTOS | CHARTS == kinds
    formats = {Path(f["file"]).suffix for f in figures(manifest)}
    assert {".jpg", ".png", ".tif"} <= formats
    assert any(Path(f["href"]).suffix == "" for f in figures(manifest))
    assert sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) < 8_000_000


def test_figure_counts_drops_and_empty_articles_match_what_was_written(corpus, results):
    _, manifest = corpus
    assert set(results) == {a["path"] for a in manifest["articles"]}
    for article in manifest["articles"]:
        got = results[article["path"]]
        assert got.error is None, got.error
        want_keys = {f["key"] for f in article["figures"] if f["expect"] == "record"}
        assert {r["key"] for r in got.records} == want_keys, article["pmcid"]
        want_drops = {f["key"]: f["expect"] for f in article["figures"] if f["expect"] != "record"}
        assert {d.key: d.reason for d in got.drops} == want_drops
        if article["expect_empty"]:
            assert not got.records and got.empty_reason == article["expect_empty"]
    ledger = Ledger.total(Ledger.of(r) for r in results.values())
    assert ledger.ok and ledger.in_empty == 2 and ledger.dropped == {"image_truncated": 1}


def test_bilingual_group_is_one_record_with_the_spanish_caption_in_captions_other(corpus, records):
    _, manifest = corpus
    bilingual = [f for f in figures(manifest) if f["bilingual_group"]]
    assert len(bilingual) == 2
    for fig in bilingual:
        rec = records[fig["key"]]
        assert [c["lang"] for c in rec["captions_other"]] == ["es"]
        spanish = rec["captions_other"][0]["text"]
        assert (
            spanish.startswith(f"({fig['panels'][0]['label']}) ") and spanish not in rec["caption"]
        )
        # the body cites the group's id; the mention reaches the merged record
        assert rec["mentions"] and fig["label"] in rec["mentions"][0]
        group_keys = [k for k in records if k.startswith(f"{fig['key'].split('/')[0]}/F1")]
        assert group_keys == [fig["key"]]


def test_thumbnail_rendition_is_never_chosen(corpus, records):
    _, manifest = corpus
    with_thumbs = [f for f in figures(manifest) if f["thumbnail"]]
    assert len(with_thumbs) == 2
    for fig in with_thumbs:
        rec = records[fig["key"]]
        assert (rec["width"], rec["height"]) == (fig["width"], fig["height"])
        assert [rec["width"], rec["height"]] != fig["thumbnail_size"]
        assert rec["image_uri"].endswith(fig["file"])


def test_math_in_captions_is_rendered_as_text(corpus, records):
    _, manifest = corpus
    with_math = [f for f in figures(manifest) if f["math_text"]]
    assert {f["math"] for f in with_math} == {"mathml", "tex"}
    for fig in with_math:
        caption = records[fig["key"]]["caption"]
        for text in fig["math_text"]:
            assert text in caption, (fig["key"], caption)
        assert "$" not in caption and "mml" not in caption


def test_images_decode_to_the_sizes_written(corpus, records):
    _, manifest = corpus
    expected_format = {"jpeg": "jpeg", "png": "png", "tiff": "jpeg"}
    checked = 0
    for fig in figures(manifest):
        if fig["expect"] != "record":
            continue
        rec = records[fig["key"]]
        image = Image.open(io.BytesIO(rec["image"]["bytes"]))
        image.load()
        assert image.size == (fig["width"], fig["height"]) == (rec["width"], rec["height"])
        assert rec["image_format"] == expected_format[fig["format"]]
        checked += 1
    assert checked == len(records)


def test_compound_captions_name_every_panel_and_boxes_tile_the_image(corpus, records):
    _, manifest = corpus
    compound = [f for f in figures(manifest) if len(f["panels"]) > 1]
    assert len(compound) >= 30
    for fig in compound:
        labels = [p["label"] for p in fig["panels"]]
        assert labels == [chr(ord(labels[0]) + i) for i in range(len(labels))]
        if fig["has_caption"] and fig["expect"] == "record":
            caption = records[fig["key"]]["caption"]
            for label in labels:
                assert f"({label}) " in caption or f"{label}, " in caption, caption
        boxes = [p["bbox"] for p in fig["panels"]]
        for x0, y0, x1, y1 in boxes:
            assert 0 < x0 < x1 <= fig["width"] and 0 < y0 < y1 <= fig["height"]
        for i, a in enumerate(boxes):
            for b in boxes[i + 1 :]:
                assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]


def test_figure_without_caption_still_has_a_record(corpus, records):
    _, manifest = corpus
    bare = [f for f in figures(manifest) if not f["has_caption"]]
    assert len(bare) == 2
    for fig in bare:
        rec = records[fig["key"]]
        assert rec["caption"] is None and rec["label"] == fig["label"]
        assert rec["image_status"] == "ok" and rec["mentions"]


def test_article_metadata_and_licence(corpus, records):
    _, manifest = corpus
    for article in manifest["articles"]:
        for fig in article["figures"]:
            rec = records.get(fig["key"])
            if rec is None:
                continue
            assert rec["pmcid"] == article["pmcid"] and rec["doi"] == article["doi"]
            assert rec["license_url"] == article["license_url"]
            assert rec["license"].startswith("CC")
            assert rec["authors"] and rec["journal"] and rec["year"] and rec["citation"]
            assert rec["source_kind"] == "jats"


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in root.rglob("*")
        if p.is_file()
    }


def test_same_seed_same_bytes_other_seed_other_images(corpus, tmp_path):
    root, _ = corpus
    again = tmp_path / "again"
    generate(again, seed=SEED)
    assert _digest(again) == _digest(root)
    other = tmp_path / "other"
    generate(other, seed=SEED + 1)
    first, second = _digest(root), _digest(other)
    images = [k for k in first if k.endswith(".jpg") and k in second]
    assert images and all(first[k] != second[k] for k in images)


def test_generator_replaces_its_own_corpus_but_not_a_foreign_folder(tmp_path):
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(SystemExit):
        generate(foreign, seed=SEED, count=2)
    assert (foreign / "notes.txt").read_text() == "keep me"
    ours = tmp_path / "corpus"
    generate(ours, seed=SEED, count=2)
    (ours / "articles" / "stale.txt").write_text("from an older run")
    generate(ours, seed=SEED, count=3)
    assert not (ours / "articles" / "stale.txt").exists()
    assert len(json.loads((ours / MANIFEST).read_text())["articles"]) == 3


def test_report_shows_shards_ledger_and_reasons(results, tmp_path, capsys):
    """A stage folder written from real extract results, read back by the report."""
    folder = tmp_path / "out" / "figures"
    folder.mkdir(parents=True)
    recs = [r for res in results.values() for r in res.records]
    drops = [
        {"stage": "extract", "key": d.key, "source_uri": d.source_uri, "reason": d.reason,
         "detail": d.detail}
        for res in results.values()
        for d in res.drops
    ]  # fmt: skip
    pq.write_table(
        pa.Table.from_pylist(recs, FIGURE_SCHEMA), folder / "data-00000-of-00001.parquet"
    )
    pq.write_table(
        pa.Table.from_pylist(drops, DROP_SCHEMA), folder / "dropped-00000-of-00001.parquet"
    )
    ledger = Ledger.total(Ledger.of(r) for r in results.values())
    (folder / "stats.json").write_text(stats_json(ledger.to_stats("extract")))
    assert report.main([str(folder.parent)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    text = "\n".join(lines)
    assert f"{len(recs)} records" in text and "notice:retraction 1" in text
    assert "image_truncated 1" in text and "PMC9100011/F2: image_truncated" in text
    assert "ledger adds up" in text
    assert lines[-1].split() == ["figures", f"{folder}/data-*.parquet"]


@pytest.mark.beam
def test_pipeline_cli_runs_on_the_demo_corpus(corpus, records, tmp_path, capsys):
    from pipeline.cli import main

    root, manifest = corpus
    out = tmp_path / "run"
    assert main(["all", "--input", str(root), "--output", str(out), "--quiet"]) == 0
    stats = json.loads((out / "figures" / "stats.json").read_text())
    assert stats["ledger_ok"] and stats["in"] == len(manifest["articles"])
    assert stats["out"] == len(records) and stats["dropped"] == {"image_truncated": 1}
    assert stats["in_empty_reasons"] == {"no_figures": 1, "notice:retraction": 1}
    shards = sorted((out / "figures").glob("data-*-of-*.parquet"))
    assert shards and sum(pq.read_metadata(p).num_rows for p in shards) == stats["out"]
    keys = {k for p in shards for k in pq.read_table(p, columns=["key"]).column(0).to_pylist()}
    assert keys == set(records)
    for folder in report.stage_folders(out):
        assert json.loads((folder / "stats.json").read_text())["ledger_ok"], folder
        assert_loads_with_datasets(folder)
    capsys.readouterr()
    assert report.main([str(out)]) == 0
    folders = report.stage_folders(out)
    text = capsys.readouterr().out.strip()
    last = text.splitlines()[-len(folders) :]
    assert [line.split()[-1] for line in last] == [f"{f}/{report.records_glob(f)}" for f in folders]
    assert_planted_duplicates_found(manifest, out, text)


def assert_planted_duplicates_found(manifest: dict, out: Path, report_text: str) -> None:
    """The copies planted (demo/duplicates.py) go as duplicates of their originals, nothing
    else links a planted figure, and the stock-caption pair stays; the report says so."""
    planted = {f["key"]: f["planted"] for f in figures(manifest) if f["planted"]}
    copies = {k: v.split(":", 1)[1] for k, v in planted.items() if ":" in v}
    stock = sorted(k for k, v in planted.items() if v == "stock_caption")
    assert len(copies) == 2 and len(stock) == 2
    rows = [
        r for p in sorted((out / "deduped").glob("duplicates-*.parquet"))
        for r in pq.read_table(p).to_pylist()
    ]  # fmt: skip
    touching = {
        (report.figure_of(r["key"]), report.figure_of(r["dup_of"]), r["kind"])
        for r in rows
        if {report.figure_of(r["key"]), report.figure_of(r["dup_of"])} & set(planted)
    }
    assert touching == {(copy, original, "phash") for copy, original in copies.items()}
    kept = {
        report.figure_of(k)
        for p in sorted((out / "deduped").glob("data-*.parquet"))
        for k in pq.read_table(p, columns=["key"]).column(0).to_pylist()
    }
    assert set(stock) | set(copies.values()) <= kept and not set(copies) & kept
    for copy, original in copies.items():
        assert f"dup    {copy}/p0 of {original}/p0 (phash" in report_text
    shown = [line for line in report_text.splitlines() if "one caption, different images" in line]
    assert any(all(f"{k}/p0" in line for k in stock) for line in shown), shown


def assert_loads_with_datasets(folder) -> None:
    """Every stage folder loads with `datasets` as it is: a PIL image, typed columns."""
    import datasets
    from PIL import Image

    from demo.report import records_glob

    files = sorted(str(p) for p in folder.glob(records_glob(folder)))
    loaded = datasets.load_dataset("parquet", data_files=files, split="train")
    assert isinstance(loaded.features["image"], datasets.Image), folder
    assert isinstance(loaded.features["year"], datasets.Value)
    assert loaded.features["year"].dtype == "int32"
    first = loaded[0]
    assert isinstance(first["image"], Image.Image) and first["image"].size[0] > 0
    streamed = datasets.load_dataset("parquet", data_files=files, split="train", streaming=True)
    row = next(iter(streamed))
    assert isinstance(row["image"], Image.Image) and row["key"] == first["key"]
