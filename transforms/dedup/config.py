"""Dedup options, with the defaults measured on real figures (see benchmarks/dedup.py)."""

from __future__ import annotations

from dataclasses import dataclass

from transforms.dedup.image_embed import ImageModel

EMBED_MODES = ("caption", "none")


@dataclass(frozen=True)
class DedupConfig:
    # "caption": caption embeddings (sentence-transformers); "none": hashes only
    embed: str = "caption"
    # a local sentence-transformers folder; None is the bundled all-MiniLM-L6-v2
    embed_model: str | None = None
    # pHash Hamming radius for a perceptual duplicate of the whole (border-trimmed) image.
    # Re-encoded, resized, re-bordered and grey copies sit at 0-4 bits; the closest
    # distinct real figures measured (two CT slices of one patient) at 10
    phash_radius: int = 6
    # crop rule: two images whose captions are linked (same normalised caption, or cosine
    # >= crop_caption_cosine) are crops of each other when the crop-window distance of
    # their pHashes is <= crop_radius and of their PDQ hashes <= crop_pdq_radius. Measured
    # (benchmarks/dedup.py): 2-10% crops of 57 real images at most 14 and 88 bits; the
    # closest of 1,596 distinct pairs (two CT slices) at 10 and 74. Without pdqhash the
    # pHash window alone decides, at crop_radius_without_pdq (distinct pairs start at 10)
    crop_radius: int = 16
    crop_pdq_radius: int = 72
    crop_radius_without_pdq: int = 8
    crop_caption_cosine: float = 0.85
    # caption near-duplicates (records without an image; crop evidence): cosine >= this
    caption_cosine: float = 0.95
    # image embeddings (`--image-model`): an ImageModel (image_embed.py) or None, and the
    # rounded cosine at or above which two images are duplicates (kind `image`). 0.97 is a
    # starting point for a trained CLIP; a randomly initialised model needs a higher one
    image_model: ImageModel | None = None
    image_cosine: float = 0.97
    # compute the 256-bit PDQ hash too (needs the `pdqhash` package)
    pdq: bool = True
    # search backend: auto | faiss-gpu | faiss-cpu | torch
    backend: str = "auto"
    # SemDeDup: one cluster below this many records; k-means on a sample above it
    exact_limit: int = 200_000
    # records per cluster aimed at: smaller clusters make the within-cluster search cheaper
    # and the border pairs more; 5,000 with 4 visits measured 0.99+ recall of planted pairs
    # at 1M random vectors (benchmarks/dedup.py)
    target_cluster_size: int = 5_000
    max_cluster_size: int = 60_000
    kmeans_sample: int = 100_000
    kmeans_iterations: int = 20
    kmeans_min_points: int = 39  # sampled points per centroid at least (FAISS's own floor)
    # a record also visits (as a query only) up to this many other clusters whose cell
    # border is within the caption threshold's distance of it (clusters.py); 0: none
    max_visits: int = 4
    seed: int = 1234
    # buckets that spread records over workers when --embed none
    hash_buckets: int = 1024
    # decontamination: a folder of images / a captions file / a shard folder; ids file
    exclude: str | None = None
    exclude_ids: str | None = None
    # a Beam accelerator resource hint for the dedup step (Dataflow), or None
    accelerator: str | None = None

    def __post_init__(self) -> None:
        if self.embed not in EMBED_MODES:
            raise ValueError(f"--embed must be one of {EMBED_MODES}, not {self.embed!r}")
        for name in ("caption_cosine", "crop_caption_cosine", "image_cosine"):
            value = getattr(self, name)
            if not -1.0 <= value <= 1.0:
                raise ValueError(f"{name} must be a cosine in [-1, 1], not {value}")
        if self.max_visits < 0:
            raise ValueError(f"max_visits must be >= 0, not {self.max_visits}")
        if not 0 <= self.phash_radius <= self.crop_radius <= 64:
            raise ValueError("need 0 <= phash_radius <= crop_radius <= 64")
