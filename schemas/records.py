"""pyarrow schemas for every record kind, and the HF `Features` of the shards.

Records travel between stages as plain dicts whose keys are exactly a schema's
field names; `new_record` fills the absent fields with nulls and rejects unknown
ones, so a typo fails where it is made rather than in the Parquet writer.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

IMAGE_TYPE = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
LANG_TEXT_TYPE = pa.struct([("lang", pa.string()), ("text", pa.string())])
FIELD_SOURCE_TYPE = pa.struct([("field", pa.string()), ("source", pa.string())])

ARTICLE_FIELDS: list[pa.Field] = [
    pa.field("key", pa.string(), nullable=False),
    pa.field("pmcid", pa.string()),
    pa.field("pmid", pa.string()),
    pa.field("doi", pa.string()),
    # PMC's version of the article (`PMC1234567.2` -> 2); never part of the key
    pa.field("article_version", pa.int32()),
    pa.field("article_title", pa.string()),
    pa.field("journal", pa.string()),
    pa.field("year", pa.int32()),
    pa.field("article_type", pa.string()),
    pa.field("language", pa.string()),
    pa.field("license", pa.string()),
    pa.field("license_url", pa.string()),
    pa.field("authors", pa.list_(pa.string())),
    pa.field("citation", pa.string()),
]

FIGURE_FIELDS: list[pa.Field] = [
    pa.field("fig_id", pa.string()),
    pa.field("label", pa.string()),
    pa.field("caption_title", pa.string()),
    pa.field("caption", pa.string()),
    pa.field("captions_other", pa.list_(LANG_TEXT_TYPE)),
    pa.field("mentions", pa.list_(pa.string())),
]

IMAGE_FIELDS: list[pa.Field] = [
    pa.field("image", IMAGE_TYPE),
    pa.field("image_format", pa.string()),
    pa.field("width", pa.int32()),
    pa.field("height", pa.int32()),
    pa.field("image_sha256", pa.string()),
    # "ok" or "missing" (caption-only mode)
    pa.field("image_status", pa.string()),
]

PROVENANCE_FIELDS: list[pa.Field] = [
    pa.field("source_kind", pa.string()),  # "jats" or "pdf"
    pa.field(
        "source_uri", pa.string()
    ),  # the article file (the XML even when a PDF gave the image)
    pa.field("image_uri", pa.string()),  # the file the image bytes came from
    pa.field("field_sources", pa.list_(FIELD_SOURCE_TYPE)),
]

FIGURE_SCHEMA = pa.schema(ARTICLE_FIELDS + FIGURE_FIELDS + IMAGE_FIELDS + PROVENANCE_FIELDS)

PANEL_FIELDS: list[pa.Field] = [
    pa.field("parent_key", pa.string()),
    pa.field("panel_index", pa.int32()),
    pa.field("panel_label", pa.string()),
    pa.field("bbox", pa.list_(pa.int32())),  # [x0, y0, x1, y1] in the parent's pixels
    pa.field("is_compound", pa.bool_()),
    pa.field("subcaption", pa.string()),
    # the pieces of `caption` that make up `subcaption`, [start, end) positions in `caption`
    pa.field("subcaption_spans", pa.list_(pa.struct([("start", pa.int32()), ("end", pa.int32())]))),
    pa.field("caption_preamble", pa.string()),
    # what decided the split: one of transforms/segment/panel_types.METHODS, "no_image" or
    # "parent" (README, segment); seg_detail says it in words (counts, why left whole)
    pa.field("seg_method", pa.string()),
    pa.field("seg_detail", pa.string()),
    # measured share of correct panels for that method on the hand-boxed set, or null
    pa.field("seg_score", pa.float32()),
    pa.field("align_status", pa.string()),
]
PANEL_SCHEMA = pa.schema(list(FIGURE_SCHEMA) + PANEL_FIELDS)

CONCEPT_TYPE = pa.struct(
    [
        ("cui", pa.string()),
        ("name", pa.string()),
        ("start", pa.int32()),  # offsets into the record's `caption`
        ("end", pa.int32()),
        ("semtypes", pa.list_(pa.string())),
        ("semgroup", pa.string()),
        ("negated", pa.bool_()),
    ]
)
TAG_FIELDS: list[pa.Field] = [
    pa.field("concepts", pa.list_(CONCEPT_TYPE)),
    pa.field("modalities", pa.list_(pa.string())),  # "top/sub", e.g. "radiology/ct"
    # why `concepts` is empty (null when it is not): no_text, language_unsupported,
    # generic_only, no_match
    pa.field("concepts_empty_reason", pa.string()),
]
TAGGED_SCHEMA = pa.schema(list(PANEL_SCHEMA) + TAG_FIELDS)

BALANCE_FIELDS: list[pa.Field] = [
    pa.field("entries", pa.list_(pa.string())),  # the metadata entries it was balanced on
    pa.field("keep_prob", pa.float32()),  # probability of being kept, from entry counts and t
]
BALANCED_SCHEMA = pa.schema(list(TAGGED_SCHEMA) + BALANCE_FIELDS)

DEDUP_FIELDS: list[pa.Field] = [
    pa.field("image_phash", pa.string()),  # 64-bit DCT hash, 16 hex digits; null without image
    pa.field("image_pdq", pa.string()),  # 256-bit PDQ hash, 64 hex digits, when enabled
    pa.field("caption_hash", pa.string()),  # sha1 of the normalised caption
    pa.field("dedup_cluster", pa.int32()),  # the SemDeDup cluster it was compared within
]
DEDUPED_SCHEMA = pa.schema(list(BALANCED_SCHEMA) + DEDUP_FIELDS)

EXPORT_FIELDS: list[pa.Field] = [
    pa.field("text", pa.string()),  # the training text, the same as the WebDataset `.txt`
    pa.field("text_full", pa.string()),  # the training text before the CLIP token budget
    pa.field("split", pa.string()),  # "train" or "validation", made per article
]
EXPORT_SCHEMA = pa.schema(list(DEDUPED_SCHEMA) + EXPORT_FIELDS)
# the metadata-only table beside the export shards: every column but the image bytes
EXPORT_METADATA_SCHEMA = pa.schema([f for f in EXPORT_SCHEMA if f.name != "image"])

# extra outputs (named tables beside data-*)
ENTRY_COUNT_SCHEMA = pa.schema(
    [
        pa.field("entry", pa.string(), nullable=False),  # a CUI, modality tag or list entry
        pa.field("name", pa.string()),  # the concept's name; the entry itself otherwise
        pa.field("count_before", pa.int64()),  # records holding it in balance's input
        pa.field("count_after", pa.int64()),  # records holding it that balance kept
    ]
)
# extract's `notices-*`: one row per article a retraction notice in the input retracts
NOTICE_SCHEMA = pa.schema(
    [
        pa.field("retracts", pa.string(), nullable=False),  # doi:…, pmcid:PMC…, pmid:…
        pa.field("notice_key", pa.string()),  # the notice's article key
        pa.field("source_uri", pa.string()),
    ]
)

DUPLICATE_SCHEMA = pa.schema(
    [
        pa.field("key", pa.string(), nullable=False),  # the record removed
        pa.field("dup_of", pa.string()),  # the record kept in its place
        pa.field("kind", pa.string()),  # "exact_image", "phash", "caption_embedding", ...
        pa.field("score", pa.float32()),  # Hamming distance or cosine similarity
    ]
)
UNRECOGNISED_SCHEMA = pa.schema(
    [pa.field("path", pa.string(), nullable=False), pa.field("reason", pa.string())]
)

ERROR_SCHEMA = pa.schema(
    [
        pa.field("stage", pa.string()),
        pa.field("key", pa.string()),
        pa.field("source_uri", pa.string()),
        pa.field("error_type", pa.string()),
        pa.field("message", pa.string()),
    ]
)

DROP_SCHEMA = pa.schema(
    [
        pa.field("stage", pa.string()),
        pa.field("key", pa.string()),
        pa.field("source_uri", pa.string()),
        pa.field("reason", pa.string()),
        pa.field("detail", pa.string()),
    ]
)

# record kind (= the stage's output folder) -> schema
SCHEMAS: dict[str, pa.Schema] = {
    "figures": FIGURE_SCHEMA,
    "panels": PANEL_SCHEMA,
    "tagged": TAGGED_SCHEMA,
    "balanced": BALANCED_SCHEMA,
    "deduped": DEDUPED_SCHEMA,
    "export": EXPORT_SCHEMA,
}


# keyed by identity: hashing a pa.Schema builds every Field anew (~30 µs a record)
_NAMES: dict[int, tuple[pa.Schema, tuple[str, ...]]] = {}


def field_names(schema: pa.Schema) -> tuple[str, ...]:
    entry = _NAMES.get(id(schema))
    if entry is None or entry[0] is not schema:  # the held schema keeps its id unique
        entry = _NAMES[id(schema)] = (schema, tuple(schema.names))
    return entry[1]


def new_record(schema: pa.Schema, **values: Any) -> dict[str, Any]:
    """A record dict with every field of `schema`; unknown names raise KeyError."""
    names = field_names(schema)
    record = dict.fromkeys(names)
    record.update(values)
    if len(record) != len(names):
        unknown = set(values) - set(names)
        raise KeyError(f"fields not in schema: {sorted(unknown)}")
    return record


def check_record(schema: pa.Schema, record: dict[str, Any]) -> None:
    """Raise ValueError when `record` does not have exactly the schema's fields."""
    names = set(schema.names)
    keys = set(record)
    if keys != names:
        raise ValueError(
            f"record fields differ from schema: missing {sorted(names - keys)}, "
            f"extra {sorted(keys - names)}"
        )


def to_table(schema: pa.Schema, records: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(records, schema=schema)


def hf_features(schema: pa.Schema) -> Any:
    """HF `datasets.Features` for a record schema, `image` decoded as `Image()`."""
    import datasets  # optional: only export and users loading shards need it

    features = datasets.Features.from_arrow_schema(schema)
    if "image" in features:
        features["image"] = datasets.Image()
    return features
