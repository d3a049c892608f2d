"""The train/validation split, made per article so no article straddles the two.

An article's split is a seeded hash of the article part of its records' keys (the PMCID,
or the DOI slug or file stem that stands in for it): every figure and panel of one article
lands on the same side, on every run and every worker, with no shared state.
"""

from __future__ import annotations

import hashlib

TRAIN = "train"
VALIDATION = "validation"
SPLITS = (TRAIN, VALIDATION)
DEFAULT_VALIDATION_FRACTION = 0.10
DEFAULT_SPLIT_SEED = 0


def article_of(key: str) -> str:
    """The article part of a record key: `PMC1234567/F1/p2` -> `PMC1234567`."""
    return key.split("/", 1)[0]


def unit_interval(text: str, seed: int, salt: str) -> float:
    """A seeded hash of `text` as a float in [0, 1)."""
    digest = hashlib.blake2b(
        text.encode("utf-8"), digest_size=8, key=f"{salt}:{seed}".encode()
    ).digest()
    return int.from_bytes(digest, "big") / 2**64


def split_of(
    key: str,
    seed: int = DEFAULT_SPLIT_SEED,
    validation_fraction: float = DEFAULT_VALIDATION_FRACTION,
) -> str:
    """`validation` for about `validation_fraction` of the articles, `train` for the rest."""
    if not 0.0 <= validation_fraction <= 1.0:
        raise ValueError(f"validation fraction {validation_fraction} is not in [0, 1]")
    if unit_interval(article_of(key), seed, "split") < validation_fraction:
        return VALIDATION
    return TRAIN
