"""The worker image (dataflow/Dockerfile) agrees with what the project pins and packages:
no daemon runs here to build it, so what it is built from is checked instead."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import apache_beam

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = (ROOT / "dataflow" / "Dockerfile").read_text()
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def arg(name: str) -> str:
    found = re.search(rf"^ARG {name}=(\S+)$", DOCKERFILE, re.M)
    assert found, f"dataflow/Dockerfile has no ARG {name}"
    return found.group(1)


def test_the_image_is_beams_own_at_the_pinned_version_and_python() -> None:
    assert arg("BEAM_VERSION") == apache_beam.__version__
    assert "FROM apache/beam_python3.11_sdk:${BEAM_VERSION}" in DOCKERFILE
    assert PYPROJECT["project"]["requires-python"] == ">=3.11"


def test_the_image_installs_extras_that_exist_and_the_makefiles_torch() -> None:
    extras = set(PYPROJECT["project"]["optional-dependencies"])
    default = arg("EXTRAS").split(",")
    assert set(default) <= extras and "faiss" in default and "pdf" in default
    gpu = re.search(r"EXTRAS=(\S+) \.\.\.\s+\(GPU", DOCKERFILE)
    assert gpu and set(gpu.group(1).split(",")) <= extras and "faiss" not in gpu.group(1)
    pins = re.search(r"^TORCH_PINS := (.+)$", (ROOT / "Makefile").read_text(), re.M)
    assert pins and f"pip install --no-cache-dir {pins.group(1).strip()}" in DOCKERFILE


def test_the_image_copies_every_package_the_project_ships() -> None:
    include = PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = {name.rstrip("*") for name in include}
    copied = set(re.findall(r"^COPY (\w+) \1$", DOCKERFILE, re.M))
    assert copied == packages
    readme = PYPROJECT["project"]["readme"]
    assert re.search(rf"^COPY pyproject.toml {readme} \./$", DOCKERFILE, re.M)
