"""Parse one PDF in a child process with a time limit.

Beam calls DoFns off the main thread, where SIGALRM cannot interrupt anything, and a
pathological PDF can hold MuPDF for minutes. Each document therefore goes to its own
child process, forked from a `forkserver` that has PyMuPDF loaded already (a fork
costs milliseconds, not an interpreter start). A child that runs past the limit is
killed and the document becomes a `pdf_timeout` error; one that dies becomes `pdf_crashed`.
"""

from __future__ import annotations

import multiprocessing
from multiprocessing.connection import Connection
from typing import Any

from transforms.extract.pdf import PdfConfig, PdfDocument, parse_pdf
from transforms.ledger import StageError

_CONTEXT: Any = None


def _context() -> Any:
    global _CONTEXT
    if _CONTEXT is None:
        method = (
            "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
        )
        _CONTEXT = multiprocessing.get_context(method)
        if method == "forkserver":
            _CONTEXT.set_forkserver_preload(["pymupdf", "transforms.extract.pdf"])
    return _CONTEXT


def _child(data: bytes, uri: str, config: PdfConfig, conn: Connection) -> None:
    try:
        conn.send(("ok", parse_pdf(data, uri, config)))
    except StageError as exc:
        conn.send(("error", (exc.error_type, exc.message)))
    except MemoryError:
        conn.send(("error", ("out_of_memory", f"{uri}: MemoryError")))
    except Exception as exc:  # noqa: BLE001 - becomes the document's error record
        conn.send(("error", ("pdf_parse_error", f"{uri}: {type(exc).__name__}: {exc}"[:2000])))
    finally:
        conn.close()


def parse_pdf_limited(data: bytes, uri: str, config: PdfConfig) -> PdfDocument:
    """parse_pdf in a child process, killed after `config.timeout_s` (0: in this process)."""
    if config.timeout_s <= 0:
        return parse_pdf(data, uri, config)
    ctx = _context()
    receiver, sender = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(data, uri, config, sender), daemon=True)
    proc.start()
    sender.close()
    try:
        if not receiver.poll(config.timeout_s):
            raise StageError("pdf_timeout", f"{uri}: no result within {config.timeout_s:g} s")
        try:
            status, payload = receiver.recv()
        except EOFError:
            proc.join(5)
            raise StageError(
                "pdf_crashed", f"{uri}: the parser process died (exit code {proc.exitcode})"
            ) from None
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join(5)
        receiver.close()
    if status == "error":
        raise StageError(*payload)
    return payload
