"""Record keys: every key is made here.

A figure is `PMC1234567/F1`, its third panel `PMC1234567/F1/p2` (0-based). Without a
PMCID the article part is a slug of the DOI (`doi-10.1000-xyz`), without either the
file stem. The article version never enters a key: `PMC1234567.2`, the PMC Cloud name of
version 2, is the article `PMC1234567`; the version travels in `article_version`.

WebDataset cuts a sample's key at its first `.` and tar paths split at `/`, so export
writes `tar_key(key)`: `%`, `/` and `.` percent-encoded (and nothing else), which is
injective and reversed by `key_from_tar`.
"""

from __future__ import annotations

import re

_TAR_ESCAPES = {"%": "%25", "/": "%2F", ".": "%2E"}
_TAR_UNESCAPES = {code: ch for ch, code in _TAR_ESCAPES.items()}
_KEY_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
# `PMC1234567.2`: PMCID plus version, as PMC Cloud names an article's folder and files
_PMC_VERSIONED = re.compile(r"(PMC\d+)\.(\d{1,9})", re.IGNORECASE)


def slug(text: str) -> str:
    """Runs of anything but letters, digits, `.`, `_` and `-` become one `-`."""
    return _KEY_UNSAFE.sub("-", text).strip("-")


def split_pmc_version(name: str) -> tuple[str, int | None]:
    """'PMC1234567.2' -> ('PMC1234567', 2); any other name -> (name, None)."""
    match = _PMC_VERSIONED.fullmatch(name.strip())
    if match is None:
        return name, None
    return match.group(1).upper(), int(match.group(2))


def article_key(pmcid: str | None, doi: str | None, fallback: str) -> str:
    """PMCID, else a slug of the DOI, else the fallback (folder name or file stem).

    A version suffix (`PMC1234567.2`) is cut from a PMCID and from a fallback that is a
    PMC Cloud name, so every version of an article has the same key.
    """
    if pmcid and slug(pmcid):
        return slug(split_pmc_version(pmcid)[0])
    if doi:
        return "doi-" + slug(doi.lower())
    return slug(split_pmc_version(fallback)[0]) or "article"


def figure_key(article: str, fig_id: str) -> str:
    """`PMC1234567/F1`: the article key and a slug of the figure's id."""
    return f"{article}/{slug(fig_id)}"


def unique_key(key: str, seen: set[str]) -> str:
    """`key`, or `key-dup` (`-dup-dup`...) when a unit already gave it; added to `seen`.
    Records and drops of one unit share `seen`, so no two rows of a unit share a key."""
    while key in seen:
        key += "-dup"
    seen.add(key)
    return key


def panel_key(figure: str, index: int) -> str:
    """`PMC1234567/F1/p2`: the figure key and the 0-based panel index."""
    if index < 0:
        raise ValueError(f"panel index must be >= 0, got {index}")
    return f"{figure}/p{index}"


def article_of(key: str) -> str:
    """The article part of a figure or panel key: `PMC1/F1/p2` -> `PMC1`.

    Article and figure parts are slugs, which hold no `/`, so the article is what comes
    before the first `/`.
    """
    return key.split("/", 1)[0]


def tar_key(key: str) -> str:
    """The tar- and WebDataset-safe form of a key: no `/`, no `.`, reversible."""
    return "".join(_TAR_ESCAPES.get(ch, ch) for ch in key)


def key_from_tar(safe: str) -> str:
    """The key that `tar_key` encoded."""
    out: list[str] = []
    i = 0
    while i < len(safe):
        if safe[i] == "%":
            # only the three escapes tar_key writes: any other is not one of its outputs
            code = safe[i : i + 3]
            if code not in _TAR_UNESCAPES:
                raise ValueError(f"{code!r} in tar key {safe!r} is not an escape of tar_key")
            out.append(_TAR_UNESCAPES[code])
            i += 3
        else:
            out.append(safe[i])
            i += 1
    return "".join(out)
