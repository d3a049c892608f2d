"""What the fuzz tests share: the example budget, byte mutations and the checks that an
outcome is a clear one (a typed error record, never a Python exception's name)."""

from __future__ import annotations

import os
import re

import pyarrow as pa
from hypothesis import strategies as st

from transforms.ledger import Ledger, UnitResult

SCALE = max(1, int(os.environ.get("RELIABILITY_FUZZ_SCALE", "1")))
# a StageError's type: `xml_malformed`, `pdf_truncated`; a leaked exception is `IndexError`
ERROR_TYPE = re.compile(r"[a-z][a-z0-9_]*")


def examples(n: int) -> int:
    """The example count of one fuzz test, times RELIABILITY_FUZZ_SCALE."""
    return n * SCALE


@st.composite
def mutated(draw: st.DrawFn, seed: bytes, max_edits: int = 6) -> bytes:
    """`seed` with a few edits: bytes flipped, runs inserted or deleted, or the tail cut."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, max_edits))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "repeat"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[at] = draw(st.integers(0, 255))
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 64))]
        elif op == "truncate":
            del data[at:]
        elif op == "repeat" and data:
            data[at:at] = data[at : at + draw(st.integers(1, 32))] * draw(st.integers(1, 8))
    return bytes(data)


def assert_clear_outcome(result: UnitResult, schema: pa.Schema) -> None:
    """A unit's result is either records that the sink can write, with drops that add up,
    or one error record with a stage error type (not an exception that slipped through)."""
    if result.error is not None:
        assert ERROR_TYPE.fullmatch(result.error.error_type), (
            f"an unhandled {result.error.error_type}: {result.error.message}"
        )
        assert result.error.message
        return
    assert Ledger.of(result).ok
    pa.Table.from_pylist(result.records, schema=schema)  # what WriteShards does
    keys = [r["key"] for r in result.records] + [d.key for d in result.drops]
    assert len(keys) == len(set(keys)), f"a key given twice: {sorted(keys)}"
