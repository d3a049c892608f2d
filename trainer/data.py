"""Training and evaluation samples from the exported WebDataset tars or Parquet shards.

The tar chain is open_clip's: shard list -> split by node -> split by worker ->
`tarfile_to_samples` (bad members are logged and skipped) -> seeded shuffle buffer ->
decode, augment, tokenise -> batch, all inside the loader workers. Parquet shards (an
`image` struct {bytes, path} and a `text` column) feed the same chain from the shard
list on.

Exact resume: each worker's stream is infinite (epoch after epoch, each with its own
seeded shard order and shuffle), numbered per epoch *before* decoding. A batch carries
the (worker, epoch, number) of its last sample, so a checkpoint can store where every
worker stood; on resume a worker replays its stream up to there without decoding. The
DataLoader hands out batches round-robin over workers, so after `b` batches the next one
comes from worker `b mod W`; a resumed loader's worker p therefore plays worker
`(p + b) mod W`.
"""

from __future__ import annotations

import glob
import io
import json
import logging
import random
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import torch
import webdataset as wds
from PIL import Image
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from transforms.keys import key_from_tar, tar_key

log = logging.getLogger("trainer.data")

IMAGE_EXTENSIONS = ("jpg", "jpeg", "png", "webp")


def log_and_continue(exn: Exception) -> bool:
    """webdataset handler: log the bad member or sample and go on with the next."""
    log.warning("skipped a bad sample: %r", exn)
    return True


def log_bad_sample(sample: dict[str, Any], exc: Exception) -> None:
    log.warning("skipped %s from %s: %r", sample.get("__key__"), sample.get("__url__"), exc)


# tables a stage writes beside its records
SIDE_TABLES = ("errors-", "dropped-", "duplicates-", "entry_counts-", "unrecognised-")


def parquet_shards_in(folder: Path) -> list[Path]:
    """A folder's record shards: `data-*.parquet`, else every Parquet but the side tables."""
    return sorted(folder.glob("data-*.parquet")) or sorted(
        p for p in folder.glob("*.parquet") if not p.name.startswith(SIDE_TABLES)
    )


def expand_shards(spec: str | list[str]) -> list[str]:
    """Shard paths from `DIR/{00000..00003}.tar` (brace notation, `::` between lists), a
    glob (`DIR/*.tar`), or a folder (its `.tar` shards, else its `.parquet` shards)."""
    if isinstance(spec, list):
        urls = list(spec)
    elif Path(spec).is_dir():
        folder = Path(spec)
        urls = [str(p) for p in sorted(folder.glob("*.tar")) or parquet_shards_in(folder)]
    elif any(ch in spec for ch in "*?["):
        urls = sorted(glob.glob(spec))
    else:
        urls = wds.shardlists.expand_urls(spec)
    if not urls:
        raise ValueError(f"no shards in {spec!r}")
    return urls


def shard_format(urls: list[str]) -> str:
    kinds = {"parquet" if url.endswith(".parquet") else "tar" for url in urls}
    if len(kinds) != 1:
        raise ValueError("mix of .tar and .parquet shards; pass one kind")
    return kinds.pop()


def record_text(record: dict[str, Any]) -> str:
    """The text a record trains on: export's `text`; before export, its own caption part."""
    if record.get("text"):
        return record["text"]
    if record.get("subcaption"):
        preamble = record.get("caption_preamble") or ""
        return f"{preamble} {record['subcaption']}".strip()
    return record.get("caption") or ""


def parquet_samples(shards: Iterable[dict[str, str]]) -> Iterator[dict[str, Any]]:
    """Rows of Parquet shards as tar-like samples ({__key__, image bytes, txt, json})."""
    for shard in shards:
        url = shard["url"]
        try:
            table = pq.read_table(url)
        except Exception as exc:  # noqa: BLE001 - one bad shard is logged, the run goes on
            log_and_continue(ValueError(f"{url}: unreadable Parquet shard: {exc}"))
            continue
        meta_columns = [c for c in ("key", "modalities") if c in table.column_names]
        for batch in table.to_batches(max_chunksize=256):
            rows = batch.to_pylist()
            for row in rows:
                image = row.get("image") or {}
                sample = {"__key__": tar_key(row["key"]), "__url__": url}
                if image.get("bytes"):
                    sample["image"] = image["bytes"]
                text = record_text(row)
                if text:
                    sample["txt"] = text.encode("utf-8")
                sample["json"] = json.dumps({c: row[c] for c in meta_columns}).encode("utf-8")
                yield sample


def split_by_logical_worker(worker: int, num_workers: int) -> Callable:
    """webdataset's split_by_worker, for a worker id that resume may have rotated."""

    def split(src: Iterable[Any]) -> Iterator[Any]:
        yield from islice(src, worker, None, num_workers)

    return split


def shuffled(samples: Iterable[Any], bufsize: int, rng: random.Random) -> Iterator[Any]:
    """A seeded shuffle buffer (webdataset's, with our own rng so replay is exact)."""
    if bufsize <= 1:
        yield from samples
        return
    buffer: list[Any] = []
    for sample in samples:
        buffer.append(sample)
        if len(buffer) >= bufsize:
            index = rng.randrange(len(buffer))
            buffer[index], buffer[-1] = buffer[-1], buffer[index]
            yield buffer.pop()
    rng.shuffle(buffer)
    yield from buffer


@dataclass
class SampleCodec:
    """Raw sample -> (image tensor, token ids); runs in the loader workers."""

    image_transform: Callable
    tokenizer: Callable
    seed: int = 0
    # decode JPEGs at a reduced scale (DCT scaling) when they are this many pixels larger
    # than needed; the transform crops >= 90% of the image, so 2x the model's side is plenty
    draft_side: int | None = None

    def image(self, sample: dict[str, Any]) -> Image.Image:
        data = next((sample[e] for e in (*IMAGE_EXTENSIONS, "image") if sample.get(e)), None)
        if data is None:
            raise ValueError(f"{sample.get('__key__')}: no image member")
        with Image.open(io.BytesIO(data)) as img:
            if self.draft_side:
                img.draft("RGB", (self.draft_side, self.draft_side))
            return img.convert("RGB")

    def text(self, sample: dict[str, Any]) -> str:
        raw = sample.get("txt")
        text = raw.decode("utf-8").strip() if raw else ""
        if not text:
            raise ValueError(f"{sample.get('__key__')}: no text member")
        return text

    def encode(self, sample: dict[str, Any], epoch: int) -> tuple[torch.Tensor, torch.Tensor]:
        image = self.image(sample)
        # Augmentation draws from torch's CPU generator: seed it from (seed, epoch, key) so
        # that a replayed sample is augmented exactly as the first time. A loader worker owns
        # its generator; in the main process the caller's state is put back afterwards.
        # (The generator itself, not torch.manual_seed, which also seeds every accelerator
        # and costs more than the whole decode.)
        aug_seed = zlib.crc32(f"{self.seed}/{epoch}/{sample['__key__']}".encode())
        generator = torch.default_generator
        saved = generator.get_state() if get_worker_info() is None else None
        try:
            generator.manual_seed(aug_seed)
            pixels = self.image_transform(image)
        finally:
            if saved is not None:
                generator.set_state(saved)
        return pixels, self.tokenizer([self.text(sample)])[0]


@dataclass
class StreamPlan:
    """Where each logical worker starts: (epoch, first sample number to use)."""

    num_workers: int = 1
    batches_done: int = 0
    starts: list[tuple[int, int]] | None = None

    def start_of(self, worker: int) -> tuple[int, int]:
        return tuple(self.starts[worker]) if self.starts else (0, 0)


class TrainStream(IterableDataset):
    """Infinite batches of (images, tokens, keys, position) for one rank."""

    def __init__(
        self,
        urls: list[str],
        codec: SampleCodec,
        batch_size: int,
        plan: StreamPlan,
        seed: int = 0,
        shuffle_buffer: int = 256,
    ) -> None:
        super().__init__()
        self.urls, self.codec, self.batch_size = urls, codec, batch_size
        self.plan, self.seed, self.shuffle_buffer = plan, seed, shuffle_buffer
        self.format = shard_format(urls)

    def epoch_samples(self, epoch: int, worker: int) -> Iterator[dict[str, Any]]:
        """One epoch of raw (undecoded) samples for a logical worker, in a seeded order."""
        rank, world_size, _, _ = wds.utils.pytorch_worker_info()
        stages: list[Any] = [
            wds.SimpleShardList(self.urls, seed=self.seed + epoch),
            wds.split_by_node,
            split_by_logical_worker(worker, self.plan.num_workers),
        ]
        if self.format == "tar":
            stages.append(wds.tarfile_to_samples(handler=log_and_continue))
        else:
            stages.append(parquet_samples)
        rng = random.Random(f"{self.seed}/{epoch}/{rank}/{world_size}/{worker}")
        return shuffled(wds.DataPipeline(*stages), self.shuffle_buffer, rng)

    def numbered(self, worker: int) -> Iterator[tuple[int, int, dict[str, Any]]]:
        """(epoch, number, raw sample) from the plan's start on, epoch after epoch."""
        epoch, first = self.plan.start_of(worker)
        while True:
            seen = 0
            for number, sample in enumerate(self.epoch_samples(epoch, worker)):
                seen += 1
                if number >= first:
                    yield epoch, number, sample
            if seen == 0:
                log.error("worker %d has no samples in epoch %d; it stops", worker, epoch)
                return
            epoch, first = epoch + 1, 0

    def __iter__(self) -> Iterator[dict[str, Any]]:
        info = get_worker_info()
        physical = info.id if info is not None else 0
        worker = (physical + self.plan.batches_done) % self.plan.num_workers
        images, tokens, keys = [], [], []
        for epoch, number, sample in self.numbered(worker):
            try:
                pixels, ids = self.codec.encode(sample, epoch)
            except Exception as exc:  # noqa: BLE001 - a bad sample is logged and skipped
                log_bad_sample(sample, exc)
                continue
            images.append(pixels)
            tokens.append(ids)
            keys.append(key_from_tar(sample["__key__"]))
            if len(keys) == self.batch_size:
                yield {
                    "image": torch.stack(images),
                    "text": torch.stack(tokens),
                    "keys": keys,
                    "position": torch.tensor([worker, epoch, number + 1]),
                }
                images, tokens, keys = [], [], []


def collate_identity(batch: Any) -> Any:
    return batch


def train_loader(
    urls: list[str],
    codec: SampleCodec,
    batch_size: int,
    workers: int,
    plan: StreamPlan | None = None,
    seed: int = 0,
    shuffle_buffer: int = 256,
) -> tuple[DataLoader, StreamPlan]:
    """An endless loader for this rank, and the plan it started from.

    Workers are capped at this rank's shard count so that none idles with no shards.
    """
    rank, world_size, _, _ = wds.utils.pytorch_worker_info()
    rank_shards = len(urls[rank::world_size])
    if rank_shards == 0:
        raise ValueError(f"{len(urls)} shards cannot feed {world_size} ranks; need one each")
    streams = max(1, min(workers, rank_shards))
    if plan is None:
        plan = StreamPlan(num_workers=streams)
    elif plan.num_workers != streams:
        raise ValueError(
            f"the checkpoint's data position is for {plan.num_workers} loader workers; "
            f"run with --workers {plan.num_workers} to resume at the same sample"
        )
    dataset = TrainStream(urls, codec, batch_size, plan, seed, shuffle_buffer)
    loader = DataLoader(
        dataset,
        batch_size=None,
        num_workers=streams if workers > 0 else 0,
        collate_fn=collate_identity,
        persistent_workers=False,
        prefetch_factor=4 if workers > 0 else None,
        pin_memory=torch.cuda.is_available(),
    )
    return loader, plan


class EvalSamples(IterableDataset):
    """One pass over validation shards: (image tensor, token ids, key, modalities)."""

    def __init__(self, urls: list[str], codec: SampleCodec) -> None:
        super().__init__()
        self.urls, self.codec = urls, codec
        self.format = shard_format(urls)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor, str, list[str]]]:
        stages: list[Any] = [wds.SimpleShardList(self.urls), wds.split_by_worker]
        if self.format == "tar":
            stages.append(wds.tarfile_to_samples(handler=log_and_continue))
        else:
            stages.append(parquet_samples)
        for sample in wds.DataPipeline(*stages):
            try:
                pixels, ids = self.codec.encode(sample, epoch=0)
                meta = json.loads(sample["json"]) if sample.get("json") else {}
            except Exception as exc:  # noqa: BLE001 - a bad sample is logged and skipped
                log_bad_sample(sample, exc)
                continue
            yield pixels, ids, key_from_tar(sample["__key__"]), list(meta.get("modalities") or [])


def collate_eval(items: list[tuple]) -> dict[str, Any]:
    return {
        "image": torch.stack([item[0] for item in items]),
        "text": torch.stack([item[1] for item in items]),
        "keys": [item[2] for item in items],
        "modalities": [item[3] for item in items],
    }


def eval_loader(urls: list[str], codec: SampleCodec, batch_size: int, workers: int) -> DataLoader:
    dataset = EvalSamples(urls, codec)
    return DataLoader(
        dataset,
        batch_size=batch_size,
        num_workers=min(workers, len(urls)),
        collate_fn=collate_eval,
    )
