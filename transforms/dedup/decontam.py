"""Decontamination: records that are near an evaluation set, and records listed by id.

`--exclude PATH` is a folder of images, a text file of captions (one a line), or a
folder of Parquet shards with an `image` struct column and/or a `caption` column (ours,
or any). A record overlaps when its image is the same (sha256) or a pHash copy of an
evaluation image, or when its caption matches an evaluation caption and one of the two
has no image (the duplicate rule: a shared caption alone never joins two images).
`--exclude-ids FILE` lists PMCIDs (`PMC123`) or figures (`PMC123/F1`), one a line.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from transforms.dedup.config import DedupConfig
from transforms.dedup.groups import has_image
from transforms.dedup.hashes import caption_hash, hex_bits, phash, prepared_image
from transforms.dedup.search import cosine_matches, hamming_matches
from transforms.ledger import StageError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".gif", ".bmp", ".webp"}


@dataclass
class EvalSet:
    image_sha256: set[str] = field(default_factory=set)
    phashes: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.uint64))
    # captions of evaluation items without an image: any record's caption is compared
    text_captions: list[str] = field(default_factory=list)
    # captions of evaluation images: only records without an image are compared
    image_captions: list[str] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)
    text_vectors: np.ndarray | None = None
    image_caption_vectors: np.ndarray | None = None

    @property
    def text_hashes(self) -> set[str]:
        return {h for h in map(caption_hash, self.text_captions) if h}

    @property
    def image_caption_hashes(self) -> set[str]:
        return {h for h in map(caption_hash, self.image_captions) if h}


def read_ids(path: str) -> set[str]:
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return {line.strip() for line in lines if line.strip() and not line.startswith("#")}


def _add_image(evalset: EvalSet, data: bytes, hashes: list[int]) -> None:
    evalset.image_sha256.add(hashlib.sha256(data).hexdigest())
    try:
        hashes.append(phash(prepared_image(data)))
    except ValueError:
        pass  # an undecodable evaluation image still excludes its exact bytes


def load_eval_set(config: DedupConfig) -> EvalSet:
    """Read `--exclude` and `--exclude-ids`; a missing path fails before any work."""
    evalset = EvalSet()
    if config.exclude_ids:
        if not Path(config.exclude_ids).is_file():
            raise StageError("bad_option", f"--exclude-ids {config.exclude_ids!r} is not a file")
        evalset.ids = read_ids(config.exclude_ids)
    if config.exclude:
        _load_exclude(evalset, Path(config.exclude))
    if config.embed == "caption":
        from transforms.dedup.embed import embed_texts

        if evalset.text_captions:
            evalset.text_vectors = embed_texts(evalset.text_captions, config.embed_model)
        if evalset.image_captions:
            evalset.image_caption_vectors = embed_texts(evalset.image_captions, config.embed_model)
    return evalset


def _load_exclude(evalset: EvalSet, path: Path) -> None:
    hashes: list[int] = []
    if path.is_file():
        lines = path.read_text(encoding="utf-8").splitlines()
        evalset.text_captions = [line.strip() for line in lines if line.strip()]
    elif path.is_dir():
        parquet = sorted(path.rglob("*.parquet"))
        for file in parquet:
            _load_parquet(evalset, file, hashes)
        if not parquet:
            for file in sorted(path.rglob("*")):
                if file.suffix.lower() in IMAGE_SUFFIXES and file.is_file():
                    _add_image(evalset, file.read_bytes(), hashes)
    else:
        raise StageError("bad_option", f"--exclude {str(path)!r} does not exist")
    evalset.phashes = np.array(hashes, dtype=np.uint64)


def _load_parquet(evalset: EvalSet, file: Path, hashes: list[int]) -> None:
    import pyarrow.parquet as pq

    names = pq.read_schema(file).names
    columns = [c for c in ("image", "caption") if c in names]
    if not columns:
        raise StageError("bad_option", f"{file} has neither an image nor a caption column")
    for row in pq.read_table(file, columns=columns).to_pylist():
        image = row.get("image") or {}
        data = image.get("bytes") if isinstance(image, dict) else None
        if data:
            _add_image(evalset, data, hashes)
        if row.get("caption"):
            (evalset.image_captions if data else evalset.text_captions).append(row["caption"])


def id_overlap(record: dict[str, Any], ids: set[str]) -> str | None:
    pmcid = record.get("pmcid") or ""
    figure = f"{pmcid}/{record.get('fig_id') or ''}"
    for candidate in (pmcid, figure, record.get("parent_key") or "", record["key"]):
        if candidate and candidate in ids:
            return f"id {candidate}"
    return None


def overlaps(
    records: list[dict[str, Any]],
    vectors: dict[str, np.ndarray],
    evalset: EvalSet,
    config: DedupConfig,
) -> dict[str, str]:
    """key -> why, for each prepared record that overlaps the evaluation set."""
    found: dict[str, str] = {}
    text_hashes, image_caption_hashes = evalset.text_hashes, evalset.image_caption_hashes
    for record in records:
        why = id_overlap(record, evalset.ids)
        if why is None and has_image(record) and record.get("image_sha256") in evalset.image_sha256:
            why = "exact image"
        if why is None and record.get("caption_hash") in text_hashes:
            why = "caption"
        if (
            why is None
            and not has_image(record)
            and record.get("caption_hash") in image_caption_hashes
        ):
            why = "caption"
        if why is not None:
            found[record["key"]] = why
    hashed = [r for r in records if r["key"] not in found and r.get("image_phash")]
    codes = np.array([hex_bits(r["image_phash"]) for r in hashed], dtype=np.uint64)
    for q, _, distance in hamming_matches(codes, evalset.phashes, config.phash_radius):
        found.setdefault(hashed[q]["key"], f"phash {int(distance)}")
    _embedding_overlaps(records, vectors, evalset, config, found)
    return found


def _embedding_overlaps(records, vectors, evalset, config, found) -> None:
    for base, image_only in (
        (evalset.text_vectors, False),
        (evalset.image_caption_vectors, True),
    ):
        if base is None:
            continue
        queries = [
            r
            for r in records
            if r["key"] not in found and r["key"] in vectors and not (image_only and has_image(r))
        ]
        if not queries:
            continue
        matrix = np.stack([vectors[r["key"]] for r in queries])
        for q, _, score in cosine_matches(matrix, base, config.caption_cosine, config.backend):
            found.setdefault(queries[q]["key"], f"caption cosine {score:.4f}")
