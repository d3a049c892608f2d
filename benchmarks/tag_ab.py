"""Tag unit speed of two source trees in one process, interleaved, so a busy machine's
load falls on both alike (the absolute rates of `tag.py` do not compare across runs then).

Run: .venv/bin/python benchmarks/tag_ab.py OLD_TREE [NEW_TREE]   (NEW_TREE: this checkout)
e.g. OLD_TREE from `git archive <commit> | tar -x -C /tmp/old`. Writes
benchmarks/results/tag_ab.json: captions per CPU second (time.process_time), best of
ROUNDS passes each over the 1,212 ROCO test captions, for `Tagger.tag` and
`ConceptMatcher.analyse` with the bundled lexicon, the new/old ratios and the load.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CAPTIONS = ROOT.parent / "shared" / "testdata" / "captions"
RESULTS = ROOT / "benchmarks" / "results" / "tag_ab.json"
ROUNDS = 12
PACKAGES = ("transforms", "metadata", "schemas")


def load(tree: str) -> tuple:
    """A tagger and a matcher built from the modules of `tree` (imported afresh)."""
    for name in [m for m in sys.modules if m.split(".")[0] in PACKAGES]:
        del sys.modules[name]
    sys.path.insert(0, tree)
    try:
        from metadata.lexicon import load_default
        from transforms.tag.concepts import ConceptMatcher
        from transforms.tag.tagger import Tagger
    finally:
        sys.path.remove(tree)
    matcher = ConceptMatcher(load_default())
    return Tagger(matcher), matcher


def main(argv: list[str]) -> None:
    old_tree, new_tree = argv[0], argv[1] if len(argv) > 1 else str(ROOT)
    texts = [
        line.split("\t", 1)[1].strip()
        for split in ("radiology_dev600", "nonradiology")
        for line in (CAPTIONS / f"ROCO_test_{split}_captions.txt").read_text("utf-8").splitlines()
    ]
    (old_tagger, old_matcher), (new_tagger, new_matcher) = load(old_tree), load(new_tree)
    runs = {
        "old_tag_unit": lambda t: old_tagger.tag(t, None),
        "new_tag_unit": lambda t: new_tagger.tag(t, None),
        "old_analyse": old_matcher.analyse,
        "new_analyse": new_matcher.analyse,
    }
    best = dict.fromkeys(runs, float("inf"))
    load_start = os.getloadavg()
    for round_ in range(ROUNDS):
        order = list(runs) if round_ % 2 else list(reversed(runs))
        for name in order:
            start = time.process_time()
            for text in texts:
                runs[name](text)
            best[name] = min(best[name], time.process_time() - start)
    rates = {name: round(len(texts) / seconds) for name, seconds in best.items()}
    result = {
        "command": ".venv/bin/python benchmarks/tag_ab.py OLD_TREE [NEW_TREE]",
        "trees": {"old": old_tree, "new": new_tree},
        "captions": len(texts),
        "captions_per_cpu_s": rates,
        "new_over_old": {
            "tag_unit": round(rates["new_tag_unit"] / rates["old_tag_unit"], 3),
            "analyse": round(rates["new_analyse"] / rates["old_analyse"], 3),
        },
        "load_1_5_15_min": {"start": load_start, "end": os.getloadavg()},
    }
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main(sys.argv[1:])
