"""The tag stage: panel records -> tagged records (UMLS concepts and modality tags)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from pipeline.sources import read_bytes
from pipeline.stage_spec import StageSpec, record_key
from transforms.tag.artefact import ARTEFACT_SUFFIX, LexiconSource, cached_artefact
from transforms.tag.concepts import ConceptMatcher
from transforms.tag.generic import read_stop_words
from transforms.tag.tagger import Tagger

MAX_ARTEFACT_BYTES = 4 << 30


@dataclass(frozen=True)
class TagConfig:
    # a compiled matcher file (local, gs://, s3://), or None for the bundled lexicon
    artefact: str | None = None
    # a lexicon TSV compiled on each worker (small lexicons)
    lexicon_tsv: str | None = None
    # the user's stop list: words never matched alone (compiled into the matcher)
    stop_words: tuple[str, ...] = ()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--lexicon",
        help=f"a lexicon TSV or a compiled matcher (*{ARTEFACT_SUFFIX}); default: the bundled one",
    )
    parser.add_argument("--umls-dir", help="a UMLS META folder (MRCONSO.RRF, MRSTY.RRF)")
    parser.add_argument(
        "--umls-sources", default="", help="comma-separated SABs to keep, e.g. MSH,SNOMEDCT_US"
    )
    parser.add_argument("--umls-languages", default="ENG", help="comma-separated LAT codes")
    parser.add_argument("--mesh-xml", help="a MeSH descriptor file (descYYYY.xml)")
    parser.add_argument(
        "--mesh-recover",
        action="store_true",
        help="keep the descriptors read before damage in a truncated MeSH XML",
    )
    parser.add_argument("--lexicon-cache", help="folder for compiled matchers (default ~/.cache)")
    parser.add_argument(
        "--stop-words",
        help="a file of words (one a line) never tagged alone, beside the lexicon's own evidence",
    )


def make_config(args: argparse.Namespace) -> TagConfig:
    """Resolve the lexicon once, on the launching machine; UMLS/MeSH get compiled here."""
    chosen = [a for a in (args.lexicon, args.umls_dir, args.mesh_xml) if a]
    if len(chosen) > 1:
        raise SystemExit("give at most one of --lexicon, --umls-dir, --mesh-xml")
    stop_words = tuple(sorted(read_stop_words(args.stop_words))) if args.stop_words else ()
    if args.lexicon:
        if args.lexicon.endswith(ARTEFACT_SUFFIX):
            if stop_words:
                raise SystemExit("--stop-words cannot change a compiled matcher; give its source")
            return TagConfig(artefact=args.lexicon)
        return TagConfig(lexicon_tsv=args.lexicon, stop_words=stop_words)
    if args.umls_dir:
        source = LexiconSource(
            "umls",
            args.umls_dir,
            languages=tuple(x for x in args.umls_languages.split(",") if x),
            sources=tuple(x for x in args.umls_sources.split(",") if x),
            stop_words=stop_words,
        )
    elif args.mesh_xml:
        source = LexiconSource(
            "mesh_xml", args.mesh_xml, recover=args.mesh_recover, stop_words=stop_words
        )
    else:
        return TagConfig(stop_words=stop_words)
    return TagConfig(artefact=str(cached_artefact(source, args.lexicon_cache)))


def make_fn(config: TagConfig) -> Tagger:
    if config.artefact:
        matcher = ConceptMatcher.from_bytes(read_bytes(config.artefact, MAX_ARTEFACT_BYTES))
    else:
        kind = "tsv" if config.lexicon_tsv else "default"
        source = LexiconSource(kind, config.lexicon_tsv or "", stop_words=config.stop_words)
        matcher = source.matcher()
    return Tagger(matcher)


TAG = StageSpec(
    name="tag",
    output_kind="tagged",
    input_kind="panels",
    add_arguments=add_arguments,
    make_config=make_config,
    make_fn=make_fn,
    unit_key=record_key,
    staged_paths=("artefact", "lexicon_tsv"),
)
