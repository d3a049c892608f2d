"""The extract stage: article sources -> figure records."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, field

from pipeline.sources import open_stream, read_bytes
from pipeline.stage_spec import ExtraOutput, Regroup, StageSpec
from schemas import NOTICE_SCHEMA
from transforms.extract.extractor import MAX_MEDIA_BYTES, ExtractConfig, Extractor
from transforms.extract.notices import NOTICES, notice_index
from transforms.extract.packages import MAX_MEMBER_BYTES, MAX_PACKAGE_BYTES
from transforms.extract.pdf import DEFAULT_DPI, DEFAULT_MAX_PAGES
from transforms.extract.retracted import digest, drop_retracted, parse_pmcids
from transforms.extract.source_winner import article_group_key, resolve_article
from transforms.extract.sources import ArticleSource
from transforms.ledger import StageError, UnitResult


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--keep-missing-images",
        action="store_true",
        help="caption-only mode: keep figures whose image file is absent (image null)",
    )
    parser.add_argument(
        "--max-media-bytes",
        type=int,
        default=MAX_MEDIA_BYTES,
        help="an image or PDF file larger than this is dropped unread (default %(default)s)",
    )
    parser.add_argument(
        "--max-package-bytes",
        type=int,
        default=MAX_PACKAGE_BYTES,
        help="a .tar.gz package whose XML, images and PDFs (kept in memory) hold more is an "
        "error record (default %(default)s)",
    )
    parser.add_argument(
        "--max-package-member-bytes",
        type=int,
        default=MAX_MEMBER_BYTES,
        help="a package with a larger XML, image or PDF member is an error record "
        "(default %(default)s)",
    )
    parser.add_argument(
        "--pdf-dpi",
        type=int,
        default=DEFAULT_DPI,
        help="resolution for rendering PDF figure regions (default %(default)s)",
    )
    parser.add_argument(
        "--pdf-timeout",
        type=float,
        default=120.0,
        help="seconds per PDF, in a child process; 0: in-process (default %(default)s)",
    )
    parser.add_argument(
        "--pdf-max-pages",
        type=int,
        default=DEFAULT_MAX_PAGES,
        help="longer PDFs are error records (default %(default)s)",
    )
    parser.add_argument(
        "--retracted-pmcids",
        metavar="FILE",
        default=None,
        help="PMCIDs of retracted articles (one or more a line, # comments; local, gs:// or "
        "s3://): their figures are dropped with reason `retracted`",
    )


@dataclass(frozen=True)
class ExtractStageConfig:
    extract: ExtractConfig
    # the retracted list stands in the stage's options (and so in resume) by path and digest
    retracted_list: str = ""
    retracted_digest: str = ""
    retracted: tuple[str, ...] = field(default=(), repr=False)


def read_retracted(uri: str) -> tuple[str, ...]:
    """The list, read in the driver: a missing file or a wrong line stops the run before
    work starts (as tag's lexicon options do)."""
    try:
        return parse_pmcids(read_bytes(uri, 64 << 20).decode("utf-8"), uri)
    except (OSError, ValueError, StageError) as exc:
        raise SystemExit(f"--retracted-pmcids: {exc}") from exc


def make_config(args: argparse.Namespace) -> ExtractStageConfig:
    retracted_list = getattr(args, "retracted_pmcids", None) or ""
    retracted = read_retracted(retracted_list) if retracted_list else ()
    return ExtractStageConfig(
        extract=ExtractConfig(
            keep_missing_images=args.keep_missing_images,
            max_image_pixels=args.max_image_pixels,
            max_media_bytes=args.max_media_bytes,
            max_package_bytes=args.max_package_bytes,
            max_package_member_bytes=args.max_package_member_bytes,
            pdf_dpi=args.pdf_dpi,
            pdf_timeout_s=args.pdf_timeout,
            pdf_max_pages=args.pdf_max_pages,
        ),
        retracted_list=retracted_list,
        retracted_digest=digest(retracted) if retracted_list else "",
        retracted=retracted,
    )


def make_fn(config: ExtractStageConfig) -> Callable[[ArticleSource], UnitResult]:
    extractor = Extractor(config.extract, read=read_bytes, open_stream=open_stream)
    if not config.retracted_list:
        return extractor
    retracted = frozenset(config.retracted)

    def extract_unretracted(source: ArticleSource) -> UnitResult:
        return drop_retracted(extractor(source), retracted, config.retracted_list)

    return extract_unretracted


def unit_key(source: ArticleSource) -> tuple[str, str]:
    return source.uri, source.uri


EXTRACT = StageSpec(
    name="extract",
    output_kind="figures",
    input_kind=None,
    add_arguments=add_arguments,
    make_config=make_config,
    make_fn=make_fn,
    unit_key=unit_key,
    # two sources of one article (versions, XML and PDF, folder and package): one wins
    # and a retraction notice in the input drops the figures of the article it names
    regroup=Regroup(
        group_key=article_group_key, fn=resolve_article, side_table=NOTICES, index=notice_index
    ),
    extra_outputs=(ExtraOutput(NOTICES, NOTICE_SCHEMA, "retracts"),),
)
