"""A record's metadata entries: what the balance stage counts and caps.

By default the entries are the distinct CUIs of the record's `concepts` that are not
negated (the tag stage scopes concepts to the panel's own text), one per matched span:
of the homonyms a span names, the smallest CUI. Options add the
record's `modalities` tags, and entries of a user-supplied list matched the MetaCLIP
way: the entry and the text lower-cased, whitespace runs made single spaces, both padded
with one space, and the padded entry looked up as a substring of the padded text with an
Aho-Corasick automaton. Unlike the tag stage there is no tokenising and no longest-match
choice: every listed entry found counts, as in MetaCLIP ("ct" matches " ct scan " but
never "effect", and "x-ray." does not match "x-ray").

The list is a text file (one entry a line) or a JSON list of strings (the form of
MetaCLIP's `metadata.json`). A matcher is built once per worker, in `DoFn.setup`, from
the file (`from_path`, or `parse_entry_list` over bytes read from gs:// or s3://): at
500k entries that takes ~3.5 s, while its pickle is ~240 MB.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ahocorasick


class EntryListError(ValueError):
    """The entry list cannot be used; the message says which file and why."""


def padded(text: str) -> str:
    """Lower-cased text, whitespace runs as one space, one space either side."""
    return " " + " ".join(text.lower().split()) + " "


def read_entry_list(path: str | Path) -> list[str]:
    """The entries of a local list file (see `parse_entry_list`)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise EntryListError(f"entry list {path}: no such file") from exc
    except OSError as exc:
        raise EntryListError(f"entry list {path}: cannot be read ({exc})") from exc
    return parse_entry_list(data, str(path))


def parse_entry_list(data: bytes, name: str) -> list[str]:
    """The entries of a list file's bytes, normalised, duplicates removed, in file order;
    `name` (a path or URI, e.g. gs://...) names it in errors and picks the format.

    `.json` files (or any file whose first character is `[`) must hold a JSON list of
    strings; other files hold one entry a line, blank lines ignored."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise EntryListError(f"entry list {name}: not UTF-8 text ({exc.reason})") from exc
    if name.lower().endswith(".json") or text.lstrip().startswith("["):
        raw = _json_entries(name, text)
    else:
        raw = text.splitlines()
    entries = list(dict.fromkeys(e for e in (padded(r).strip() for r in raw) if e))
    if not entries:
        raise EntryListError(f"entry list {name}: holds no entries")
    return entries


def _json_entries(name: str, text: str) -> list[str]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise EntryListError(
            f"entry list {name}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from exc
    if not isinstance(value, list):
        raise EntryListError(
            f"entry list {name}: JSON must be a list of strings, found {type(value).__name__}"
        )
    for index, item in enumerate(value):
        if not isinstance(item, str):
            raise EntryListError(
                f"entry list {name}: item {index} is {type(item).__name__} "
                f"({str(item)[:40]!r}), not a string"
            )
    return value


class EntryListMatcher:
    """MetaCLIP-style substring matching of a fixed entry list over caption text."""

    def __init__(self, entries: Iterable[str]) -> None:
        self.entries: list[str] = list(dict.fromkeys(padded(e).strip() for e in entries))
        self.entries = [e for e in self.entries if e]
        if not self.entries:
            raise EntryListError("entry list holds no entries")
        self.automaton = ahocorasick.Automaton(ahocorasick.STORE_INTS)
        for index, entry in enumerate(self.entries):
            self.automaton.add_word(f" {entry} ", index)
        self.automaton.make_automaton()

    @classmethod
    def from_path(cls, path: str | Path) -> EntryListMatcher:
        return cls(read_entry_list(path))

    def __len__(self) -> int:
        return len(self.entries)

    def match(self, text: str | None) -> list[str]:
        """The distinct entries found in `text`, in order of where they end."""
        if not text:
            return []
        entries = self.entries
        found = dict.fromkeys(index for _, index in self.automaton.iter(padded(text)))
        return [entries[index] for index in found]


def own_text(record: dict[str, Any]) -> str:
    """A panel's own text: preamble and sub-caption when it has a sub-caption, else the
    caption (a figure that was not split, or a panel its sub-caption was not found for)."""
    subcaption = record.get("subcaption")
    if subcaption and subcaption.strip():
        return " ".join(p for p in (record.get("caption_preamble"), subcaption) if p)
    return record.get("caption") or ""


@dataclass(frozen=True)
class EntryOptions:
    concepts: bool = True  # the non-negated CUIs of `concepts`
    modalities: bool = False  # the `modalities` tags ("radiology/ct")
    entry_list: str = ""  # path of a text or JSON entry list; "" for none
    # a span that names several concepts (UMLS homonyms: "reconstruction" is 8 CUIs) gives
    # one entry, its smallest CUI, as one matched string is one entry in MetaCLIP; counting
    # every homonym gives such a record 8 draws, and its head entries are barely capped
    one_cui_per_span: bool = True


class EntryExtractor:
    """record -> {entry: display name}, in a fixed order: CUIs, modality tags, list entries.

    Build once per worker; with an entry list it holds the compiled automaton."""

    def __init__(self, options: EntryOptions, matcher: EntryListMatcher | None = None) -> None:
        if not (options.concepts or options.modalities or options.entry_list):
            raise ValueError("balance entries: enable concepts, modalities or an entry list")
        if options.entry_list and matcher is None:
            matcher = EntryListMatcher.from_path(options.entry_list)
        self.options = options
        self.matcher = matcher

    def __call__(self, record: dict[str, Any]) -> dict[str, str]:
        named: dict[str, str] = {}
        if self.options.concepts:
            for cui, name in self._cuis(record.get("concepts") or ()):
                named.setdefault(cui, name)
        if self.options.modalities:
            for tag in record.get("modalities") or ():
                named.setdefault(tag, tag)
        if self.matcher is not None:
            for entry in self.matcher.match(own_text(record)):
                named.setdefault(entry, entry)
        return named

    def _cuis(self, concepts: Iterable[dict[str, Any]]) -> list[tuple[str, str]]:
        """(CUI, name) of the non-negated concepts, in order; one a span if so asked."""
        found = [c for c in concepts if not c.get("negated") and c.get("cui")]
        if self.options.one_cui_per_span:
            smallest: dict[tuple[Any, Any], dict[str, Any]] = {}
            for c in found:
                span = (c.get("start"), c.get("end"))
                if span not in smallest or c["cui"] < smallest[span]["cui"]:
                    smallest[span] = c
            found = [c for c in found if smallest[(c.get("start"), c.get("end"))] is c]
        return [(c["cui"], c.get("name") or c["cui"]) for c in found]
