"""Tiny export-shaped shards for the trainer tests: real images, real-ish captions.

Sixteen distinct scikit-image pictures, each with its own caption and modality tag,
written as WebDataset tars (`{key}.jpg`, `{key}.txt`, `{key}.json`) and as Parquet
(`image` struct {bytes, path}, `text`), the two layouts export writes.
"""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import skimage.data
from PIL import Image

from transforms.keys import tar_key

# (skimage picture, caption, modality tag)
PAIRS: list[tuple[str, str, str]] = [
    ("immunohistochemistry", "Immunohistochemistry of colon tissue, DAB brown with hematoxylin "
     "counterstain.", "microscopy/immunohistochemistry"),
    ("retina", "Colour fundus photograph of a left eye showing the optic disc and retinal "
     "vessels.", "ophthalmology/fundus"),
    ("cell", "Phase-contrast micrograph of a single cultured cell.", "microscopy/light"),
    ("microaneurysms", "Detail of a fundus image with microaneurysms near a vessel.",
     "ophthalmology/fundus"),
    ("hubble_deep_field", "Dark field image with many small bright spots, like labelled nuclei.",
     "microscopy/fluorescence"),
    ("coins", "Grey-scale photograph of coins on a dark table.", "photography/other"),
    ("astronaut", "Portrait photograph of an astronaut in front of a flag.", "photography/other"),
    ("camera", "Black and white photograph of a man with a camera on a tripod.",
     "photography/other"),
    ("chelsea", "Photograph of a tabby cat looking to the side.", "photography/clinical"),
    ("coffee", "A cup of coffee on a saucer, seen from above.", "photography/other"),
    ("rocket", "A rocket on its launch pad against the sky.", "photography/other"),
    ("moon", "Grey-scale image of the lunar surface with craters.", "radiology/other"),
    ("page", "Scanned page of printed text with uneven lighting.", "other/screenshot"),
    ("checkerboard", "Checkerboard calibration pattern of black and white squares.",
     "illustration/diagram"),
    ("clock", "A wall clock photographed at an angle.", "photography/other"),
    ("colorwheel", "A colour wheel showing hues around a circle.", "chart/pie"),
]  # fmt: skip

IMAGE_SIDE = 96


def picture(name: str) -> Image.Image:
    array = np.asarray(getattr(skimage.data, name)())
    if array.dtype != np.uint8:
        array = (255 * (array.astype(float) / max(array.max(), 1))).astype(np.uint8)
    image = Image.fromarray(array).convert("RGB")
    return image.resize((IMAGE_SIDE, IMAGE_SIDE), Image.Resampling.BICUBIC)


def jpeg_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def records(pairs: list[tuple[str, str, str]] = PAIRS, prefix: str = "PMC100") -> list[dict]:
    """Export-like records: key, image bytes, text, modalities."""
    return [
        {
            "key": f"{prefix}{index:02d}/F1",
            "jpg": jpeg_bytes(picture(name)),
            "text": caption,
            "modalities": [modality],
        }
        for index, (name, caption, modality) in enumerate(pairs)
    ]


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def write_tar(path: Path, rows: list[dict], corrupt: dict[str, bytes] | None = None) -> None:
    """One WebDataset shard; `corrupt` replaces named members' bytes (e.g. a broken JPEG)."""
    corrupt = corrupt or {}
    with tarfile.open(path, "w") as tar:
        for row in rows:
            safe = tar_key(row["key"])
            meta = {"key": row["key"], "modalities": row["modalities"]}
            members = {
                f"{safe}.jpg": row["jpg"],
                f"{safe}.txt": row["text"].encode(),
                f"{safe}.json": json.dumps(meta).encode(),
            }
            for name, data in members.items():
                _add(tar, name, corrupt.get(name, data))


def write_parquet(path: Path, rows: list[dict]) -> None:
    image_type = pa.struct([pa.field("bytes", pa.binary()), pa.field("path", pa.string())])
    table = pa.table(
        {
            "key": [r["key"] for r in rows],
            "image": pa.array([{"bytes": r["jpg"], "path": None} for r in rows], type=image_type),
            "text": [r["text"] for r in rows],
            "modalities": [r["modalities"] for r in rows],
        }
    )
    pq.write_table(table, path)


def write_shards(folder: Path, rows: list[dict], shards: int, kind: str = "tar") -> str:
    """`rows` split round-robin into `shards` files; returns the brace spec for them."""
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(shards):
        part = rows[index::shards]
        if kind == "tar":
            write_tar(folder / f"{index:05d}.tar", part)
        else:
            write_parquet(folder / f"{index:05d}.parquet", part)
    suffix = "tar" if kind == "tar" else "parquet"
    return f"{folder}/{{00000..{shards - 1:05d}}}.{suffix}"
