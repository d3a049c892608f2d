"""Record keys: every key is made here.

A figure is `PMC1234567/F1`, its third panel `PMC1234567/F1/p2` (0-based). Without a
PMCID the article part is a slug of the DOI (`doi-10.1000-xyz`), without either the
file stem. The article version never enters a key.

WebDataset cuts a sample's key at its first `.` and tar paths split at `/`, so export
writes `tar_key(key)`: `%`, `/` and `.` percent-encoded (and nothing else), which is
injective and reversed by `key_from_tar`.
"""

from __future__ import annotations

_TAR_ESCAPES = {"%": "%25", "/": "%2F", ".": "%2E"}


def tar_key(key: str) -> str:
    """The tar- and WebDataset-safe form of a key: no `/`, no `.`, reversible."""
    return "".join(_TAR_ESCAPES.get(ch, ch) for ch in key)


def key_from_tar(safe: str) -> str:
    """The key that `tar_key` encoded."""
    out: list[str] = []
    i = 0
    while i < len(safe):
        if safe[i] == "%":
            code = safe[i + 1 : i + 3]
            if len(code) != 2:
                raise ValueError(f"truncated escape in tar key {safe!r}")
            out.append(chr(int(code, 16)))
            i += 3
        else:
            out.append(safe[i])
            i += 1
    return "".join(out)
