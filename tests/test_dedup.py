"""Dedup on real images: copies found, distinct figures kept, captions, decontamination."""

from __future__ import annotations

import sys

import imagehash
import pytest
from dedup_run import run_dedup
from dedup_variants import (
    CROP_VARIANTS,
    VARIANTS,
    encode,
    real_figure_paths,
    record,
    skimage_images,
)
from PIL import Image

from transforms.dedup.config import DedupConfig
from transforms.dedup.hashes import caption_hash, hamming, normalise_caption, phash
from transforms.ledger import StageError

HASH_ONLY = DedupConfig(embed="none")
STOCK = "Representative images are shown."


@pytest.fixture(scope="module")
def photos() -> dict[str, Image.Image]:
    images = skimage_images()
    assert len(images) >= 10
    return images


def imagehash_bits(image: Image.Image) -> int:
    return int(str(imagehash.phash(image)), 16)


def test_phash_is_imagehash_bit_for_bit_on_skimage(photos):
    for name, image in photos.items():
        assert phash(image) == imagehash_bits(image), name


@pytest.mark.realdata
def test_phash_is_imagehash_bit_for_bit_on_real_figures(testdata):
    paths = real_figure_paths()
    assert len(paths) >= 40
    for path in paths:
        with Image.open(path) as image:
            assert phash(image) == imagehash_bits(image), path.name


def test_caption_normalisation():
    assert normalise_caption("  Representative   images are SHOWN. ") == (
        "representative images are shown"
    )
    assert caption_hash("Representative images are shown.") == caption_hash(
        "Representative images are shown"
    )
    assert caption_hash("Representative images are shown.") != caption_hash(
        "Representative images were shown."
    )
    assert caption_hash("...") is None and caption_hash(None) is None


def variant_records(photos, names, caption_of):
    records = []
    for name in sorted(photos):
        records.append(record(f"PMC1/{name}", encode(photos[name]), caption_of(name, "orig")))
        for variant in names:
            data = VARIANTS[variant](photos[name])
            records.append(record(f"PMC2/{name}-{variant}", data, caption_of(name, variant)))
    return records


def assert_one_kept_per_image(run, records, photos):
    """Each image's copies form one group; the copy kept is the one with most pixels."""
    dup_of = run.dup_of()
    for name in photos:
        group = [r for r in records if r["key"].split("/")[1].split("-")[0] == name]
        kept = [r for r in group if r["key"] in run.kept_keys]
        assert len(kept) == 1, (name, [r["key"] for r in kept])
        largest = min(group, key=lambda r: (-r["width"] * r["height"], r["key"]))
        assert kept[0]["key"] == largest["key"]
        assert all(dup_of[r["key"]] == largest["key"] for r in group if r is not largest)


def test_copies_found_by_image_alone(photos):
    """Re-encoded, resized, bordered and grey copies, each with its own caption."""
    names = sorted(set(VARIANTS) - CROP_VARIANTS)
    records = variant_records(photos, names, lambda name, v: f"{name} figure, {v} version")
    run = run_dedup(records, HASH_ONLY)
    assert_one_kept_per_image(run, records, photos)
    assert {row["kind"] for row in run.duplicates} <= {"exact", "phash"}
    assert run.ledger.ok and run.ledger.dropped == {"duplicate": len(photos) * len(names)}


def test_crops_found_with_their_caption(photos):
    records = variant_records(photos, sorted(CROP_VARIANTS), lambda name, v: f"The {name} figure.")
    run = run_dedup(records, HASH_ONLY)
    found = [r for r in records if r["key"].startswith("PMC2/") and r["key"] not in run.kept_keys]
    recall = len(found) / (len(photos) * len(CROP_VARIANTS))
    assert recall >= 0.95, recall
    assert all(k.startswith("PMC1/") for k in run.kept_keys)
    assert {row["kind"] for row in run.duplicates} <= {"phash", "phash_crop"}


def test_stock_caption_on_distinct_images_is_kept(photos):
    records = [record(f"PMC3/{n}", encode(im), STOCK) for n, im in photos.items()]
    run = run_dedup(records, HASH_ONLY)
    assert run.kept_keys == {r["key"] for r in records} and not run.drops


@pytest.mark.realdata
def test_real_figures_under_one_stock_caption_stay_distinct(testdata):
    """Hard negatives: distinct real figures (many from one article) all captioned alike."""
    records = [record(f"PMC4/{p.stem}", p.read_bytes(), STOCK) for p in real_figure_paths()]
    run = run_dedup(records, HASH_ONLY)
    assert not run.drops, [d.detail for d in run.drops]


def test_caption_only_records_dedup_by_caption():
    records = [
        record("PMC5/F1", None, "Representative images are shown."),
        record("PMC5/F2", None, "Representative images are shown"),
        record("PMC5/F3", None, "Western blot of the lysates."),
    ]
    run = run_dedup(records, HASH_ONLY)
    assert run.kept_keys == {"PMC5/F1", "PMC5/F3"}
    assert run.duplicates == [
        {"key": "PMC5/F2", "dup_of": "PMC5/F1", "kind": "caption", "score": 1.0}
    ]


def test_keep_rule_prefers_larger_image_then_caption(photos):
    image = photos["astronaut"]
    small = encode(image.resize((256, 256)))
    records = [
        record("PMC6/a", small, "Astronaut."),
        record("PMC6/b", encode(image), "Astronaut."),
        record("PMC6/c", None, "Astronaut"),
    ]
    run = run_dedup(records, HASH_ONLY)
    assert run.kept_keys == {"PMC6/b"}
    assert run.dup_of() == {"PMC6/a": "PMC6/b", "PMC6/c": "PMC6/b"}
    kept = run.kept[0]
    assert kept["image_phash"] and kept["caption_hash"] == caption_hash("Astronaut")
    assert len(kept["image_pdq"] or "") in (0, 64)


def test_deterministic_across_splits_and_order(photos):
    records = variant_records(photos, ["jpeg70", "crop5_left"], lambda n, v: f"{n}.")
    first = run_dedup(records, HASH_ONLY, split=1)
    second = run_dedup(list(reversed(records)), HASH_ONLY, split=3)
    assert sorted(first.duplicates, key=str) == sorted(second.duplicates, key=str)
    assert sorted(first.kept, key=lambda r: r["key"]) == sorted(second.kept, key=lambda r: r["key"])


def test_bad_image_is_a_drop_not_a_crash(photos):
    broken = record("PMC7/F1", encode(photos["camera"]), "Camera.")
    broken["image"] = {"bytes": b"\x89PNG not really", "path": None}
    run = run_dedup([broken, record("PMC7/F2", encode(photos["coins"]), "Coins.")], HASH_ONLY)
    assert [(d.key, d.reason) for d in run.drops] == [("PMC7/F1", "bad_image")]
    assert run.ledger.ok


def test_decontamination_by_image_caption_and_id(photos, tmp_path):
    eval_dir = tmp_path / "eval_images"
    eval_dir.mkdir()
    (eval_dir / "x.jpg").write_bytes(VARIANTS["jpeg70"](photos["coffee"]))
    ids = tmp_path / "ids.txt"
    ids.write_text("# test set\nPMC9\nPMC8/F3\n")
    records = [
        record("PMC8/F1", encode(photos["coffee"]), "A cup."),
        record("PMC8/F2", encode(photos["camera"]), "A cameraman."),
        record("PMC8/F3", encode(photos["coins"]), "Coins.", pmcid="PMC8", fig_id="F3"),
        record("PMC9/F1", encode(photos["moon"]), "Moon.", pmcid="PMC9"),
    ]
    config = DedupConfig(embed="none", exclude=str(eval_dir), exclude_ids=str(ids))
    run = run_dedup(records, config)
    reasons = {d.key: (d.reason, d.detail) for d in run.drops}
    assert reasons["PMC8/F1"][0] == "eval_overlap" and reasons["PMC8/F1"][1].startswith("phash")
    assert reasons["PMC8/F3"] == ("eval_overlap", "id PMC8/F3")
    assert reasons["PMC9/F1"] == ("eval_overlap", "id PMC9")
    assert run.kept_keys == {"PMC8/F2"}

    captions = tmp_path / "captions.txt"
    captions.write_text("A cameraman!\n")
    run = run_dedup(records[:2], DedupConfig(embed="none", exclude=str(captions)))
    assert {d.key: d.reason for d in run.drops} == {"PMC8/F2": "eval_overlap"}


def test_missing_exclude_path_is_a_clear_error(tmp_path):
    config = DedupConfig(embed="none", exclude=str(tmp_path / "nope"))
    with pytest.raises(StageError, match="does not exist"):
        run_dedup([record("PMC1/F1", None, "x")], config)


def test_missing_embed_extra_names_the_pip_line(monkeypatch):
    from transforms.dedup.embed import check_embed_extra

    monkeypatch.setitem(sys.modules, "sentence_transformers", None)
    with pytest.raises(StageError) as err:
        check_embed_extra()
    assert "pip install 'biomed-curate[embed]'" in err.value.message
    assert "sentence_transformers" in err.value.message


def test_phash_distance_of_copies_and_distinct_photos(photos):
    """The radius is set between these: copies at <= 4 bits, distinct photos far apart."""
    from transforms.dedup.hashes import prepared_image

    for name, image in photos.items():
        whole = phash(prepared_image(encode(image)))
        for variant in ("jpeg40", "resize50", "border_white", "grayscale"):
            assert hamming(whole, phash(prepared_image(VARIANTS[variant](image)))) <= 4, (
                name,
                variant,
            )


def test_prepare_embeds_a_batch_as_it_embeds_one_record(photos):
    import numpy as np

    from transforms.dedup.clusters import VECTOR
    from transforms.dedup.prepare import make_prepare

    captions = [
        "Western blot of the lysates.",
        "Axial CT of the chest shows a mass in the right upper lobe.",
        None,  # no caption: no vector
        "H&E staining of the liver biopsy (x200).",
    ]
    records = [record(f"PMC6/F{i}", encode(photos["cell"]), c) for i, c in enumerate(captions)]
    prepare = make_prepare(DedupConfig())
    batched = prepare.batch(records)
    one_by_one = [prepare(r) for r in records]
    assert [VECTOR in r for r in batched] == [True, True, False, True]
    for a, b in zip(batched, one_by_one, strict=True):
        assert {k: v for k, v in a.items() if k != VECTOR} == {
            k: v for k, v in b.items() if k != VECTOR
        }
        if VECTOR in a:
            va, vb = (np.frombuffer(r[VECTOR], dtype=np.float32) for r in (a, b))
            assert va.shape == (384,) and np.allclose(va, vb, atol=1e-5)
            assert abs(float(va @ va) - 1.0) < 1e-4  # unit norm: inner product is cosine
