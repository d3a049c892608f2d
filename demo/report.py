"""`python -m demo.report OUT`: where a run's output is, and its ledger, readably.

One function per section. A stage section takes (stage folder, its stats.json) and
returns lines; a run section takes OUT. To add one, write the function and put it
in STAGE_SECTIONS or RUN_SECTIONS. The last lines always say where the shards are.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq

# the chain's folders in order; other folders with a stats.json follow, by name
CHAIN_ORDER = ("figures", "panels", "tagged", "balanced", "deduped", "export")
MAX_EXAMPLES = 3
MAX_DUPLICATES = 60  # duplicate rows the dedup section lists (the demo finds 11 to 34)
INDENT = "    "


def stage_folders(out: Path) -> list[Path]:
    """The stage folders under OUT that a run finished (they hold a stats.json)."""
    found = [p.parent for p in sorted(out.glob("*/stats.json"))]
    rank = {name: i for i, name in enumerate(CHAIN_ORDER)}
    return sorted(found, key=lambda p: (rank.get(p.name, len(rank)), p.name))


def read_stats(folder: Path) -> dict:
    return json.loads((folder / "stats.json").read_text(encoding="utf-8"))


def records_glob(folder: Path) -> str:
    """Where a stage folder's records are: `data-*`, or export's per-split Parquet."""
    return "parquet/*.parquet" if folder.name == "export" else "data-*.parquet"


def shards(folder: Path, prefix: str = "data") -> list[Path]:
    if prefix == "data":
        return sorted(folder.glob(records_glob(folder)))
    return sorted(folder.glob(f"{prefix}-*.parquet"))


def _rows(paths: list[Path]) -> int:
    return sum(pq.read_metadata(p).num_rows for p in paths)


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1]))


def header_lines(folder: Path, stats: dict) -> list[str]:
    return [f"{folder.name}  (stage {stats.get('stage', '?')})  {folder}"]


def shard_lines(folder: Path, stats: dict) -> list[str]:
    data = shards(folder)
    size = sum(p.stat().st_size for p in data) / 1e6
    names = ", ".join(p.name for p in data[:MAX_EXAMPLES])
    more = f", … ({len(data)} in all)" if len(data) > MAX_EXAMPLES else ""
    return [f"{INDENT}shards   {names}{more}: {_rows(data)} records, {size:.1f} MB"]


def ledger_lines(folder: Path, stats: dict) -> list[str]:
    errors = sum(stats["errors"].values())
    dropped = sum(stats["dropped"].values())
    verdict = "adds up" if stats["ledger_ok"] else "DOES NOT ADD UP"
    return [
        f"{INDENT}inputs   {stats['in']} in = {stats['in_with_output']} with output"
        f" + {stats['in_empty']} empty + {errors} errors",
        f"{INDENT}records  {stats['found']} found = {stats['out']} written + {dropped} dropped"
        f"   (ledger {verdict})",
    ]


def reason_lines(folder: Path, stats: dict) -> list[str]:
    lines = []
    for name, counts in (
        ("empty", stats.get("in_empty_reasons", {})),
        ("errors", stats["errors"]),
        ("dropped", stats["dropped"]),
    ):
        if counts:
            lines.append(f"{INDENT}{name:<8} {_counts(counts)}")
    return lines


def example_lines(folder: Path, stats: dict) -> list[str]:
    """A few error and drop records as written, so a reason comes with its cause."""
    lines = []
    for prefix, what, detail in (
        ("errors", "error_type", "message"),
        ("dropped", "reason", "detail"),
    ):
        paths = shards(folder, prefix)
        if not paths:
            continue
        rows = pq.read_table(paths[0], columns=["key", what, detail]).to_pylist()
        for row in rows[:MAX_EXAMPLES]:
            short = (row[detail] or "").replace("\n", " ")[:100]
            lines.append(f"{INDENT}  e.g.   {row['key']}: {row[what]}: {short}")
    return lines


def where_lines(folders: list[Path]) -> list[str]:
    lines = ["Shards (Parquet, one folder per stage):"]
    for folder in folders:
        lines.append(f"{INDENT}{folder.name:<9}{folder}/{records_glob(folder)}")
    return lines


def tag_lines(folder: Path, stats: dict) -> list[str]:
    """For the tagged folder: the most frequent concepts and the modality counts."""
    if folder.name != "tagged":
        return []
    concepts: Counter = Counter()
    modalities: Counter = Counter()
    for path in shards(folder):
        for row in pq.read_table(path, columns=["concepts", "modalities"]).to_pylist():
            concepts.update(c["name"] for c in row["concepts"] or [] if not c["negated"])
            modalities.update(row["modalities"] or ["(none)"])
    top = ", ".join(f"{name} {n}" for name, n in concepts.most_common(8))
    return [
        f"{INDENT}concepts {sum(concepts.values())} tags, top: {top or 'none'}",
        f"{INDENT}modality {_counts(dict(modalities)) or 'none'}",
    ]


def balance_lines(folder: Path, stats: dict) -> list[str]:
    """For the balanced folder: t, the head entries before and after, and the plot."""
    if folder.name != "balanced" or "t" not in stats:
        return []
    share = f"{stats['head_pair_share_before']:.0%} -> {stats['head_pair_share_after']:.0%}"
    lines = [
        f"{INDENT}balance  t = {stats['t']:g}: {stats['head_entries']} of {stats['entries']} "
        f"entries above t held {share} of the (record, entry) pairs",
    ]
    for row in stats["top_entries"][:5]:
        name = row["name"] if row["name"] == row["entry"] else f"{row['name']} ({row['entry']})"
        lines.append(f"{INDENT}  head   {name}: {row['count_before']} -> {row['count_after']}")
    plot = folder / "entry_counts.png"
    if plot.is_file():
        lines.append(f"{INDENT}plot     {plot}")
    return lines


def dedup_lines(folder: Path, stats: dict) -> list[str]:
    """For the deduped folder: each duplicate found (to the kept record), and the records
    of different figures kept although they share one caption (a stock caption)."""
    if folder.name != "deduped":
        return []
    found = [r for p in shards(folder, "duplicates") for r in pq.read_table(p).to_pylist()]
    kinds = Counter(r["kind"] for r in found)
    lines = [f"{INDENT}dups     {len(found)} found: {_counts(dict(kinds)) or 'none'}"]
    for row in sorted(found, key=lambda r: r["key"])[:MAX_DUPLICATES]:
        lines.append(
            f"{INDENT}  dup    {row['key']} of {row['dup_of']} ({row['kind']}, {row['score']:g})"
        )
    by_caption: dict[str, list[dict]] = {}
    for path in shards(folder):
        for row in pq.read_table(path, columns=["key", "caption", "caption_hash"]).to_pylist():
            if row["caption_hash"]:
                by_caption.setdefault(row["caption_hash"], []).append(row)
    shared = sorted((sorted(r["key"] for r in g), g[0]["caption"]) for g in by_caption.values())
    # panels of one compound figure share its caption: only captions across figures count
    across = [(k, c) for k, c in shared if len({figure_of(key) for key in k}) > 1]
    for keys, caption in across[:MAX_DUPLICATES]:
        lines.append(
            f"{INDENT}  kept   one caption, different images: {caption!r} on {', '.join(keys)}"
        )
    return lines


def figure_of(key: str) -> str:
    """`PMC1/F2` of a panel key `PMC1/F2/p0` (a figure key stays as it is)."""
    head, _, tail = key.rpartition("/")
    return head if tail.startswith("p") and tail[1:].isdigit() else key


def export_lines(out: Path) -> list[str]:
    """For a run with an export: the card, a `datasets` one-liner, open_clip's pattern."""
    export = out / "export"
    if not (export / "README.md").is_file():
        return []
    splits = [s for s in ("train", "validation") if list(export.glob(f"parquet/{s}-*.parquet"))]
    files = ", ".join(f"'{s}': '{export}/parquet/{s}-*.parquet'" for s in splits)
    tars = sorted((export / "wds" / "train").glob("*.tar"))
    last = tars[-1].stem if tars else "00000"
    return [
        "Export:",
        f"{INDENT}card      {export}/README.md",
        f"{INDENT}datasets  load_dataset('parquet', data_files={{{files}}})",
        f"{INDENT}open_clip --train-data '{export}/wds/train/{{00000..{last}}}.tar'"
        " --dataset-type webdataset",
        "",
    ]


StageSection = Callable[[Path, dict], list[str]]
RunSection = Callable[[Path], list[str]]
STAGE_SECTIONS: list[StageSection] = [
    header_lines,
    shard_lines,
    ledger_lines,
    reason_lines,
    tag_lines,
    balance_lines,
    dedup_lines,
    example_lines,
]
RUN_SECTIONS: list[RunSection] = [export_lines]


def report(out: Path) -> list[str]:
    folders = stage_folders(out)
    if not folders:
        return [f"no finished stage folder (with stats.json) under {out}"]
    lines = [f"biomed-curate output under {out}", ""]
    for folder in folders:
        stats = read_stats(folder)
        for section in STAGE_SECTIONS:
            lines.extend(section(folder, stats))
        lines.append("")
    for run_section in RUN_SECTIONS:
        lines.extend(run_section(out))
    return lines + where_lines(folders)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0].startswith("-"):
        print("usage: python -m demo.report OUT", file=sys.stderr)
        return 2
    out = Path(args[0])
    lines = report(out)
    print("\n".join(lines))
    folders = stage_folders(out)
    return 0 if folders and all(read_stats(f)["ledger_ok"] for f in folders) else 1


if __name__ == "__main__":
    sys.exit(main())
