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
from transforms.dedup.clusters import VECTOR
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


# captions embedded in one call: the encoder's own batch (transforms/dedup/embed.py)
EMBED_BATCH = 64


class PrepareRecords:
    """`hash_record`, and with caption embeddings on, the caption's vector. The pipeline
    hands it `batch_size` records at a time (`batch`), so captions are embedded in batches;
    one record at a time (`__call__`) gives the same fields."""

    def __init__(self, config: DedupConfig) -> None:
        self.config = config
        self.with_pdq = config.pdq and pdq_available()
        self.batch_size = EMBED_BATCH

    def __call__(self, record: Record) -> Record:
        return self.batch([record])[0]

    def batch(self, records: list[Record]) -> list[Record]:
        prepared = [hash_record(record, self.with_pdq) for record in records]
        if self.config.embed != "caption":
            return prepared
        captioned = [r for r in prepared if r["caption_hash"]]
        if captioned:
            from transforms.dedup.embed import embed_texts

            vectors = embed_texts([r["caption"] for r in captioned], self.config.embed_model)
            for record, vector in zip(captioned, vectors, strict=True):
                record[VECTOR] = vector.tobytes()
        return prepared


def make_prepare(config: DedupConfig) -> Callable[[Record], Record]:
    return PrepareRecords(config)
