"""Hand-judged precision of concept mentions on real captions.

Sample: `python benchmarks/tag_precision.py sample` writes
benchmarks/results/tag_precision_sample.tsv: 300 mentions the tag unit (`Tagger.tag`, the
bundled lexicon: nested concepts and those modality wording stands for included) finds in the
ROCO dev600 radiology and non-radiology captions (../shared/testdata/captions), chosen by
a seeded hash of (caption id, start, cui) (the 300 lowest), never by global random state.
Judge: `python benchmarks/tag_precision.py merge` writes tag_precision_judged.tsv: the
sample with the `ok` marks already given to the same (id, start, cui) kept, the others
blank; fill them by hand: 1 when the concept is what the caption's words mean there, 0
when not (a generic word, a wrong sense).
Score: `python benchmarks/tag_precision.py score` prints precision from the judged file
and fails when the judged rows are not the current sample.
"""

from __future__ import annotations

import csv
import hashlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from metadata.lexicon import load_default  # noqa: E402
from transforms.tag.concepts import ConceptMatcher  # noqa: E402
from transforms.tag.tagger import Tagger  # noqa: E402

CAPTIONS = ROOT.parent / "shared" / "testdata" / "captions"
RESULTS = ROOT / "benchmarks" / "results"
SAMPLE = RESULTS / "tag_precision_sample.tsv"
JUDGED = RESULTS / "tag_precision_judged.tsv"
SEED = "issue-12"
SIZE = 300
FIELDS = ["id", "start", "end", "mention", "cui", "name", "semgroup", "context", "ok"]


def rows() -> list[dict[str, str]]:
    tagger = Tagger(ConceptMatcher(load_default()))
    found = []
    for split in ("radiology_dev600", "nonradiology"):
        for line in (CAPTIONS / f"ROCO_test_{split}_captions.txt").read_text("utf-8").splitlines():
            key, *parts = line.split("\t")
            text = " ".join(parts).strip()
            for c in tagger.tag(text, None)[0]:
                start, end, cui = c["start"], c["end"], c["cui"]
                rank = hashlib.sha256(f"{SEED}|{key}|{start}|{cui}".encode()).hexdigest()
                context = text[max(0, start - 50) : end + 50].replace("\t", " ")
                found.append(
                    (
                        rank,
                        {
                            "id": key,
                            "start": str(start),
                            "end": str(end),
                            "mention": text[start:end],
                            "cui": cui,
                            "name": c["name"],
                            "semgroup": c["semgroup"],
                            "context": context,
                            "ok": "",
                        },
                    )
                )
    found.sort(key=lambda item: item[0])
    return [row for _, row in found[:SIZE]]


def identity(row: dict[str, str]) -> tuple[str, ...]:
    return (row["id"], row["start"], row["cui"])


def score() -> dict[str, float | int]:
    """Precision over the judged file, which must hold exactly the current sample."""
    with open(JUDGED, encoding="utf-8", newline="") as handle:
        judged = list(csv.DictReader(handle, delimiter="\t"))
    if sorted(map(identity, judged)) != sorted(map(identity, rows())):
        raise SystemExit(f"{JUDGED.name} is not the current sample: resample and judge again")
    marks = [row["ok"].strip() for row in judged]
    if set(marks) - {"0", "1"}:
        raise SystemExit(f"{JUDGED.name}: every row needs ok = 0 or 1")
    good = marks.count("1")
    return {"judged": len(marks), "correct": good, "precision": round(good / len(marks), 4)}


def main(argv: list[str]) -> int:
    if argv[:1] == ["sample"]:
        with open(SAMPLE, "w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, FIELDS, delimiter="\t", lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows())
        print(f"wrote {SAMPLE}")
        return 0
    if argv[:1] == ["merge"]:
        with open(JUDGED, encoding="utf-8", newline="") as handle:
            known = {identity(r): r["ok"] for r in csv.DictReader(handle, delimiter="\t")}
        merged = [{**row, "ok": known.get(identity(row), "")} for row in rows()]
        with open(JUDGED, "w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, FIELDS, delimiter="\t", lineterminator="\n")
            writer.writeheader()
            writer.writerows(merged)
        print(f"wrote {JUDGED}: {sum(not r['ok'] for r in merged)} rows to judge")
        return 0
    if argv[:1] == ["score"]:
        print(score())
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
