"""The records that cross stage boundaries, declared once as pyarrow schemas."""

from schemas.records import (
    BALANCED_SCHEMA,
    DEDUPED_SCHEMA,
    DROP_SCHEMA,
    DUPLICATE_SCHEMA,
    ENTRY_COUNT_SCHEMA,
    ERROR_SCHEMA,
    EXPORT_METADATA_SCHEMA,
    EXPORT_SCHEMA,
    FIGURE_SCHEMA,
    PANEL_SCHEMA,
    SCHEMAS,
    TAGGED_SCHEMA,
    UNRECOGNISED_SCHEMA,
    check_record,
    new_record,
    to_table,
)

__all__ = [
    "BALANCED_SCHEMA",
    "DEDUPED_SCHEMA",
    "DUPLICATE_SCHEMA",
    "ENTRY_COUNT_SCHEMA",
    "EXPORT_METADATA_SCHEMA",
    "EXPORT_SCHEMA",
    "UNRECOGNISED_SCHEMA",
    "DROP_SCHEMA",
    "ERROR_SCHEMA",
    "FIGURE_SCHEMA",
    "PANEL_SCHEMA",
    "SCHEMAS",
    "TAGGED_SCHEMA",
    "check_record",
    "new_record",
    "to_table",
]
