"""CLIP scores for curation: each record's image-text cosine under a trained model.

`python -m trainer score --model CKPT --input FOLDER --output OUT/scores` reads a
stage folder's Parquet shards and writes, per input shard, `data-SSSSS-of-NNNNN.parquet`
with `key` and `clip_score`, plus `errors-*.parquet`, `stats.json` (the stage ledger)
and `run.json`. Export filters on it with `--clip-scores OUT/scores --min-clip-score X`
(DataComp's CLIP-score filter).
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import torch
import torch.nn.functional as F
from PIL import Image

from schemas.records import ERROR_SCHEMA
from trainer.data import parquet_shards_in, record_text
from trainer.models import load_trained
from transforms.ledger import Ledger, StageError, UnitResult, run_unit, stats_json

SCORE_SCHEMA = pa.schema(
    [pa.field("key", pa.string(), nullable=False), pa.field("clip_score", pa.float32())]
)
STAGE = "score"
READ_COLUMNS = ("key", "image", "text", "caption", "subcaption", "caption_preamble")


def input_shards(folder: Path) -> list[Path]:
    shards = parquet_shards_in(folder)
    if not shards:
        raise FileNotFoundError(f"no Parquet shards in {folder}")
    return shards


class Scorer:
    """Prepares records (decode, transform, tokenise) and scores them in batches."""

    def __init__(self, checkpoint: str, arch: str | None, device: torch.device) -> None:
        self.model, self.transform, self.tokenizer = load_trained(checkpoint, arch, device)
        self.device = device

    def prepare(self, record: dict[str, Any]) -> UnitResult:
        image = record.get("image") or {}
        if not image.get("bytes"):
            return UnitResult(empty_reason="no_image")
        text = record_text(record)
        if not text.strip():
            return UnitResult(empty_reason="no_text")
        try:
            with Image.open(io.BytesIO(image["bytes"])) as img:
                pixels = self.transform(img.convert("RGB"))
        except Exception as exc:
            raise StageError("image_decode", f"{type(exc).__name__}: {exc}") from exc
        return UnitResult(records=[{"key": record["key"], "pixels": pixels, "text": text}])

    @torch.no_grad()
    def cosine(self, prepared: list[dict[str, Any]]) -> list[float]:
        pixels = torch.stack([p["pixels"] for p in prepared]).to(self.device)
        tokens = self.tokenizer([p["text"] for p in prepared]).to(self.device)
        images = F.normalize(self.model.encode_image(pixels).float(), dim=-1)
        texts = F.normalize(self.model.encode_text(tokens).float(), dim=-1)
        return (images * texts).sum(dim=-1).cpu().tolist()


def score_shard(scorer: Scorer, path: Path, batch_size: int) -> tuple[pa.Table, list, Ledger]:
    keys: list[str] = []
    scores: list[float] = []
    failures: list[dict[str, Any]] = []
    ledger = Ledger()
    pending: list[dict[str, Any]] = []
    present = pq.read_schema(path).names
    columns = [c for c in READ_COLUMNS if c in present]
    for batch in pq.ParquetFile(path).iter_batches(batch_size, columns=columns):
        for record in batch.to_pylist():
            result = run_unit(scorer.prepare, record, record["key"], str(path))
            ledger = ledger.merge(Ledger.of(result))
            if result.error is not None:
                failures.append({"stage": STAGE, **result.error.__dict__})
            pending += result.records
            if len(pending) >= batch_size:
                keys += [p["key"] for p in pending]
                scores += scorer.cosine(pending)
                pending = []
    if pending:
        keys += [p["key"] for p in pending]
        scores += scorer.cosine(pending)
    table = pa.table({"key": keys, "clip_score": scores}, schema=SCORE_SCHEMA)
    return table, failures, ledger


def score_folder(
    checkpoint: str,
    input_folder: str,
    output_folder: str,
    arch: str | None = None,
    batch_size: int = 64,
    device: str = "auto",
) -> dict[str, Any]:
    """Score every record of `input_folder`; returns the stats written to stats.json."""
    torch_device = torch.device(
        "cuda" if device in ("auto", "cuda") and torch.cuda.is_available() else "cpu"
    )
    shards = input_shards(Path(input_folder))
    scorer = Scorer(checkpoint, arch, torch_device)
    out = Path(output_folder)
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("*.parquet"):
        stale.unlink()
    ledger, failures = Ledger(), []
    for index, shard in enumerate(shards):
        table, shard_failures, shard_ledger = score_shard(scorer, shard, batch_size)
        name = f"data-{index:05d}-of-{len(shards):05d}.parquet"
        pq.write_table(table, out / name, compression="zstd")
        ledger, failures = ledger.merge(shard_ledger), failures + shard_failures
    errors = pa.Table.from_pylist(failures, schema=ERROR_SCHEMA)
    pq.write_table(errors, out / "errors-00000-of-00001.parquet", compression="zstd")
    written = sum(pq.read_metadata(p).num_rows for p in out.glob("data-*.parquet"))
    stats = ledger.to_stats(STAGE, written=written, model=checkpoint)
    stats["ledger_ok"] = stats["ledger_ok"] and written == ledger.out
    (out / "stats.json").write_text(stats_json(stats))
    run = {"input": str(input_folder), "options": {"model": checkpoint, "arch": arch}}
    (out / "run.json").write_text(json.dumps(run, indent=2) + "\n")
    return stats
