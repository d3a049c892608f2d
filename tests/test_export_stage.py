"""The export stage on the real Beam runner: a deduped folder -> OUT/export, with 1 worker
and with 2 giving the same bytes, the ledger read back from disk, sizes.json, the card and
croissant.json."""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from export_fixtures import corpus, deduped_record

from pipeline.stages import STAGES
from schemas.records import DEDUPED_SCHEMA, ENTRY_COUNT_SCHEMA
from transforms.ledger import Ledger, stats_json

ROOT = Path(__file__).resolve().parents[1]


def test_export_is_registered_and_reads_deduped() -> None:
    spec = STAGES["export"]
    assert (spec.input_kind, spec.output_kind) == ("deduped", "export")
    assert spec.pool is not None and spec.finalize is not None


def write_inputs(root: Path) -> list[dict]:
    records = corpus(12)
    records.append(deduped_record("PMC77/F1/p0", image=None, image_status="missing"))
    records.append(deduped_record("PMC78/F1/p0", license="CC BY-NC 4.0"))
    deduped = root / "deduped"
    deduped.mkdir(parents=True)
    table = pa.Table.from_pylist(records, schema=DEDUPED_SCHEMA)
    pq.write_table(table, deduped / "data-00000-of-00001.parquet")
    (root / "takedowns.txt").write_text("# takedown requests\nPMC1001\n")
    n = len(records)
    stats = Ledger(inputs=n, in_with_output=n, found=n, out=n).to_stats("dedup")
    (deduped / "stats.json").write_text(stats_json(stats))
    balanced = root / "balanced"
    balanced.mkdir()
    counts = [{"entry": "C0023884", "count": 400}, {"entry": "C0024109", "count": 3}]
    pq.write_table(
        pa.Table.from_pylist(counts, schema=ENTRY_COUNT_SCHEMA),
        balanced / "entry_counts-00000-of-00001.parquet",
    )
    return records


def run_export(root: Path, workers: int) -> None:
    cmd = [
        sys.executable, "-m", "pipeline", "export", "--force",
        "--input", str(root / "deduped"), "--output", str(root / "export"),
        "--licenses", "CC BY,CC0", "--shard-samples", "12", "--text-max-tokens", "0",
        "--release-date", "2026-01-01", "--creator", "Test Curator",
        "--exclude-pmcids", str(root / "takedowns.txt"),
        f"--direct_num_workers={workers}",
    ]  # fmt: skip
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]


def folder_bytes(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


@pytest.mark.beam
def test_export_stage_writes_every_format_and_is_byte_identical(tmp_path: Path) -> None:
    records = write_inputs(tmp_path)
    run_export(tmp_path, workers=1)
    out = tmp_path / "export"
    first = folder_bytes(out)
    stats = json.loads((out / "stats.json").read_text())
    assert stats["ledger_ok"] and stats["in"] == len(records)
    excluded = sum(r["pmcid"] == "PMC1001" for r in records)
    assert stats["dropped"] == {"excluded": excluded, "license": 1, "no_image": 1} and excluded
    assert stats["out"] == len(records) - 2 - excluded

    parquet = pq.read_table(sorted((out / "parquet").glob("*.parquet")))
    metadata = pq.read_table(sorted(out.glob("metadata-*.parquet")))
    assert parquet.num_rows == metadata.num_rows == stats["out"]
    assert "image" not in metadata.column_names
    for split in ("train", "validation"):
        sizes = json.loads((out / "wds" / split / "sizes.json").read_text())
        tars = sorted((out / "wds" / split).glob("*.tar"))
        assert sorted(sizes) == [t.name for t in tars]
        for tar in tars:
            with tarfile.open(tar) as handle:
                names = [m.name for m in handle.getmembers() if m.name.endswith(".json")]
            assert len(names) == sizes[tar.name]
        assert sum(sizes.values()) <= 12 * len(tars)  # 12 a shard on average (a key hash)
        split_rows = parquet.filter(pa.compute.equal(parquet.column("split"), split)).num_rows
        assert sum(sizes.values()) == split_rows > 0

    card = (out / "README.md").read_text()
    row = next(line for line in card.splitlines() if line.startswith("| export |"))
    assert [c.strip() for c in row.strip("|").split("|")][1:3] == [
        str(stats["in"]),
        str(stats["out"]),
    ]
    assert "| dedup |" in card and (out / "concepts_head.png").is_file()
    croissant = json.loads((out / "croissant.json").read_text())
    assert croissant["datePublished"] == "2026-01-01"
    assert croissant["license"] == "https://creativecommons.org/licenses/by/4.0/"

    datasets = pytest.importorskip("datasets")
    by_card = datasets.load_dataset(str(out), cache_dir=str(tmp_path / "hf"))  # the card's configs
    assert {split: by_card[split].num_rows for split in by_card} == {
        split: sum(json.loads((out / "wds" / split / "sizes.json").read_text()).values())
        for split in ("train", "validation")
    }

    run_export(tmp_path, workers=2)
    assert folder_bytes(out) == first
