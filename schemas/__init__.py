"""The records that cross stage boundaries, declared once as pyarrow schemas."""

from schemas.records import (
    DROP_SCHEMA,
    ERROR_SCHEMA,
    FIGURE_SCHEMA,
    PANEL_SCHEMA,
    SCHEMAS,
    TAGGED_SCHEMA,
    check_record,
    new_record,
    to_table,
)

__all__ = [
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
