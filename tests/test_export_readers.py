"""The exported shards as users read them: webdataset, open_clip's data pipeline, HF
`datasets` (plain and streaming), mlcroissant; byte-identical reruns."""

from __future__ import annotations

import io
import json
import os
import random
import tarfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from export_fixtures import corpus, export_folder
from PIL import Image

from schemas.records import EXPORT_SCHEMA
from transforms.export.croissant import CroissantInputs, croissant_json
from transforms.export.parquet import ByteBoundedParquetWriter
from transforms.export.plan import ExportConfig
from transforms.export.unit import ExportRecord
from transforms.export.wds import WdsShardWriter, sample_members
from transforms.keys import key_from_tar

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


def _config() -> ExportConfig:
    # small shards, so every reader sees several; the CLIP budget when open_clip is here
    try:
        import open_clip  # noqa: F401

        budget = 75
    except ImportError:
        budget = 0
    return ExportConfig(shard_samples=10, split_seed=1, text_max_tokens=budget)


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("export")
    records = corpus()
    config = _config()
    plan, ledger, kept, drops = export_folder(records, config, out, ExportRecord(config))
    assert not drops and ledger.out == len(records) == len(kept)
    return {"out": out, "records": records, "kept": kept, "plan": plan, "config": config}


def _files(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def test_tars_read_with_webdataset(exported: dict) -> None:
    wds = pytest.importorskip("webdataset")
    out, kept = exported["out"], {r["key"]: r for r in exported["kept"]}
    seen = []
    for split in ("train", "validation"):
        tars = sorted((out / "wds" / split).glob("*.tar"))
        sizes = json.loads((out / "wds" / split / "sizes.json").read_text())
        assert sorted(sizes) == [t.name for t in tars]
        for tar in tars:
            samples = list(wds.WebDataset(str(tar), shardshuffle=False).decode("pil"))
            assert len(samples) == sizes[tar.name]
            for sample in samples:
                meta = sample["json"]
                key = key_from_tar(sample["__key__"])
                assert key == meta["key"] and meta["split"] == split
                image = sample.get("jpg") or sample.get("png")
                assert isinstance(image, Image.Image)
                assert sample["txt"] == kept[key]["text"]
                assert meta["license_url"] and meta["authors"] and meta["citation"]
                seen.append(key)
    assert sorted(seen) == sorted(kept) and len(set(seen)) == len(seen)
    assert any("." in key for key in seen) and all("/" in key for key in seen)
    assert max(map(len, seen)) > 150


def test_tar_members_have_fixed_metadata(exported: dict) -> None:
    tar = next((exported["out"] / "wds" / "train").glob("*.tar"))
    with tarfile.open(tar) as handle:
        members = handle.getmembers()
    assert members and all(
        (m.mtime, m.uid, m.gid, m.uname, m.gname, m.mode) == (0, 0, 0, "", "", 0o644)
        for m in members
    )
    assert all("/" not in m.name and m.name.count(".") == 1 for m in members)


def _open_clip_args(exported: dict, train: bool) -> tuple[SimpleNamespace, str, int]:
    out = exported["out"]
    last = max(int(p.stem) for p in (out / "wds" / "train").glob("*.tar"))
    pattern = str(out / "wds" / "train" / f"{{00000..{last:05d}}}.tar")
    args = SimpleNamespace(
        train_data=pattern if train else None,
        val_data=None if train else pattern,
        train_num_samples=None,
        val_num_samples=None,
        dataset_resampled=False,
        train_data_upsampling_factors=None,
        seed=0,
        batch_size=4,
        world_size=1,
        workers=0,
    )
    return args, pattern, last + 1


def _first_batch(data, args: SimpleNamespace, train: bool) -> tuple:
    import open_clip

    preprocess = open_clip.image_transform(64, is_train=False)
    tokenizer = open_clip.get_tokenizer("RN50")
    info = data.get_wds_dataset(args, preprocess, train, tokenizer=tokenizer)
    images, texts = next(iter(info.dataloader))
    return tuple(images.shape), tuple(texts.shape), info


def test_tar_bytes_are_what_tarfile_writes(exported: dict) -> None:
    records = exported["kept"][:5]
    ours = io.BytesIO()
    WdsShardWriter().write(pa.Table.from_pylist(records, schema=EXPORT_SCHEMA), ours)
    reference = io.BytesIO()
    with tarfile.open(fileobj=reference, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for record in records:
            for name, data in sample_members(record):
                info = tarfile.TarInfo(name)
                info.size, info.mode, info.uname, info.gname = len(data), 0o644, "", ""
                tar.addfile(info, io.BytesIO(data))
    assert ours.getvalue() == reference.getvalue()
    empty = io.BytesIO()
    WdsShardWriter().write(EXPORT_SCHEMA.empty_table(), empty)
    assert empty.getvalue() == b"\0" * tarfile.RECORDSIZE


def test_open_clip_counts_the_tars_from_sizes_json(exported: dict) -> None:
    data = pytest.importorskip("open_clip_train.data")
    args, pattern, shards = _open_clip_args(exported, train=False)
    train = [r for r in exported["kept"] if r["split"] == "train"]
    assert data.get_dataset_size(pattern) == (len(train), shards)
    images, texts, _ = _first_batch(data, args, train=False)
    assert images == (4, 3, 64, 64) and texts == (4, 77)


def test_open_clip_training_pipeline_reads_the_tars(exported: dict) -> None:
    import open_clip_train.data as data
    import webdataset

    # open_clip_train's own tar reader (group_by_keys_nothrow) predates webdataset 1.0's
    # end-of-shard marker and fails on every tar: the train extra pins webdataset==0.2.86
    version = tuple(int(p) for p in webdataset.__version__.split(".")[:3])
    assert version <= (0, 2, 86), f"the train extra pins webdataset 0.2.86, found {version}"
    args, _, _ = _open_clip_args(exported, train=True)
    images, texts, info = _first_batch(data, args, train=True)
    assert images == (4, 3, 64, 64) and texts == (4, 77)
    assert info.dataloader.num_samples >= sum(r["split"] == "train" for r in exported["kept"])


@pytest.mark.parametrize("streaming", [False, True])
def test_parquet_loads_with_datasets(exported: dict, streaming: bool, tmp_path) -> None:
    datasets = pytest.importorskip("datasets")
    out, kept = exported["out"], {r["key"]: r for r in exported["kept"]}
    files = {s: str(out / "parquet" / f"{s}-*.parquet") for s in ("train", "validation")}
    loaded = datasets.load_dataset(
        "parquet", data_files=files, streaming=streaming, cache_dir=str(tmp_path)
    )
    rows = {split: list(loaded[split]) for split in ("train", "validation")}
    assert sum(map(len, rows.values())) == len(kept)
    for split, split_rows in rows.items():
        for row in split_rows:
            record = kept[row["key"]]
            assert isinstance(row["image"], Image.Image) and row["split"] == split
            assert row["text"] == record["text"] and row["caption"] == record["caption"]
            assert row["concepts"][0]["cui"] == "C0023884" and row["bbox"] == record["bbox"]


def test_an_empty_shard_loads_beside_full_ones(exported: dict, tmp_path) -> None:
    datasets = pytest.importorskip("datasets")
    shards = sorted((exported["out"] / "parquet").glob("train-*.parquet"))
    for index, source in enumerate(shards[:1]):
        (tmp_path / f"train-{index:05d}.parquet").write_bytes(source.read_bytes())
    with (tmp_path / "train-99999.parquet").open("wb") as handle:
        assert ByteBoundedParquetWriter().write(EXPORT_SCHEMA.empty_table(), handle) == 0
    assert pq.ParquetFile(tmp_path / "train-99999.parquet").metadata.num_row_groups == 0
    loaded = datasets.load_dataset(
        "parquet", data_files=str(tmp_path / "train-*.parquet"), cache_dir=str(tmp_path / "c")
    )
    assert loaded["train"].num_rows == pq.ParquetFile(shards[0]).metadata.num_rows


def test_image_round_trip_matches_the_deduped_record(exported: dict) -> None:
    records = {r["key"]: r for r in exported["records"]}
    table = pq.read_table(sorted((exported["out"] / "parquet").glob("*.parquet")))
    for row in table.to_pylist():
        source = Image.open(io.BytesIO(records[row["key"]]["image"]["bytes"]))
        exported_image = Image.open(io.BytesIO(row["image"]["bytes"]))
        assert exported_image.size == source.size == (row["width"], row["height"])
        assert np.array_equal(np.asarray(exported_image), np.asarray(source))


def test_row_groups_are_bounded_and_rows_in_seeded_order(exported: dict) -> None:
    shards = (exported["out"] / "parquet").glob("train-*.parquet")
    shard = max(shards, key=lambda path: pq.ParquetFile(path).metadata.num_rows)
    meta = pq.ParquetFile(shard).metadata
    assert meta.num_row_groups > 1
    keys = pq.read_table(shard, columns=["key"]).column("key").to_pylist()
    assert keys != sorted(keys)
    table = pq.read_table(shard, columns=["image"])
    sizes = [len(v["bytes"]) for v in table.column("image").to_pylist()]
    start = 0
    for group in range(meta.num_row_groups):
        rows = meta.row_group(group).num_rows
        assert rows == 1 or sum(sizes[start : start + rows]) <= 60_000
        start += rows


def test_metadata_table_has_every_row_but_no_image(exported: dict) -> None:
    files = sorted(exported["out"].glob("metadata-*.parquet"))
    assert [f.name for f in files][-1].endswith(f"-of-{len(files):05d}.parquet")
    table = pq.read_table(files)
    assert "image" not in table.column_names and "text" in table.column_names
    assert sorted(table.column("key").to_pylist()) == sorted(r["key"] for r in exported["kept"])


def test_same_input_gives_byte_identical_files(exported: dict, tmp_path) -> None:
    shuffled = list(exported["records"])
    random.Random(5).shuffle(shuffled)  # another worker layout: another arrival order
    config = exported["config"]
    export_folder(shuffled, config, tmp_path, ExportRecord(config))
    assert _files(tmp_path) == _files(exported["out"])


def test_croissant_reads_the_exported_parquet(exported: dict) -> None:
    mlc = pytest.importorskip("mlcroissant")
    out = exported["out"]
    inputs = CroissantInputs(
        name="t",
        description="d",
        url="https://example.org",
        creators=("x",),
        date_published="2026",
        version="0.1.0",
        licenses=("CC BY 4.0",),
    )
    (out / "croissant.json").write_text(croissant_json(inputs))
    records = list(mlc.Dataset(jsonld=out / "croissant.json").records("samples"))
    assert len(records) == len(exported["kept"])
    assert isinstance(records[0]["samples/image"], Image.Image)
    (out / "croissant.json").unlink()  # the determinism test compares the folder
