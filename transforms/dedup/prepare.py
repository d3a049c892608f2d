"""The per-record step before the pool pass: hash each record once.

It adds the `deduped` fields (image_phash, image_pdq, caption_hash; dedup_cluster is
set by the unit) so the pool pass, the group key and the unit read hashes instead of
decoding images again. With caption embeddings on, it also embeds the caption, here,
where the records are spread over every worker: the k-means sample, the cluster routing
and the unit's search all use that one vector (carried as float32 bytes under
`clusters.VECTOR`, which the unit strips), so no caption is embedded twice and no
embedding waits for the pool pass. An image that does not decode gets `image_phash = None`; the unit
turns that record into a Drop with reason `bad_image`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from schemas.records import DEDUPED_SCHEMA, new_record
from transforms.dedup.clusters import VECTOR, caption_vector
from transforms.dedup.config import DedupConfig
from transforms.dedup.groups import has_image
from transforms.dedup.hashes import (
    caption_hash,
    hash_hex,
    pdq_available,
    pdq_bits,
    pdq_hex,
    phash,
    prepared_image,
)

Record = dict[str, Any]


def hash_record(record: Record, with_pdq: bool) -> Record:
    """The record with the dedup hash fields filled (a DEDUPED_SCHEMA dict)."""
    fields = {"caption_hash": caption_hash(record.get("caption"))}
    if has_image(record):
        try:
            image = prepared_image(record["image"]["bytes"])
        except ValueError:
            image = None
        if image is not None:
            fields["image_phash"] = hash_hex(phash(image))
            if with_pdq:
                fields["image_pdq"] = pdq_hex(pdq_bits(image))
    values = {**record, **fields}
    return new_record(DEDUPED_SCHEMA, **values)


def make_prepare(config: DedupConfig) -> Callable[[Record], Record]:
    with_pdq = config.pdq and pdq_available()
    if config.embed != "caption":
        return lambda record: hash_record(record, with_pdq)

    def prepare(record: Record) -> Record:
        prepared = hash_record(record, with_pdq)
        if prepared["caption_hash"]:
            prepared[VECTOR] = caption_vector(prepared, config)
        return prepared

    return prepare
