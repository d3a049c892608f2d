"""Fuzz the image decoders: extract's `normalise_image` and segment's `decode`, and the
segment unit on what they let through, with mutated PNG, JPEG, GIF, TIFF, BMP and WebP
files. Each image is kept (and then decodes to the size it claims) or rejected with a
reason; the segment unit gives panels or one typed error."""

from __future__ import annotations

import io

from fuzzing import assert_clear_outcome, examples, mutated
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from schemas import FIGURE_SCHEMA, PANEL_SCHEMA, new_record
from transforms.extract.images import ImageRejected, normalise_image
from transforms.ledger import StageError, run_unit
from transforms.segment.segmenter import Segmenter, decode

MAX_PIXELS = 4_000_000  # bounds the work a header that lies about its size can ask for
REASONS = {"image_empty", "image_too_large", "image_truncated", "image_unreadable"}


def two_panels(mode: str) -> Image.Image:
    """Two blocks on a white ground: a compound figure the segmenter can split."""
    img = Image.new("RGB", (64, 40), "white")
    img.paste((200, 30, 30), (2, 2, 30, 38))
    img.paste((30, 30, 200), (34, 2, 62, 38))
    if mode == "I;16":
        return img.convert("L").point(lambda v: v * 200).convert("I;16")
    return img.convert(mode)


def saved(mode: str, fmt: str, **params) -> bytes:
    buf = io.BytesIO()
    two_panels(mode).save(buf, format=fmt, **params)
    return buf.getvalue()


SEEDS = [
    saved("RGB", "PNG"),
    saved("P", "PNG"),
    saved("RGBA", "PNG"),
    saved("I;16", "PNG"),
    saved("RGB", "JPEG", quality=80),
    saved("L", "JPEG", progressive=True),
    saved("P", "GIF"),
    saved("RGB", "TIFF", compression="tiff_lzw"),
    saved("I;16", "TIFF"),
    saved("CMYK", "TIFF"),
    saved("RGB", "BMP"),
    saved("RGB", "WEBP"),
]
IMAGES = st.sampled_from(SEEDS).flatmap(lambda seed: st.one_of(st.just(seed), mutated(seed)))


@settings(max_examples=examples(300))
@given(IMAGES)
def test_an_image_is_kept_whole_or_rejected_with_a_reason(data: bytes) -> None:
    try:
        image = normalise_image(data, MAX_PIXELS)
    except ImageRejected as rejected:
        assert rejected.reason in REASONS and rejected.detail
        return
    assert image.format in ("jpeg", "png")
    with Image.open(io.BytesIO(image.data)) as again:
        again.load()
        assert again.size == (image.width, image.height)


@settings(max_examples=examples(120))
@given(IMAGES)
def test_segment_decodes_or_errors_and_gives_panels_that_can_be_written(data: bytes) -> None:
    try:
        decode(data, MAX_PIXELS)
    except StageError as exc:
        assert exc.error_type in ("image_unreadable", "image_too_large")
    record = new_record(
        FIGURE_SCHEMA,
        key="PMC1/F1",
        source_uri="x.nxml",
        caption="(A) Red. (B) Blue.",
        image={"bytes": data, "path": "f1.png"},
        image_format="png" if data[:4] == b"\x89PNG" else "jpeg",
        width=64,
        height=40,
    )
    result = run_unit(Segmenter(), record, "PMC1/F1", "x.nxml")
    assert_clear_outcome(result, PANEL_SCHEMA)
