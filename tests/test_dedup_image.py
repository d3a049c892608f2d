"""Image-embedding dedup (`--image-model`) on the real Beam runner, with a randomly
initialised open_clip checkpoint this test saves itself, on real figures."""

from __future__ import annotations

import json
import sys

import pytest
from dedup_variants import encode, real_figure_paths, record
from PIL import Image
from test_dedup_stage import parse, rows, write_balanced

from pipeline.runner import run
from pipeline.stages.dedup import DEDUP
from transforms.dedup.hashes import phash, prepared_image

open_clip = pytest.importorskip("open_clip")
torch = pytest.importorskip("torch")

BEAM_ARGS = ["--direct_num_workers=2"]
# a small ViT; with random weights every embedding sits close to every other (distinct
# real figures at cosine 0.9998 and up), so the test's threshold is high: rounded to
# the 4 decimals scores keep, only 1.0000 passes
ARCH = {
    "embed_dim": 128,
    "vision_cfg": {
        "image_size": 128,
        "layers": 2,
        "width": 128,
        "head_width": 32,
        "patch_size": 16,
    },
    "text_cfg": {"context_length": 32, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 1},
}
THRESHOLD = "0.99995"


def random_checkpoint(folder) -> tuple[str, str]:
    """(checkpoint, config file) of a seeded random open_clip model, as open_clip saves one."""
    config = folder / "dedup-test-vit.json"
    config.write_text(json.dumps(ARCH))
    open_clip.add_model_config(str(config))
    torch.manual_seed(0)
    model = open_clip.create_model("dedup-test-vit")
    checkpoint = folder / "random.pt"
    torch.save({"state_dict": model.state_dict()}, checkpoint)
    return str(checkpoint), str(config)


@pytest.mark.beam
def test_a_reencoded_copy_is_found_and_distinct_figures_are_not_linked(tmp_path) -> None:
    checkpoint, config = random_checkpoint(tmp_path)
    figures = {p.stem: Image.open(p).convert("RGB") for p in real_figure_paths()}
    assert len(figures) >= 20
    records = [record(f"A-ORIG/{n}", encode(im), f"Figure {n}.") for n, im in figures.items()]
    # copies whose pHash moved: with --phash-radius 0 only the image embedding finds them
    copies = {}
    for name, image in figures.items():
        data = encode(image, "JPEG", 80)
        if phash(prepared_image(data)) != phash(prepared_image(encode(image))):
            copies[name] = data
        if len(copies) == 3:
            break
    assert len(copies) == 3
    records += [record(f"B-COPY/{n}", d, f"A copy of {n}.") for n, d in copies.items()]
    write_balanced(tmp_path / "balanced", records)
    out = tmp_path / "deduped"
    args = parse(
        *("--input", str(tmp_path / "balanced"), "--output", str(out), "--embed", "none"),
        *("--image-model", checkpoint, "--image-arch", config, "--image-threshold", THRESHOLD),
        *("--phash-radius", "0", "--no-pdq"),
    )
    args.force, args.quiet = True, True
    stats = run([DEDUP], args, BEAM_ARGS, chain=False)["dedup"]
    assert stats["ledger_ok"] and stats["in"] == len(records)
    kept = {r["key"] for r in rows(out, "data")}
    # every distinct figure kept (none linked to another), every copy gone as an image copy
    assert kept == {f"A-ORIG/{n}" for n in figures}
    found = {(d["key"], d["dup_of"], d["kind"]) for d in rows(out, "duplicates")}
    assert found == {(f"B-COPY/{n}", f"A-ORIG/{n}", "image") for n in copies}


def test_missing_train_extra_fails_before_the_pipeline_with_the_pip_line(monkeypatch, tmp_path):
    checkpoint = tmp_path / "model.pt"
    checkpoint.write_bytes(b"not read")
    monkeypatch.setitem(sys.modules, "open_clip", None)
    args = parse(
        "--input", "x", "--output", "y", "--embed", "none", "--image-model", str(checkpoint)
    )
    with pytest.raises(SystemExit, match=r"pip install 'biomed-curate\[train\]'"):
        DEDUP.make_config(args)


def test_a_trainer_checkpoint_names_its_own_architecture(tmp_path) -> None:
    from pipeline.stages.dedup import image_model
    from trainer.models import ModelSpec, create_model

    spec = ModelSpec("biomed-tiny")
    model, _, _ = create_model(spec)
    path = tmp_path / "step-00000001.pt"
    torch.save({"state_dict": model.state_dict(), "model": spec.to_dict()}, path)
    resolved = image_model(str(path), None)
    assert resolved.arch == "biomed-tiny" and resolved.checkpoint == str(path.resolve())
