"""Real images and their near-duplicate copies, shared by tests/test_dedup.py and
benchmarks/dedup.py: JPEG re-encodes, resizes, borders, grayscale and 2-10% crops."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from schemas.records import BALANCED_SCHEMA, new_record

TESTDATA = Path(__file__).resolve().parents[1].parent / "shared" / "testdata"
# distinct real photographs and scans bundled with scikit-image
SKIMAGE_NAMES = (
    "astronaut",
    "camera",
    "coffee",
    "chelsea",
    "rocket",
    "coins",
    "hubble_deep_field",
    "retina",
    "page",
    "moon",
    "immunohistochemistry",
    "microaneurysms",
    "cell",
)


def skimage_images() -> dict[str, Image.Image]:
    import skimage.data

    images = {}
    for name in SKIMAGE_NAMES:
        array = getattr(skimage.data, name)()  # all bundled with the wheel: no download
        if array.ndim == 3 and array.shape[0] < 16:  # a volume (brain): its middle slice
            array = array[array.shape[0] // 2]
        if array.dtype != np.uint8:
            array = (255 * (array - array.min()) / max(float(np.ptp(array)), 1e-9)).astype(np.uint8)
        images[name] = Image.fromarray(array)
    return images


def real_figure_paths() -> list[Path]:
    """Distinct real figures in ../shared/testdata (thumbnails of them left out)."""
    roots = [TESTDATA / "packages", TESTDATA / "images", TESTDATA / "compound_figures"]
    paths = []
    for root in roots:
        for path in sorted(root.rglob("*")):
            if path.suffix.lower() in {".jpg", ".png", ".tif"} and "thumbnail" not in path.name:
                paths.append(path)
    return paths


def encode(image: Image.Image, fmt: str = "PNG", quality: int = 95) -> bytes:
    out = io.BytesIO()
    if fmt == "JPEG":
        image.convert("RGB").save(out, "JPEG", quality=quality)
    else:
        image.save(out, fmt)
    return out.getvalue()


def crop(image: Image.Image, left: float, top: float, right: float, bottom: float):
    w, h = image.size
    return image.crop(
        (round(w * left), round(h * top), round(w * (1 - right)), round(h * (1 - bottom)))
    )


# name -> (encoder of a copy, whether the copy is a crop)
VARIANTS: dict[str, Callable[[Image.Image], bytes]] = {
    "jpeg90": lambda im: encode(im, "JPEG", 90),
    "jpeg70": lambda im: encode(im, "JPEG", 70),
    "jpeg40": lambda im: encode(im, "JPEG", 40),
    "resize50": lambda im: encode(
        im.resize((im.width // 2, im.height // 2), Image.Resampling.BICUBIC)
    ),
    "resize75_jpeg": lambda im: encode(
        im.resize((im.width * 3 // 4, im.height * 3 // 4), Image.Resampling.LANCZOS), "JPEG", 85
    ),
    "border_white": lambda im: encode(ImageOps.expand(im.convert("RGB"), 24, fill="white")),
    "border_black": lambda im: encode(ImageOps.expand(im.convert("RGB"), 12, fill="black")),
    "grayscale": lambda im: encode(im.convert("L")),
    "crop2_all": lambda im: encode(crop(im, 0.01, 0.01, 0.01, 0.01)),
    "crop5_left": lambda im: encode(crop(im, 0.05, 0, 0, 0)),
    "crop5_top_bottom": lambda im: encode(crop(im, 0, 0.025, 0, 0.025)),
    "crop7_corner": lambda im: encode(crop(im, 0.07, 0.03, 0, 0)),
    "crop10_all": lambda im: encode(crop(im, 0.05, 0.05, 0.05, 0.05)),
    "crop10_right": lambda im: encode(crop(im, 0, 0, 0.10, 0)),
}
CROP_VARIANTS = {name for name in VARIANTS if name.startswith("crop")}


def record(key: str, data: bytes | None, caption: str, **extra) -> dict:
    """A `balanced` record around image bytes (None: a caption-only record)."""
    if data is None:
        return new_record(
            BALANCED_SCHEMA,
            key=key,
            caption=caption,
            image_status="missing",
            source_uri=f"test://{key}",
            **extra,
        )
    with Image.open(io.BytesIO(data)) as image:
        width, height = image.size
    return new_record(
        BALANCED_SCHEMA,
        key=key,
        caption=caption,
        image={"bytes": data, "path": None},
        width=width,
        height=height,
        image_sha256=hashlib.sha256(data).hexdigest(),
        image_status="ok",
        source_uri=f"test://{key}",
        **extra,
    )
