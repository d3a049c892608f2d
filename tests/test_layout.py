"""The layout rules, read from the source with `ast` (nothing here imports the packages).

Imports flow one way: the packages that run things may import the libraries; `transforms`
imports `metadata` and `schemas`; `metadata` imports `schemas`; `schemas` imports none of
ours. `transforms` never imports Beam, source files stay short, and each stage has its
subpackage in `transforms/` and its Beam file in `pipeline/stages/`.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

LIBRARIES = frozenset({"transforms", "metadata", "schemas"})
# what each of our packages may import besides itself; tests may import anything
ALLOWED: dict[str, frozenset[str]] = {
    "schemas": frozenset(),
    "metadata": frozenset({"schemas"}),
    "transforms": frozenset({"metadata", "schemas"}),
    "pipeline": LIBRARIES | {"trainer", "explorer"},
    "trainer": LIBRARIES,
    "explorer": LIBRARIES,
    "demo": LIBRARIES,
    # benchmarks measure the runners too (the CLI, the trainer), as a user runs them
    "benchmarks": LIBRARIES | {"pipeline", "trainer", "explorer", "demo"},
}
OURS = frozenset(ALLOWED) | {"tests"}
# folders at the top that hold no source of ours: run outputs, builds, the shared test data
NOT_SOURCE = frozenset({"out", "build", "dist", "shared", "__pycache__"})
MAX_LINES = 450  # a ceiling with some slack over the ~400 the standard asks for
STAGES = ("extract", "segment", "tag")  # later balance, dedup, export
IMPORTERS = frozenset({"__import__", "import_module"})  # __import__(), importlib.import_module()


def source_files() -> Iterator[Path]:
    """Every .py under the project root, skipping hidden folders (.venv, .git) and outputs."""
    for folder, dirs, files in os.walk(ROOT):
        here = Path(folder)
        dirs[:] = sorted(
            d
            for d in dirs
            if not d.startswith(".")
            and not d.endswith(".egg-info")
            and d != "__pycache__"
            and not (here == ROOT and d in NOT_SOURCE)
        )
        yield from (here / f for f in sorted(files) if f.endswith(".py"))


def top_package(path: Path) -> str | None:
    """The top-level folder a file sits in; None for a file at the root."""
    parts = path.relative_to(ROOT).parts
    return parts[0] if len(parts) > 1 else None


def imported_tops(path: Path, source: str) -> Iterator[tuple[int, str]]:
    """(line, top-level name) of every import in `source`: plain, from-, relative (resolved
    against the file's own package; '..' past the top gives '<outside>') and dynamic
    imports of a constant name."""
    package = path.relative_to(ROOT).parts[:-1]
    for node in ast.walk(ast.parse(source, filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                yield node.lineno, (node.module or "").split(".")[0]
            elif node.level <= len(package):
                yield node.lineno, package[0]
            else:
                yield node.lineno, "<outside>"
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            first = node.args[0]
            if (
                name in IMPORTERS
                and isinstance(first, ast.Constant)
                and isinstance(first.value, str)
            ):
                yield node.lineno, first.value.split(".")[0]


def import_violations(path: Path, source: str) -> list[str]:
    """Each import of one of our packages (or past the top) that the file's package may not
    make."""
    package = top_package(path)
    if package is None or package == "tests":
        return []
    allowed = ALLOWED.get(package, frozenset()) | {package}
    where = path.relative_to(ROOT)
    return [
        f"{where}:{line} imports {name} ({package} may import {sorted(allowed)})"
        for line, name in imported_tops(path, source)
        if (name in OURS or name == "<outside>") and name not in allowed
    ]


def test_every_source_folder_is_placed_in_the_import_rule() -> None:
    tops = {top_package(p) for p in source_files()} - {None}
    assert tops <= OURS, f"add {sorted(tops - OURS)} to ALLOWED in tests/test_layout.py"
    assert {"transforms", "metadata", "schemas", "pipeline"} <= tops


def test_imports_flow_one_way() -> None:
    violations = [v for p in source_files() for v in import_violations(p, p.read_text())]
    assert violations == []


def test_transforms_never_import_beam() -> None:
    beam = [
        f"{p.relative_to(ROOT)}:{line}"
        for p in (ROOT / "transforms").rglob("*.py")
        for line, name in imported_tops(p, p.read_text())
        if name == "apache_beam"
    ]
    assert beam == []


def test_source_files_stay_short() -> None:
    long = {
        str(p.relative_to(ROOT)): n
        for p in source_files()
        if top_package(p) != "tests" and (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}


def test_each_stage_has_its_subpackage_and_its_beam_file() -> None:
    stages_dir = ROOT / "pipeline" / "stages"
    beam_files = {p.stem for p in stages_dir.glob("*.py")} - {"__init__"}
    subpackages = {p.parent.name for p in (ROOT / "transforms").glob("*/__init__.py")}
    assert (stages_dir / "__init__.py").is_file()
    assert set(STAGES) <= subpackages
    assert set(STAGES) <= beam_files
    # one transforms subpackage per stage, and a stage's Beam wraps its pure logic
    assert subpackages == beam_files
    registry = stages_dir / "__init__.py"
    registered = {
        name
        for node in ast.walk(ast.parse(registry.read_text()))
        if isinstance(node, ast.ImportFrom)
        for name in (
            [(node.module or "").removeprefix("pipeline.stages.")]
            if node.level == 0
            else [node.module or "", *(a.name for a in node.names)]
        )
    }
    assert beam_files <= registered, "the registry in pipeline/stages/__init__.py misses some"


# The checker itself must see each kind of import: a rule it cannot break proves nothing.


def check(relative: str, source: str) -> list[str]:
    return import_violations(ROOT / relative, source)


def test_checker_sees_a_library_importing_upwards() -> None:
    assert check("metadata/x.py", "from transforms.tag import artefact")
    assert check("metadata/x.py", "import transforms.keys as keys")
    assert check("schemas/x.py", "from metadata import words")
    assert check("transforms/tag/x.py", "import pipeline.options")
    assert check("transforms/tag/x.py", "def f():\n    from demo import corpus\n")
    assert check("demo/x.py", "import pipeline")
    assert check("demo/x.py", "from trainer import loop")
    assert check("benchmarks/x.py", "from tests import hostile")


def test_checker_sees_relative_and_dynamic_imports() -> None:
    assert check("schemas/x.py", "from .. import transforms") == [
        "schemas/x.py:1 imports <outside> (schemas may import ['schemas'])"
    ]
    assert check("metadata/x.py", "import importlib\nimportlib.import_module('transforms.keys')")
    assert check("metadata/x.py", "__import__('pipeline')")
    assert check("transforms/segment/x.py", "from .. import keys") == []
    assert check("transforms/segment/x.py", "from ... import pipeline")


def test_checker_lets_the_allowed_imports_through() -> None:
    allowed = "import numpy\nfrom schemas import records\nfrom metadata import words\n"
    assert check("transforms/tag/x.py", allowed + "from transforms.keys import tar_key") == []
    assert check("pipeline/x.py", allowed + "import trainer\nfrom explorer import app") == []
    assert check("metadata/x.py", "from schemas import records\nfrom metadata import words") == []
    assert check("tests/x.py", "import pipeline, demo, trainer") == []


def test_checker_sees_beam_in_transforms() -> None:
    source = "import apache_beam as beam\nfrom apache_beam.io import fileio"
    tops = [name for _, name in imported_tops(ROOT / "transforms/x.py", source)]
    assert tops == ["apache_beam", "apache_beam"]
