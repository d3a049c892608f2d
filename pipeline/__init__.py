"""Beam wiring: sources, sinks, one PTransform per stage, the CLI, the chain."""

import logging


class _DropGcpClientNotice(logging.Filter):
    """Beam warns at import that the GCP client libraries are absent, even for local runs
    that never need them; the `gcp` extra installs them for Dataflow."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "apitools not found" not in record.getMessage()


logging.getLogger().addFilter(_DropGcpClientNotice())
