"""Which lexicon the tagger uses, and the compiled matcher cached on disk.

UMLS and MeSH sources are read once (on the machine that starts the pipeline) and
compiled into one matcher artefact under the cache folder; workers only load that file.
The cache key covers the loader options and each source file's path, size and mtime.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from metadata.lexicon import DEFAULT_LEXICON, Lexicon, load_default, read_tsv
from metadata.mesh import load_mesh_xml
from metadata.umls import load_umls
from transforms.tag.concepts import FORMAT_VERSION, ConceptMatcher

ARTEFACT_SUFFIX = ".matcher"
# UMLS language codes (MRCONSO LAT) -> the caption language codes the tagger detects
UMLS_LANGUAGES = {"ENG": "en", "POR": "pt", "SPA": "es", "FRE": "fr"}


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "biomed-curate" / "lexicons"


@dataclass(frozen=True)
class LexiconSource:
    """One of: the bundled default, a lexicon TSV, a UMLS META folder, a MeSH XML file."""

    kind: str  # "default", "tsv", "umls", "mesh_xml"
    path: str = ""
    languages: tuple[str, ...] = ("ENG",)
    sources: tuple[str, ...] = ()
    recover: bool = False
    stop_words: tuple[str, ...] = ()  # a user's words never matched alone

    def caption_languages(self) -> tuple[str, ...]:
        if self.kind != "umls":
            return ("en",)
        return tuple(UMLS_LANGUAGES[x] for x in self.languages if x in UMLS_LANGUAGES)

    def matcher(self) -> ConceptMatcher:
        return ConceptMatcher(self.load(), self.stop_words, self.caption_languages())

    def files(self) -> list[Path]:
        if self.kind == "default":
            return [DEFAULT_LEXICON]
        if self.kind == "umls":
            return [Path(self.path) / "MRCONSO.RRF", Path(self.path) / "MRSTY.RRF"]
        return [Path(self.path)]

    def load(self) -> Lexicon:
        if self.kind == "default":
            return load_default()
        if self.kind == "tsv":
            return read_tsv(self.path)
        if self.kind == "umls":
            return load_umls(self.path, self.languages, self.sources)
        if self.kind == "mesh_xml":
            return load_mesh_xml(self.path, recover=self.recover)
        raise ValueError(f"unknown lexicon kind {self.kind!r}")

    def cache_key(self) -> str:
        stamp = [FORMAT_VERSION, asdict(self)]
        for path in self.files():
            info = path.stat()
            stamp.append([str(path.resolve()), info.st_size, info.st_mtime_ns])
        return hashlib.sha256(json.dumps(stamp, sort_keys=True).encode()).hexdigest()[:20]


def cached_artefact(source: LexiconSource, cache_dir: str | Path | None = None) -> Path:
    """The path of the compiled matcher for `source`, building it on a cache miss."""
    folder = Path(cache_dir) if cache_dir else default_cache_dir()
    path = folder / f"{source.kind}-{source.cache_key()}{ARTEFACT_SUFFIX}"
    if path.is_file():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    data = source.matcher().to_bytes()
    handle, temp = tempfile.mkstemp(dir=folder, suffix=".part")
    with os.fdopen(handle, "wb") as out:
        out.write(data)
    os.replace(temp, path)  # atomic: concurrent builders never see a partial file
    return path
