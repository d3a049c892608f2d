"""The crop rule: is one image a copy of the other cut by a few percent?

A 5% crop moves a 64-bit pHash by 6-18 bits, while distinct real figures can sit as
close as 10 (two CT slices of one patient, measured on ../shared/testdata), so no
Hamming radius on one whole-image hash separates them. The rule therefore needs two
things: linked captions (the caller's job: same normalised caption, or caption cosine
over a threshold), and image evidence from crop windows: each image is hashed whole
and in 18 windows that cut 5% or 10% of each dimension at 9 anchors, and the pair's
score is the smallest distance between one image's whole hash and the other's windows.
With `pdqhash` installed the same is done with the 256-bit PDQ hash, and both must agree.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

from transforms.dedup.config import DedupConfig
from transforms.dedup.hashes import crop_windows, hamming, pdq_bits, phash

# both hashes read at most 64x64 of a window: a 512-pixel copy keeps them and saves time
WORKING_SIDE = 512


@dataclass(frozen=True)
class CropHashes:
    phash: int
    phash_windows: tuple[int, ...]
    pdq: int | None = None
    pdq_windows: tuple[int, ...] = ()


def crop_hashes(image: Image.Image, with_pdq: bool) -> CropHashes:
    """Hashes of a (border-trimmed) figure and of its crop windows."""
    if max(image.size) > WORKING_SIDE:
        image = image.copy()
        image.thumbnail((WORKING_SIDE, WORKING_SIDE), Image.Resampling.BOX)
    windows = crop_windows(image)
    phashes = tuple(phash(w) for w in windows)
    if not with_pdq:
        return CropHashes(phash(image), phashes)
    return CropHashes(phash(image), phashes, pdq_bits(image), tuple(pdq_bits(w) for w in windows))


def window_distance(whole_a: int, windows_a: tuple[int, ...], whole_b: int, windows_b):
    """The smallest distance between one image's whole hash and the other's whole or windows."""
    candidates = [hamming(whole_a, whole_b)]
    candidates += [hamming(whole_a, w) for w in windows_b]
    candidates += [hamming(whole_b, w) for w in windows_a]
    return min(candidates)


def crop_scores(a: CropHashes, b: CropHashes) -> tuple[int, int | None]:
    """(pHash window distance, PDQ window distance or None when either lacks PDQ)."""
    phash_score = window_distance(a.phash, a.phash_windows, b.phash, b.phash_windows)
    if a.pdq is None or b.pdq is None:
        return phash_score, None
    return phash_score, window_distance(a.pdq, a.pdq_windows, b.pdq, b.pdq_windows)


def is_crop_copy(a: CropHashes, b: CropHashes, config: DedupConfig) -> tuple[bool, int]:
    """Whether the window distances pass, and the pHash window distance (the reported score)."""
    phash_score, pdq_score = crop_scores(a, b)
    if pdq_score is None:
        return phash_score <= config.crop_radius_without_pdq, phash_score
    passed = phash_score <= config.crop_radius and pdq_score <= config.crop_pdq_radius
    return passed, phash_score
