"""The segment stage's unit function: one figure record -> its panel records.

A compound figure gives one record per panel, keyed `<figure key>/p<i>` in reading order,
with the crop re-encoded in the parent's format. A single-panel figure passes through as
one record (`/p0`, the parent's image bytes untouched, `is_compound = false`). A record
without an image (caption-only mode) gives one record with `seg_method = "no_image"`,
its caption still split into preamble and panel text.

`subcaption_spans` holds the pieces of `caption` that make up `subcaption`, as
{"start", "end"} structs; a record whose text is the whole caption has one span over it.
"""

from __future__ import annotations

import hashlib
import io
import posixpath
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from schemas import PANEL_SCHEMA, new_record
from transforms.extract.images import DEFAULT_MAX_PIXELS, JPEG_QUALITY
from transforms.keys import panel_key
from transforms.ledger import StageError, UnitResult
from transforms.segment.panel_align import align, whole_caption
from transforms.segment.panel_calibration import calibrated_score
from transforms.segment.panel_labels import THIN
from transforms.segment.panels import CaptionHints, Segmentation, SegmentConfig, segment_image
from transforms.segment.subcaptions import CaptionSplit, Span, split_caption


@dataclass(frozen=True)
class SegmentStageConfig:
    keep_parent: bool = False  # also write the whole figure, keyed by the figure key
    max_image_pixels: int = DEFAULT_MAX_PIXELS
    segment: SegmentConfig = field(default_factory=SegmentConfig)


def decode(data: bytes, max_pixels: int) -> Image.Image:
    """Decode figure bytes; a bad or oversized image is a StageError with a reason."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            if img.width * img.height > max_pixels:
                raise StageError("image_too_large", f"{img.width}x{img.height} pixels")
            img.load()
    except StageError:
        raise
    except Exception as exc:  # noqa: BLE001 - Pillow raises many types for bad bytes
        raise StageError("image_unreadable", f"{type(exc).__name__}: {exc}") from None
    return img


def encode(img: Image.Image, fmt: str) -> bytes:
    buf = io.BytesIO()
    if fmt == "png":
        img.save(buf, format="PNG")
    else:
        if img.mode not in ("RGB", "L"):
            img = img.convert("RGB")
        img.save(buf, format="JPEG", quality=JPEG_QUALITY)
    return buf.getvalue()


def caption_hints(split: CaptionSplit, caption: str | None) -> CaptionHints:
    """What the caption tells the image analysis: the letters panels may carry (either
    case; thin letters such as "l" only as named), and whether it names panels at all."""
    if not caption:
        return CaptionHints()
    if split.style not in ("leading", "inline"):
        return CaptionHints(letters=frozenset(), marked=bool(split.parts))
    letters = {lab[0] for lab in split.labels if len(lab) <= 3 and lab[0].isalpha()}
    letters |= {c.swapcase() for c in letters if c.swapcase() not in THIN}
    named = frozenset(lab.lower() for part in split.parts for lab in part.labels if len(lab) == 1)
    count = len({lab.lower() for lab in split.labels})
    return CaptionHints(
        frozenset(letters), True, named if split.style == "leading" else frozenset(), count
    )


class Segmenter:
    """Callable unit function of the segment stage."""

    def __init__(self, config: SegmentStageConfig | None = None) -> None:
        self.config = config or SegmentStageConfig()

    def __call__(self, record: dict[str, Any]) -> UnitResult:
        split = split_caption(record.get("caption"))
        image = record.get("image")
        if not image or not image.get("bytes"):
            return UnitResult(records=[self._no_image(record, split)])
        img = decode(image["bytes"], self.config.max_image_pixels)
        hints = caption_hints(split, record.get("caption"))
        seg = segment_image(img, self.config.segment, hints)
        if not seg.is_compound:
            return UnitResult(records=[self._single(record, seg)])
        records = self._panels(record, img, seg, split)
        if self.config.keep_parent:
            records.insert(0, self._parent(record, seg))
        return UnitResult(records=records)

    def _no_image(self, record: dict, split: CaptionSplit) -> dict:
        own = " ".join(p.text for p in split.parts) if split.parts else record.get("caption")
        spans = (
            [span for p in split.parts for span in p.spans]
            if split.parts
            else whole_caption(record.get("caption"))
        )
        return new_record(
            PANEL_SCHEMA,
            **{
                **record,
                "key": panel_key(record["key"], 0),
                "parent_key": record["key"],
                "panel_index": 0,
                "subcaption": own,
                "subcaption_spans": span_structs(spans),
                "caption_preamble": (split.preamble or None) if split.parts else None,
                "seg_method": "no_image",
                "seg_detail": "the record has no image",
                "align_status": "no_image",
            },
        )

    def _single(self, record: dict, seg: Segmentation) -> dict:
        w, h = record.get("width"), record.get("height")
        return new_record(
            PANEL_SCHEMA,
            **{
                **record,
                "key": panel_key(record["key"], 0),
                "parent_key": record["key"],
                "panel_index": 0,
                "bbox": [0, 0, w, h] if w and h else None,
                "is_compound": False,
                "subcaption": record.get("caption"),
                "subcaption_spans": span_structs(whole_caption(record.get("caption"))),
                "seg_method": seg.method,
                "seg_detail": seg.detail,
                "seg_score": calibrated_score(seg.method),
                "align_status": "single",
            },
        )

    def _parent(self, record: dict, seg: Segmentation) -> dict:
        w, h = record.get("width"), record.get("height")
        return new_record(
            PANEL_SCHEMA,
            **{
                **record,
                "bbox": [0, 0, w, h] if w and h else None,
                "is_compound": True,
                "subcaption": record.get("caption"),
                "subcaption_spans": span_structs(whole_caption(record.get("caption"))),
                "seg_method": "parent",
                "seg_detail": f"{seg.method}: {seg.detail}",
                "seg_score": None,
                "align_status": "parent",
            },
        )

    def _panels(
        self, record: dict, img: Image.Image, seg: Segmentation, split: CaptionSplit
    ) -> list[dict]:
        fmt = record.get("image_format") or "jpeg"
        stem = posixpath.splitext(record["image"].get("path") or record["key"].replace("/", "_"))[0]
        boxes = [p.bbox for p in seg.panels]
        aligned = align(record.get("caption"), split, [p.label for p in seg.panels], boxes)
        out = []
        for index, (panel, al) in enumerate(zip(seg.panels, aligned, strict=True)):
            crop = img.crop(panel.bbox)
            data = encode(crop, fmt)
            out.append(
                new_record(
                    PANEL_SCHEMA,
                    **{
                        **record,
                        "key": panel_key(record["key"], index),
                        "image": {"bytes": data, "path": f"{stem}_p{index}.{fmt}"},
                        "image_format": fmt,
                        "width": crop.width,
                        "height": crop.height,
                        "image_sha256": _sha256(data),
                        "parent_key": record["key"],
                        "panel_index": index,
                        "panel_label": al.label,
                        "bbox": list(panel.bbox),
                        "is_compound": True,
                        "subcaption": al.subcaption,
                        "subcaption_spans": span_structs(al.spans),
                        "caption_preamble": al.preamble,
                        "seg_method": seg.method,
                        "seg_detail": seg.detail,
                        "seg_score": calibrated_score(seg.method),
                        "align_status": al.status,
                    },
                )
            )
        return out


def span_structs(spans: Iterable[Span]) -> list[dict[str, int]]:
    return [{"start": start, "end": end} for start, end in spans]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
