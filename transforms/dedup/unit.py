"""The dedup unit: one group of prepared records (a SemDeDup cluster) and the pool.

In order, each record of the group is:
1. a Drop `bad_image` when it has image bytes that do not decode;
2. a Drop `eval_overlap` when it is near the evaluation set (`decontam`);
3. a Drop `duplicate` when the pool pass found it an exact or pHash copy, or a
   caption-only record whose caption a better record has;
4. a Drop `duplicate` (kind `phash_crop`) when its caption is linked to a better
   record's (same normalised caption, or cosine >= crop_caption_cosine) and the crop
   rule (`crops`) finds one image a crop of the other, or (kind `image`, with
   `--image-model`) when its image embedding is within image_cosine of a better
   record's (the better record may itself be a pool duplicate: the Drop then names the
   record kept in its place);
5. a Drop `duplicate` (kind `caption`) when it has no image and its caption embedding
   is within caption_cosine of a better record's, a member of the group or a visitor
   (a record of a nearby cluster sent here as a query only, clusters.py);
6. kept, with the `deduped` fields, `dedup_cluster` set to the group.
Duplicates also come back as rows of the `duplicates` extra table. Visitors are never
output: their own home group decides for them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

import numpy as np

from schemas.records import DEDUPED_SCHEMA, new_record
from transforms.dedup.clusters import RANK, VECTOR, cluster_number
from transforms.dedup.config import DedupConfig
from transforms.dedup.crops import crop_hashes, is_crop_copy
from transforms.dedup.decontam import overlaps
from transforms.dedup.groups import (
    Duplicate,
    attach_to_best,
    compress_chains,
    has_image,
    keep_rank,
    resolve_links,
)
from transforms.dedup.hashes import open_image, pdq_available, prepared_image
from transforms.dedup.search import cosine_pairs, member_pairs
from transforms.ledger import VISITOR, Drop, UnitResult

Record = dict[str, Any]


def caption_vectors(records: list[Record], config: DedupConfig) -> dict[str, np.ndarray]:
    """key -> unit-norm caption embedding: the one a record carries from its group key (the
    clustered path), else made here in key order (the records come sorted)."""
    if config.embed != "caption":
        return {}
    out = {r["key"]: np.frombuffer(r[VECTOR], dtype=np.float32) for r in records if r.get(VECTOR)}
    with_caption = [r for r in records if r.get("caption_hash") and r["key"] not in out]
    if with_caption:
        from transforms.dedup.embed import embed_texts

        vectors = embed_texts([r["caption"] for r in with_caption], config.embed_model)
        out.update({r["key"]: vectors[i] for i, r in enumerate(with_caption)})
    return out


def linked_caption_pairs(
    records: list[Record], vectors: dict[str, np.ndarray], threshold: float, backend: str
) -> set[tuple[int, int]]:
    """Index pairs (i < j) whose captions are the same normalised text or close embeddings."""
    pairs: set[tuple[int, int]] = set()
    by_hash: dict[str, list[int]] = defaultdict(list)
    for index, record in enumerate(records):
        if record.get("caption_hash"):
            by_hash[record["caption_hash"]].append(index)
    for members in by_hash.values():
        pairs.update((a, b) for pos, a in enumerate(members) for b in members[pos + 1 :])
    embedded = [i for i, r in enumerate(records) if r["key"] in vectors]
    if len(embedded) > 1:
        matrix = np.stack([vectors[records[i]["key"]] for i in embedded])
        for a, b, _ in cosine_pairs(matrix, threshold, backend):
            pairs.add((embedded[a], embedded[b]))
    return pairs


def image_links(images: list[Record], config: DedupConfig) -> list[tuple[int, int, str, float]]:
    """(i, j, "image", cosine) for image pairs whose embeddings pass image_cosine."""
    if config.image_model is None or len(images) < 2:
        return []
    from transforms.dedup.image_embed import embed_images

    vectors = embed_images([open_image(r["image"]["bytes"]) for r in images], config.image_model)
    pairs = cosine_pairs(vectors, config.image_cosine, config.backend)
    return [(a, b, "image", score) for a, b, score in pairs]


def crop_duplicates(
    images: list[Record], vectors: dict[str, np.ndarray], config: DedupConfig, with_pdq: bool
) -> dict[str, Duplicate]:
    """The crop rule over records with images (caption-linked pairs, then crop windows),
    joined with the image-embedding links."""
    pairs = sorted(
        linked_caption_pairs(images, vectors, config.crop_caption_cosine, config.backend)
    )
    hashes = {}
    links = []
    for a, b in pairs:
        for index in (a, b):
            if index not in hashes:
                hashes[index] = crop_hashes(
                    prepared_image(images[index]["image"]["bytes"]), with_pdq
                )
        passed, score = is_crop_copy(hashes[a], hashes[b], config)
        if passed:
            links.append((a, b, "phash_crop", float(score)))
    links += image_links(images, config)
    keys = [r["key"] for r in images]
    return resolve_links(keys, [keep_rank(r) for r in images], links)


def caption_duplicates(
    survivors: list[Record],
    visitors: list[Record],
    vectors: dict[str, np.ndarray],
    config: DedupConfig,
) -> dict[str, Duplicate]:
    """Records without an image, against every survivor or visitor with a close caption."""
    embedded = [r for r in survivors if r["key"] in vectors]
    guests = [r for r in visitors if r["key"] in vectors]
    if not embedded or len(embedded) + len(guests) < 2:
        return {}
    dim = len(vectors[embedded[0]["key"]])
    matrix = np.stack([vectors[r["key"]] for r in embedded])
    guest_matrix = np.stack([vectors[r["key"]] for r in guests]) if guests else np.zeros((0, dim))
    candidates: dict[int, list[int]] = defaultdict(list)
    scores: dict[tuple[int, int], float] = {}
    for a, b, score in member_pairs(matrix, guest_matrix, config.caption_cosine, config.backend):
        candidates[a].append(b)
        candidates[b].append(a)
        scores[(a, b)] = scores[(b, a)] = score
    members = [i for i, r in enumerate(embedded) if not has_image(r)]
    keys = [r["key"] for r in embedded] + [r["key"] for r in guests]
    ranks = [keep_rank(r) for r in embedded] + [tuple(r[RANK]) for r in guests]
    return attach_to_best(members, candidates, ranks, keys, "caption", scores)


def dedup_group(
    unit: tuple[str, list[Record]], pool: Any, config: DedupConfig, with_pdq: bool
) -> UnitResult:
    group_key, group = unit
    records = sorted((r for r in group if not r.get(VISITOR)), key=lambda r: r["key"])
    visitors = sorted((r for r in group if r.get(VISITOR)), key=lambda r: r["key"])
    result = UnitResult()
    bad = [r for r in records if has_image(r) and not r.get("image_phash")]
    for record in bad:
        result.drops.append(
            Drop(
                record["key"], "bad_image", record.get("source_uri") or "", "image does not decode"
            )
        )
    records = [r for r in records if not (has_image(r) and not r.get("image_phash"))]
    vectors = caption_vectors(records + visitors, config)
    if pool.eval_set is not None:
        uri_of = {r["key"]: r.get("source_uri") or "" for r in records}
        for key, why in overlaps(records, vectors, pool.eval_set, config).items():
            result.drops.append(Drop(key, "eval_overlap", uri_of[key], why))
    gone = {d.key for d in result.drops}
    removed = {r["key"]: pool.removed[r["key"]] for r in records if r["key"] in pool.removed}
    # the crop rule also sees copies the pool removed: a crop of an original that lost to
    # a larger copy (with another caption) still meets the original, then follows it
    images = [r for r in records if r["key"] not in gone and has_image(r)]
    for key, dup in crop_duplicates(images, vectors, config, with_pdq).items():
        removed.setdefault(key, dup)
    survivors = [r for r in records if r["key"] not in gone and r["key"] not in removed]
    removed.update(caption_duplicates(survivors, visitors, vectors, config))
    removed = compress_chains(removed, pool.removed)
    cluster = cluster_number(group_key)
    rows = []
    for record in records:
        key = record["key"]
        if key in gone:
            continue
        dup = removed.get(key)
        if dup is None:
            fields = {k: v for k, v in record.items() if k != VECTOR}
            result.records.append(
                new_record(DEDUPED_SCHEMA, **{**fields, "dedup_cluster": cluster})
            )
            continue
        detail = f"{dup.kind} of {dup.dup_of} (score {dup.score:g})"
        result.drops.append(Drop(key, "duplicate", record.get("source_uri") or "", detail))
        rows.append(dup.row())
    result.extra["duplicates"] = rows
    if not result.records:
        result.empty_reason = "all_dropped" if result.drops else "no_records"
    return result


def make_dedup_fn(config: DedupConfig) -> Callable[[tuple[str, list[Record]], Any], UnitResult]:
    """The stage's unit function, built once per worker."""
    with_pdq = config.pdq and pdq_available()
    if config.embed == "caption":
        from transforms.dedup.embed import check_embed_extra

        check_embed_extra()
    if config.image_model is not None:
        from transforms.dedup.image_embed import check_image_extra

        check_image_extra()
    return lambda unit, pool: dedup_group(unit, pool, config, with_pdq)
