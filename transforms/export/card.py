"""The dataset card, `OUT/export/README.md`, and the PNG plots beside it.

Pure: it takes the numbers (every stage's stats.json, the export summary, balance's
entry counts over the pool, the panels-per-figure histogram, the shard sizes, the run's
options and package versions) and returns the files' bytes. Nothing here reads a clock.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from transforms.export.plots import bar_chart, sample_sheet
from transforms.export.summary import ExportSummary

HEAD = 20
# how the counts of entries are bucketed to show the tail before and after balancing
TAIL_BUCKETS = ((1, 1), (2, 10), (11, 100), (101, 1_000), (1_001, 10_000), (10_001, None))
_HF_LICENSE = re.compile(r"^CC (BY(?:-NC)?(?:-ND|-SA)?) (\d\.\d)$")
_HF_LICENSE_IDS = frozenset(
    "cc-by-2.0 cc-by-2.5 cc-by-3.0 cc-by-4.0 cc-by-sa-3.0 cc-by-sa-4.0 cc-by-nc-2.0 "
    "cc-by-nc-3.0 cc-by-nc-4.0 cc-by-nd-4.0 cc-by-nc-nd-3.0 cc-by-nc-nd-4.0 cc-by-nc-sa-2.0 "
    "cc-by-nc-sa-3.0 cc-by-nc-sa-4.0 cc0-1.0".split()
)


@dataclass
class CardInputs:
    name: str
    export_root: str  # the export folder as users will see it, e.g. "out/demo/export"
    stage_stats: list[tuple[str, dict[str, Any]]]  # (stage, stats.json) in chain order
    summary: ExportSummary
    shard_sizes: dict[str, dict[str, int]]  # split -> tar file -> samples
    entry_counts_before: Mapping[str, int] = field(default_factory=dict)  # balance's pool
    panels_per_figure: Mapping[int, int] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)  # stage -> its run options
    versions: Mapping[str, str] = field(default_factory=dict)  # package -> version
    project_version: str = ""
    project_commit: str = ""
    lexicon: str = "bundled"  # what tagged the concepts: "bundled", "umls", "mesh", "custom"


def hf_license_id(name: str) -> str:
    """`CC BY-NC 4.0` -> `cc-by-nc-4.0` (a Hub licence id), anything unknown -> `other`."""
    if name.startswith("CC0"):
        return "cc0-1.0"
    m = _HF_LICENSE.match(name)
    ident = f"cc-{m.group(1).lower()}-{m.group(2)}" if m else "other"
    return ident if ident in _HF_LICENSE_IDS else "other"


def size_category(total: int) -> str:
    bounds = [
        (1_000, "n<1K"),
        (10_000, "1K<n<10K"),
        (100_000, "10K<n<100K"),
        (1_000_000, "100K<n<1M"),
        (10_000_000, "1M<n<10M"),
        (100_000_000, "10M<n<100M"),
    ]
    return next((name for bound, name in bounds if total < bound), "100M<n<1B")


def loadable_splits(inputs: CardInputs) -> list[str]:
    """The splits with samples: `datasets` refuses a split whose files hold no rows."""
    return [split for split, files in inputs.shard_sizes.items() if sum(files.values())]


def front_matter(inputs: CardInputs) -> str:
    ids = sorted({hf_license_id(name) for name in inputs.summary.licenses})
    lines = [
        "---",
        f"pretty_name: {json.dumps(inputs.name)}",
        "license:",
        *(f"- {ident}" for ident in ids or ["other"]),
        "task_categories:",
        "- image-to-text",
        "- zero-shot-image-classification",
        "tags:",
        "- biomedical",
        "- clip",
        "- pubmed-central",
        "size_categories:",
        f"- {size_category(inputs.summary.total)}",
        "configs:",
        "- config_name: default",
        "  data_files:",
        *(
            f"  - split: {split}\n    path: parquet/{split}-*.parquet"
            for split in loadable_splits(inputs)
        ),
        "---",
    ]
    return "\n".join(lines)


def _reasons(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{reason} {n:,}" for reason, n in sorted(counts.items())) or "–"


def ledger_table(stage_stats: list[tuple[str, dict[str, Any]]]) -> str:
    rows = [
        "| stage | in | out | errors | dropped | dropped by reason | ledger ok |",
        "|---|---:|---:|---:|---:|---|---|",
    ]
    for stage, stats in stage_stats:
        errors = sum(stats.get("errors", {}).values())
        dropped = sum(stats.get("dropped", {}).values())
        rows.append(
            f"| {stage} | {stats['in']:,} | {stats['out']:,} | {errors:,} | {dropped:,} "
            f"| {_reasons(stats.get('dropped', {}))} | {stats.get('ledger_ok')} |"
        )
    return "\n".join(rows)


def _count_table(title: str, counts: Mapping[str, int]) -> str:
    total = sum(counts.values()) or 1
    rows = [f"| {title} | samples | share |", "|---|---:|---:|"]
    for name, n in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        rows.append(f"| {name} | {n:,} | {100 * n / total:.1f}% |")
    return "\n".join(rows)


def tail_buckets(counts: Mapping[str, int]) -> list[tuple[str, int]]:
    """(bucket, number of entries whose count falls in it)."""
    out = []
    for lo, hi in TAIL_BUCKETS:
        label = f"{lo:,}+" if hi is None else (f"{lo:,}" if lo == hi else f"{lo:,}-{hi:,}")
        out.append((label, sum(1 for n in counts.values() if n >= lo and (hi is None or n <= hi))))
    return out


def card_plots(inputs: CardInputs) -> dict[str, bytes]:
    """PNG file name -> bytes."""
    summary = inputs.summary
    plots: dict[str, bytes] = {}
    licenses = sorted(summary.licenses.items(), key=lambda item: (-item[1], item[0]))
    plots["license_mix.png"] = bar_chart(
        "Licences of the exported samples", [n for n, _ in licenses], [[v for _, v in licenses]]
    )
    modalities = sorted(summary.modalities.items(), key=lambda item: (-item[1], item[0]))
    plots["modality_mix.png"] = bar_chart(
        "Modalities of the exported samples (top level)",
        [n for n, _ in modalities],
        [[v for _, v in modalities]],
    )
    panels = sorted(inputs.panels_per_figure.items())
    plots["panels_per_figure.png"] = bar_chart(
        "Panels per figure (figures)", [str(k) for k, _ in panels], [[v for _, v in panels]]
    )
    before = inputs.entry_counts_before
    head = sorted(before, key=lambda entry: (-before[entry], entry))[:HEAD]
    plots["concepts_head.png"] = bar_chart(
        f"The {HEAD} most frequent entries, before and after balancing",
        head,
        [[before[e] for e in head], [summary.entries.get(e, 0) for e in head]],
        legend=("before (tagged pool)", "after (exported)"),
    )
    buckets_before = tail_buckets(before)
    buckets_after = tail_buckets(summary.entries)
    plots["concepts_tail.png"] = bar_chart(
        "Entries by how many samples carry them",
        [f"{label} samples" for label, _ in buckets_before],
        [[n for _, n in buckets_before], [n for _, n in buckets_after]],
        legend=("before (tagged pool)", "after (exported)"),
    )
    examples = [(key, data) for _, key, _, _, data in summary.examples if data]
    if examples:
        plots["samples.png"] = sample_sheet(examples)
    return plots


def _loading(inputs: CardInputs) -> str:
    root = inputs.export_root.rstrip("/")
    files = ", ".join(f'"{s}": "{root}/parquet/{s}-*.parquet"' for s in loadable_splits(inputs))
    train = sorted(inputs.shard_sizes.get("train", {}))
    last = train[-1].removesuffix(".tar") if train else "00000"
    pattern = f"{root}/wds/train/{{00000..{last}}}.tar"
    return f"""## How to load

With 🤗 `datasets` (the `image` column decodes to PIL):

```python
from datasets import load_dataset
ds = load_dataset("{root}")  # this card's configs name the splits' files
ds = load_dataset("parquet", data_files={{{files}}})  # the same, by hand
```

With `webdataset`:

```python
import webdataset as wds
samples = wds.WebDataset("{pattern}").decode("pil").to_tuple("jpg;png", "txt", "json")
```

With open_clip (each tar folder holds the `sizes.json` it reads for the sample count):

```
python -m open_clip_train.main --dataset-type webdataset --train-data '{pattern}' \\
    --model ViT-B-32 --batch-size 256
```

The metadata without images, for analysis: `{root}/metadata-*.parquet`.
"""


def _examples(summary: ExportSummary) -> str:
    rows = ["| key | licence | text |", "|---|---|---|"]
    for _, key, text, license_name, _ in summary.examples:
        short = text if len(text) <= 160 else text[:159] + "…"
        rows.append(f"| `{key}` | {license_name} | {short.replace('|', '/')} |")
    return "\n".join(rows)


def _manifest(inputs: CardInputs) -> str:
    manifest = {
        "project": {"version": inputs.project_version, "commit": inputs.project_commit},
        "options": dict(inputs.options),
        "versions": dict(sorted(inputs.versions.items())),
    }
    return "```json\n" + json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n```"


LEXICON_NOTES = {
    "umls": "They were matched with a licensed UMLS lexicon: the UMLS Metathesaurus licence "
    "and its source vocabularies' terms apply to the CUIs and names.",
    "mesh": "They were matched with a MeSH lexicon: NLM's MeSH terms and conditions apply.",
    "custom": "They were matched with a user-supplied lexicon, whose own terms apply.",
    "bundled": "They were matched with the project's bundled lexicon, hand-written names keyed "
    "by UMLS CUIs; use of the CUIs with UMLS content falls under the UMLS licence.",
}


def _licensing(inputs: CardInputs) -> str:
    return (
        "## Licensing\n\nThe images and captions stay under their articles' own licences, "
        "counted above; CC BY and its relatives require attribution, so every sample's JSON "
        "and metadata carry `license`, `license_url`, `authors` and `citation`. "
        "Concept CUIs and names come from the lexicon used for tagging. "
        + LEXICON_NOTES.get(inputs.lexicon, LEXICON_NOTES["bundled"])
        + "\n"
    )


# what each stage did to the data, for the card's opening lines (only the stages that ran)
STAGE_WORDS = {
    "segment": "panels split from compound figures with their own sub-captions",
    "tag": "UMLS concepts and imaging modalities tagged",
    "balance": "balanced MetaCLIP-style over those concepts",
    "dedup": "near-duplicates removed",
}


def description(inputs: CardInputs) -> str:
    ran = {stage for stage, _ in inputs.stage_stats}
    steps = [words for stage, words in STAGE_WORDS.items() if stage in ran]
    text = "Figure and panel images from biomedical articles with their captions, curated "
    text += "for CLIP training"
    return text + (": " + "; ".join(steps) + "." if steps else ".")


def dataset_card(inputs: CardInputs, plot_names: list[str]) -> str:
    summary = inputs.summary
    splits = ", ".join(f"{split} {n:,}" for split, n in sorted(summary.splits.items()))
    images = "\n\n".join(f"![{name}]({name})" for name in plot_names)
    shards = "\n".join(
        f"- `{split}`: {len(files)} tar shards, {sum(files.values()):,} samples"
        for split, files in inputs.shard_sizes.items()
    )
    return f"""{front_matter(inputs)}

# {inputs.name}

{description(inputs)}

Samples: {summary.total:,} ({splits}).

{shards}

## Ledger of every stage

From input articles to exported pairs; each row is that stage's `stats.json`.

{ledger_table(inputs.stage_stats)}

## Licence mix

{_count_table("licence", summary.licenses)}

## Modality mix

{_count_table("modality", summary.modalities)}

## Plots

{images}

## Example rows

{_examples(summary)}

{_loading(inputs)}
{_licensing(inputs)}
## Release manifest

{_manifest(inputs)}
"""


def card_files(inputs: CardInputs) -> dict[str, bytes]:
    """`README.md` and its plots, file name -> bytes."""
    plots = card_plots(inputs)
    files = {"README.md": dataset_card(inputs, sorted(plots)).encode("utf-8")}
    files.update(plots)
    return files
