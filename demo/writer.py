"""Write the planned demo corpus to disk, byte for byte the same for the same seed.

OUT/articles/PMC…/PMC….nxml + images    the per-article-folder layout (PMC Cloud)
OUT/packages/PMC….tar.gz                legacy PMC OA packages (PMC…/ inside)
OUT/corpus.json                         what was written: the expected figures,
                                        their sizes, panel boxes and labels
"""

from __future__ import annotations

import gzip
import io
import json
import os
import shutil
import tarfile
import uuid
from pathlib import Path
from typing import Any

from demo.corpus import N_ARTICLES, plan_corpus
from demo.jats_writer import article_xml
from demo.model import ArticlePlan, FigurePlan
from demo.text import Math
from transforms.keys import figure_key

MANIFEST = "corpus.json"
PACKAGE_MTIME = 1_700_000_000  # fixed, so packages are reproducible


def targz(members: dict[str, bytes], folder: str) -> bytes:
    """A deterministic `.tar.gz`: sorted members under `folder/`, fixed times and owners."""
    raw = io.BytesIO()
    with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as gz:
        with tarfile.open(fileobj=gz, mode="w", format=tarfile.USTAR_FORMAT) as tar:
            info = tarfile.TarInfo(folder)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, PACKAGE_MTIME
            tar.addfile(info)
            for name in sorted(members):
                info = tarfile.TarInfo(f"{folder}/{name}")
                info.size, info.mode, info.mtime = len(members[name]), 0o644, PACKAGE_MTIME
                tar.addfile(info, io.BytesIO(members[name]))
    return raw.getvalue()


def _figure_entry(art: ArticlePlan, fig: FigurePlan) -> dict[str, Any]:
    math = [p.text for p in fig.parts or [] if isinstance(p, Math)] if fig.math else []
    return {
        "key": figure_key(art.pmcid, fig.fig_id),
        "fig_id": fig.fig_id,
        "label": fig.label,
        "file": fig.file,
        "href": fig.href,
        "format": fig.fmt,
        "width": fig.width,
        "height": fig.height,
        "has_caption": fig.parts is not None,
        "math": fig.math,
        "math_text": math,
        "bilingual_group": fig.group_id,
        "thumbnail": fig.thumb_href,
        "thumbnail_size": list(fig.thumb_size) if fig.thumb_size else None,
        "expect": fig.expect,
        "planted": fig.planted,
        "panels": [{"label": p.label, "kind": p.kind, "bbox": list(p.bbox)} for p in fig.panels],
    }


def _article_entry(art: ArticlePlan, path: str) -> dict[str, Any]:
    return {
        "pmcid": art.pmcid,
        "doi": art.doi,
        "layout": art.layout,
        "path": path,
        "article_type": art.article_type,
        "license_url": art.license_url,
        "features": art.features,
        "expect_empty": art.expect_empty,
        "figures": [_figure_entry(art, f) for f in art.figures],
    }


def write_article(art: ArticlePlan, root: Path) -> str:
    """Write one article in its layout; return its path relative to `root`."""
    files = {f"{art.pmcid}.nxml": article_xml(art), **art.files}
    if art.layout == "targz":
        path = f"packages/{art.pmcid}.tar.gz"
        (root / "packages").mkdir(exist_ok=True)
        (root / path).write_bytes(targz(files, art.pmcid))
        return path
    folder = root / "articles" / art.pmcid
    folder.mkdir(parents=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return f"articles/{art.pmcid}/{art.pmcid}.nxml"


def _check_replaceable(out: Path) -> None:
    """Refuse to replace a folder that is not an earlier demo corpus."""
    if out.exists() and any(out.iterdir()) and not (out / MANIFEST).is_file():
        raise SystemExit(f"{out} exists and is not a demo corpus (no {MANIFEST}); not replacing")


def generate(out: str | os.PathLike, seed: int = 0, count: int = N_ARTICLES) -> dict[str, Any]:
    """Write the corpus to `out` (replacing an earlier one whole); return the manifest."""
    out = Path(out)
    _check_replaceable(out)
    tmp = out.with_name(f"{out.name}.tmp-{uuid.uuid4().hex[:8]}")
    tmp.mkdir(parents=True)
    try:
        entries = [_article_entry(a, write_article(a, tmp)) for a in plan_corpus(seed, count)]
        manifest = {"generator": "demo", "seed": seed, "articles": entries}
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return manifest
