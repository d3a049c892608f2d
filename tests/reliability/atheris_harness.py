"""Coverage-guided fuzzing with atheris (libFuzzer) of the same four parsers the hypothesis
tests cover, with the same check: a clear outcome or a typed error, nothing else.

    python tests/reliability/atheris_harness.py jats|captions|pdf|image [libFuzzer flags]

e.g. `-runs=100000` or `-max_total_time=600`; seed inputs are written to a fresh corpus
folder first. A crash is saved by libFuzzer as `crash-<sha1>` in the current folder: add
it to the matching hypothesis test as an @example. test_atheris.py runs each target briefly
when atheris is installed (it is no dependency of the project: `pip install atheris`).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import atheris

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parents[1]), str(HERE.parent), str(HERE)]

with atheris.instrument_imports(include=["transforms"]):
    from transforms.extract.extractor import ExtractConfig, Extractor
    from transforms.extract.images import ImageRejected, normalise_image
    from transforms.extract.pdf import PdfConfig, parse_pdf
    from transforms.extract.sources import ArticleSource
    from transforms.ledger import StageError, run_unit
    from transforms.segment.subcaptions import split_caption

from fuzzing import assert_clear_outcome  # noqa: E402
from hostile import article_xml, png_bytes  # noqa: E402

from schemas import FIGURE_SCHEMA  # noqa: E402

XML_URI = "/corpus/PMC1/PMC1.nxml"
MEDIA = {"/corpus/PMC1/f1.png": png_bytes(), "/corpus/PMC1/f2.png": png_bytes(30, 20)}
EXTRACTOR = Extractor(
    ExtractConfig(max_image_pixels=4_000_000),
    read=lambda uri, limit: MEDIA[uri] if uri in MEDIA else _xml[0],
)
_xml = [b""]
PDF = PdfConfig(dpi=36, timeout_s=0, max_pages=4, max_image_pixels=2_000_000)


def jats(data: bytes) -> None:
    _xml[0] = data
    source = ArticleSource("xml", XML_URI, media=tuple(MEDIA), folder_key="PMC1")
    assert_clear_outcome(run_unit(EXTRACTOR, source, XML_URI, XML_URI), FIGURE_SCHEMA)


def captions(data: bytes) -> None:
    caption = atheris.FuzzedDataProvider(data).ConsumeUnicodeNoSurrogates(len(data))
    split = split_caption(caption)
    for part in split.parts:
        for start, end in part.spans:
            assert 0 <= start < end <= len(caption)


def pdf(data: bytes) -> None:
    try:
        parse_pdf(data, "PMC9.pdf", PDF)
    except StageError:
        pass


def image(data: bytes) -> None:
    try:
        normalise_image(data, 4_000_000)
    except ImageRejected:
        pass


def seeds() -> dict[str, list[bytes]]:
    from test_fuzz_images import SEEDS as IMAGES
    from test_fuzz_pdf import SEED as PDF_SEED

    xml = article_xml("PMC1", ["f1.png", "f2", "gone.png"])
    caption = "(A) Axial CT of the liver. (B, C) MRI of the brain. Scale bars, 10 µm."
    return {
        "jats": [xml],
        "captions": [caption.encode(), b"Left: x. Right: y.", b"CT (A) and MRI (B) show"],
        "pdf": [PDF_SEED],
        "image": IMAGES,
    }


TARGETS = {"jats": jats, "captions": captions, "pdf": pdf, "image": image}


def main() -> None:
    target, flags = sys.argv[1], sys.argv[2:]
    corpus = Path(tempfile.mkdtemp(prefix=f"atheris-{target}-"))
    for index, seed in enumerate(seeds()[target]):
        (corpus / f"seed-{index}").write_bytes(seed)
    atheris.Setup([sys.argv[0], *flags, str(corpus)], TARGETS[target])
    atheris.Fuzz()


if __name__ == "__main__":
    main()
