"""Explorer benchmark: the grid's first page and filtered pages on generated run folders of
10k, 100k and 1M rows, against a pyarrow full scan of the same shards, in one run.

Run: .venv/bin/python benchmarks/explore.py   (writes benchmarks/results/explore.json)

Each folder is a `tagged` stage folder: TAGGED_SCHEMA shards of 50k rows, zstd, sorted by
key, each row with a small real PNG, a caption, concepts and modalities. Wall time, median
of REPEATS:
- ours, query: `Explorer.grid` (DuckDB over the shards in place), cold (a new Explorer:
  listing, footers, schema, count and page) and warm (footers cached); filtered by
  modality, semantic group, CUI, free caption text, and modality + text together, each a
  filter's first page (its matches counted) and a later page (the count reused);
- ours, page: the whole first page as a browser gets it (`GET /` through the app), cold (a
  new app; the menus' value counts start after it, in the background) and warm (menus
  counted, footers cached);
- matches are counted exactly up to COUNT_CAP (10,000), then shown as "10000+": a broad
  filter's count stops early;
- peer: what a notebook does without the explorer: pyarrow reads the grid's columns of
  every shard, filters and sorts, and slices the first page (also for the text filter).
"""

from __future__ import annotations

import io
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pyarrow as pa  # noqa: E402
import pyarrow.compute as pc  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
from PIL import Image  # noqa: E402

from explorer.folders import OutFolder  # noqa: E402
from explorer.query import GRID_COLUMNS, PAGE_SIZE, Explorer, Filters  # noqa: E402
from schemas import TAGGED_SCHEMA  # noqa: E402

SIZES = (10_000, 100_000, 1_000_000)
SHARD_ROWS = 50_000
REPEATS = 5
MODALITIES = [
    "radiology/ct",
    "radiology/mri",
    "microscopy/light",
    "chart/line",
    "ophthalmology/fundus",
]
GROUPS = ["ANAT", "DISO", "PROC", "CHEM"]
WORDS = "lung liver nodule effusion stain cell tumour vessel retina kidney bone heart".split()
FILTERS = {
    "modality": Filters(modality="radiology"),
    "semgroup": Filters(semgroup="CHEM"),
    "cui": Filters(concept="C0000007"),
    "text": Filters(text="kidney tumour"),
    "modality+text": Filters(modality="radiology/ct", text="retina"),
}


def base_shard(rows: int) -> pa.Table:
    """One shard's columns; later shards differ only in their keys."""
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), "teal").save(buffer, "PNG")
    image = {"bytes": buffer.getvalue(), "path": None}
    columns: dict[str, list] = {name: [] for name in TAGGED_SCHEMA.names}
    for i in range(rows):
        a, b = WORDS[i % len(WORDS)], WORDS[(i * 7 + 3) % len(WORDS)]
        caption = f"Figure {i}. (A) {a} {b} in patient {i % 997}."
        concepts = [
            dict(
                cui=f"C{(i * 31 + k) % 5000:07d}",
                name=w,
                start=caption.index(w),
                end=caption.index(w) + len(w),
                semtypes=[],
                semgroup=GROUPS[(i + k) % 4],
                negated=k == 1,
            )  # fmt: skip
            for k, w in enumerate((a, b))
        ]
        values = dict(
            caption=caption, subcaption=caption[caption.index("(A)") :], license="CC BY 4.0",
            image=image, concepts=concepts, modalities=[MODALITIES[i % 5], MODALITIES[i % 3]],
            seg_method="xycut", seg_score=0.5, panel_index=0, bbox=[0, 0, 16, 16],
        )  # fmt: skip
        for name in TAGGED_SCHEMA.names:
            columns[name].append(values.get(name))
    columns["key"] = [""] * rows
    return pa.table(columns, schema=TAGGED_SCHEMA)


def make_folder(root: Path, rows: int, base: pa.Table) -> Path:
    folder = root / f"run-{rows}" / "tagged"
    folder.mkdir(parents=True)
    shards = -(-rows // SHARD_ROWS)
    for shard in range(shards):
        n = min(SHARD_ROWS, rows - shard * SHARD_ROWS)
        keys = pa.array([f"PMC{shard * SHARD_ROWS + i:09d}/F1/p0" for i in range(n)])
        table = base.slice(0, n).set_column(0, "key", keys)
        name = f"data-{shard:05d}-of-{shards:05d}.parquet"
        pq.write_table(table, folder / name, compression="zstd", row_group_size=2000)
    return folder.parent


def median_time(fn: Callable[[], object], repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return round(statistics.median(times), 4)


def pyarrow_page(folder: Path, text: str | None = None) -> list:
    """The peer: read the grid's columns of every shard, filter, sort, slice a page."""
    files = sorted((folder / "tagged").glob("data-*.parquet"))
    names = [c for c in GRID_COLUMNS if c in TAGGED_SCHEMA.names]
    table = pq.read_table(files, columns=names)
    if text:
        table = table.filter(pc.match_substring(pc.utf8_lower(table["caption"]), text))
    return table.sort_by("key").slice(0, PAGE_SIZE).to_pylist()


def measure(folder: Path) -> dict:
    from starlette.testclient import TestClient

    from explorer.app import create_app

    warm = Explorer(OutFolder(str(folder)))
    first = warm.grid(Filters())
    assert len(first.rows) == PAGE_SIZE and first.rows[0]["key"].endswith("000000000/F1/p0")
    result = {
        "first_page_cold_s": median_time(lambda: Explorer(OutFolder(str(folder))).grid(Filters())),
        "first_page_warm_s": median_time(lambda: warm.grid(Filters())),
        "filtered_page_warm_s": {},
        "filtered_next_page_s": {},
        "filtered_matches": {},
    }
    for name, filters in FILTERS.items():
        # a filter's first page counts its matches; its later pages reuse that count
        first_time = lambda f=filters: (warm.forget_totals(), warm.grid(f))  # noqa: E731
        result["filtered_page_warm_s"][name] = median_time(first_time)
        result["filtered_next_page_s"][name] = median_time(lambda f=filters: warm.grid(f, 3))
        counted = warm.grid(filters)
        result["filtered_matches"][name] = f"{counted.total}{'+' if counted.capped else ''}"
    result["page_2000_warm_s"] = median_time(lambda: warm.grid(Filters(), 2000))

    def menus_counted(client: TestClient) -> None:
        """Wait (untimed) for the background menu counts, so no measurement runs beside them."""
        deadline = time.monotonic() + 120
        while '<select name="modality"' not in client.get("/").text:
            assert time.monotonic() < deadline, "menus never counted"
            time.sleep(0.2)

    cold = []
    for _ in range(3):
        start = time.perf_counter()
        client = TestClient(create_app(str(folder)))
        response = client.get("/")
        cold.append(time.perf_counter() - start)
        assert response.status_code == 200 and response.text.count("/thumb/") == PAGE_SIZE
        menus_counted(client)
    result["http_first_page_cold_s"] = round(statistics.median(cold), 4)
    result["http_first_page_warm_s"] = median_time(lambda: client.get("/"))
    result["http_thumbnail_s"] = median_time(lambda: client.get("/thumb/tagged/0/1999"), 3)
    peer = median_time(lambda: pyarrow_page(folder), 3)
    peer_text = median_time(lambda: pyarrow_page(folder, "kidney tumour"), 3)
    assert [r["key"] for r in pyarrow_page(folder)] == [r["key"] for r in first.rows]
    result["peer_pyarrow_full_scan_first_page_s"] = peer
    result["peer_pyarrow_full_scan_text_page_s"] = peer_text
    result["speedup_first_page_cold_vs_pyarrow"] = round(peer / result["first_page_cold_s"], 1)
    result["speedup_text_page_vs_pyarrow"] = round(
        peer_text / result["filtered_page_warm_s"]["text"], 1
    )
    return result


def main() -> int:
    import duckdb

    out = ROOT / "benchmarks" / "results" / "explore.json"
    results: dict = {
        "machine": f"{platform.machine()}, {platform.python_version()}, duckdb {duckdb.__version__}"
        f", pyarrow {pa.__version__}; {os.cpu_count()} cores shared with other sessions (their "
        "load is in each size's load_average_1min_before_after; above the core count, "
        "every time here is inflated)",
        "method": __doc__.split("\n\n")[1].replace("\n", " "),
        "rows": {},
    }
    base = base_shard(SHARD_ROWS)
    with tempfile.TemporaryDirectory() as tmp:
        for rows in SIZES:
            start = time.perf_counter()
            folder = make_folder(Path(tmp), rows, base)
            made = time.perf_counter() - start
            load = os.getloadavg()[0]
            measured = measure(folder) | {"generate_s": round(made, 1)}
            load = [round(load, 1), round(os.getloadavg()[0], 1)]
            results["rows"][str(rows)] = measured | {"load_average_1min_before_after": load}
            print(rows, json.dumps(results["rows"][str(rows)]), flush=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
