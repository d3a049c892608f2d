"""The dedup stage: balanced records -> deduped records + `duplicates-*`.

prepare (hashes, once per record) -> pool pass (whole-pool exact/pHash groups, k-means
centroids, the evaluation set) -> group key (SemDeDup cluster) -> the unit per cluster
(transforms/dedup/unit.py). The embed extra is checked here, before the pipeline starts.
"""

from __future__ import annotations

import argparse
import dataclasses
import json

from pipeline.stage_spec import ExtraOutput, PoolPass, StageSpec, record_key
from pipeline.staging import localize_config
from schemas.records import DUPLICATE_SCHEMA
from transforms.dedup.clusters import make_group_key
from transforms.dedup.config import EMBED_MODES, DedupConfig
from transforms.dedup.decontam import load_eval_set
from transforms.dedup.embed import check_embed_extra, resolve_model
from transforms.dedup.image_embed import ImageModel, check_image_extra, load_image_model
from transforms.dedup.pool import DedupPoolCombine
from transforms.dedup.prepare import make_prepare
from transforms.dedup.search import BACKENDS
from transforms.dedup.unit import make_dedup_fn
from transforms.ledger import StageError

DEFAULTS = DedupConfig()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--embed",
        choices=EMBED_MODES,
        default=DEFAULTS.embed,
        help="caption: caption embeddings (sentence-transformers, the embed extra); "
        "none: hash-only dedup, the cheap first pass (default %(default)s)",
    )
    parser.add_argument(
        "--embed-model",
        help="a local sentence-transformers folder (default: the bundled all-MiniLM-L6-v2)",
    )
    parser.add_argument(
        "--caption-threshold",
        type=float,
        default=DEFAULTS.caption_cosine,
        help="cosine at or above which two captions are near-duplicates (default %(default)s)",
    )
    parser.add_argument(
        "--image-model",
        help="an open_clip checkpoint (the bundled trainer's step-*.pt fits): images whose "
        "embeddings are within --image-threshold are duplicates (kind image); needs the "
        "train extra",
    )
    parser.add_argument(
        "--image-arch",
        help="the open_clip architecture of --image-model: a name open_clip or the trainer "
        "knows, or an open_clip model config .json (default: the one a trainer checkpoint "
        "names)",
    )
    parser.add_argument(
        "--image-threshold",
        type=float,
        default=DEFAULTS.image_cosine,
        help="cosine at or above which two images are duplicates (default %(default)s)",
    )
    parser.add_argument(
        "--phash-radius",
        type=int,
        default=DEFAULTS.phash_radius,
        help="pHash Hamming radius of an image copy (default %(default)s)",
    )
    parser.add_argument(
        "--dedup-backend",
        choices=BACKENDS,
        default=DEFAULTS.backend,
        help="vector search: FAISS GPU when FAISS sees one, else FAISS CPU, else torch",
    )
    parser.add_argument("--no-pdq", action="store_true", help="skip the 256-bit PDQ hash")
    parser.add_argument(
        "--max-cluster-size",
        type=int,
        default=DEFAULTS.max_cluster_size,
        help="records at most in one dedup unit; larger clusters are split",
    )
    parser.add_argument(
        "--dedup-max-visits",
        type=int,
        default=DEFAULTS.max_visits,
        help="a record is also searched, as a query only, in up to this many neighbouring "
        "SemDeDup clusters whose border is within the caption threshold of it, so pairs "
        "split by a border are found (0: its own cluster only; default %(default)s)",
    )
    parser.add_argument(
        "--exclude",
        help="an evaluation set to remove near-duplicates of: a folder of images, a text "
        "file of captions, or a folder of Parquet shards (image and/or caption columns)",
    )
    parser.add_argument(
        "--exclude-ids", help="a file of PMCIDs or PMCID/figure ids (one a line) to remove"
    )
    parser.add_argument(
        "--dedup-accelerator",
        help="a Beam accelerator resource hint for the dedup step, e.g. "
        "'type:nvidia-l4;count:1;install-nvidia-driver' (Dataflow)",
    )


# the files and folders its workers read
STAGED_PATHS = (
    "embed_model",
    "exclude",
    "exclude_ids",
    "image_model.checkpoint",
    "image_model.config_path",
)


def image_model(path: str, arch: str | None) -> ImageModel:
    """The checkpoint resolved on the launching machine: its architecture (from a trainer
    checkpoint unless named), a local text tower, the trainer's configs, then one load."""
    check_image_extra()
    from pathlib import Path

    from trainer.models import MODEL_CONFIG_DIR, ModelSpec, resolve_text_init, spec_from_checkpoint
    from trainer.models import _model_kwargs as model_kwargs

    if not Path(path).is_file():
        raise StageError("bad_option", f"--image-model {path!r} does not exist")
    config_path = str(MODEL_CONFIG_DIR)
    if arch and arch.endswith(".json"):
        # an open_clip model config file: registered under its file name, here and on workers
        if not Path(arch).is_file():
            raise StageError("bad_option", f"--image-arch {arch!r} does not exist")
        import open_clip

        config_path = str(Path(arch).resolve())
        open_clip.add_model_config(config_path)
        arch = Path(arch).stem
    spec = ModelSpec(arch) if arch else spec_from_checkpoint(path)
    spec = resolve_text_init(spec)
    model = ImageModel(
        str(Path(path).resolve()),
        spec.name,
        json.dumps(model_kwargs(spec), sort_keys=True),
        config_path,
    )
    load_image_model(model)  # a checkpoint that does not fit its architecture fails here
    return model


def make_config(args: argparse.Namespace) -> DedupConfig:
    """Options checked on the launching machine: a missing extra or path fails here."""
    try:
        images = image_model(args.image_model, args.image_arch) if args.image_model else None
        config = DedupConfig(
            image_model=images,
            image_cosine=args.image_threshold,
            embed=args.embed,
            embed_model=args.embed_model,
            caption_cosine=args.caption_threshold,
            phash_radius=args.phash_radius,
            backend=args.dedup_backend,
            pdq=not args.no_pdq,
            max_cluster_size=args.max_cluster_size,
            max_visits=args.dedup_max_visits,
            target_cluster_size=min(DEFAULTS.target_cluster_size, args.max_cluster_size),
            exclude=args.exclude,
            exclude_ids=args.exclude_ids,
        )
        # gs:// and s3:// paths are checked through a local copy, as the workers read them
        checked = localize_config(config, STAGED_PATHS)
        if checked.embed == "caption":
            check_embed_extra()
            resolve_model(checked.embed_model)
        if checked.exclude or checked.exclude_ids:
            load_eval_set(dataclasses.replace(checked, embed="none"))
    except (StageError, ValueError, RuntimeError, FileNotFoundError) as exc:
        raise SystemExit(f"dedup: {getattr(exc, 'message', exc)}") from exc
    return dataclasses.replace(config, accelerator=args.dedup_accelerator)


def resource_hints(config: DedupConfig) -> dict[str, str]:
    return {"accelerator": config.accelerator} if config.accelerator else {}


DEDUP = StageSpec(
    name="dedup",
    output_kind="deduped",
    input_kind="balanced",
    add_arguments=add_arguments,
    make_config=make_config,
    make_fn=make_dedup_fn,
    unit_key=record_key,
    prepare=make_prepare,
    pool=PoolPass(make_combine=DedupPoolCombine),
    group_key=make_group_key,
    extra_outputs=(ExtraOutput("duplicates", DUPLICATE_SCHEMA, "key"),),
    resource_hints=resource_hints,
    staged_paths=STAGED_PATHS,
)
