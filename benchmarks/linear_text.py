"""Linear-text benchmark: every per-text step over caption lengths from 1 kB to 1 MB.

Run: .venv/bin/python benchmarks/linear_text.py   (writes benchmarks/results/linear_text.json)

Steps, each on one text of the given length (CPU time, time.process_time, one process,
best of REPEATS passes, ten times more at 1 kB; one pass at 1 MB):
- split: `split_caption` (segment's sub-caption splitter; tag runs it again per panel);
- sentences: `sentences_at` with an offset every 100 characters (mention sentences);
- mentions: `fig_mentions` over one body paragraph of that length citing a figure every
  ~200 characters (libxml2 serialisation, marks, sentences);
- concepts: `ConceptMatcher.analyse` with the bundled lexicon (Aho-Corasick, longest
  matches, negation);
- panel_tag: the tag unit's work for the first panel the caption names (split, concepts,
  scoping to the panel's own pieces, modalities), or the whole caption when none.
Texts: "compound", a real-looking compound caption repeated ("(A) … (B) … Scale bars …");
"abbreviations", stops that end no sentence ("e.g. Fig. 2 vs. Fig. 3"); "label_runs", runs
of panel labels that never close ("a - b - c …"); "inline", panels named inside sentences
("CT of the liver (A) and MRI of the brain (B) …"), so a panel's own text is thousands of
pieces. Each row gives seconds and microseconds
per kB; `growth` is the 1 MB time over the 1 kB time times 1000, and over the 100 kB time
times 10: 1.0 is linear, 10 (from 100 kB) quadratic; below 1, fixed costs dominate the
small text. Before this benchmark's fixes the splitter took ~10.6 s at
160 kB and was quadratic.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

from lxml import etree

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from metadata.lexicon import load_default  # noqa: E402
from transforms.extract.jats import article_parts  # noqa: E402
from transforms.extract.jats_mentions import fig_mentions  # noqa: E402
from transforms.extract.sentences import sentences_at  # noqa: E402
from transforms.segment.subcaptions import split_caption  # noqa: E402
from transforms.tag.concepts import ConceptMatcher  # noqa: E402
from transforms.tag.tagger import PanelScope, Tagger  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "linear_text.json"
SIZES = (1_000, 10_000, 100_000, 1_000_000)
REPEATS = 3
TEXTS = {
    "compound": "(A) Axial CT scan of the liver showing a hypodense lesion with no calcification. "
    "(B) T2-weighted MRI of the brain, e.g. the left frontal lobe; see Fig. 2. "
    "Scale bars, 10 µm. Data are mean ± s.d., n = 3. ",
    "abbreviations": "Tumour cells, e.g. in Fig. 2 vs. Fig. 3, approx. 10 per field ",
    "inline": "CT of the liver (A) and MRI of the brain (B) show lesions. ",
    "label_runs": "a - b - c - d - e - f - g - h - i - j - k - l - m - n - o - p - ",
}


def text_of(unit: str, size: int) -> str:
    return (unit * (size // len(unit) + 1))[:size]


def paragraph_article(text: str) -> etree._Element:
    """An article whose one body paragraph is `text`, citing figure F1 every ~200 chars."""
    pieces = [text[i : i + 200] for i in range(0, len(text), 200)]
    cited = '<xref ref-type="fig" rid="F1">Fig. 1</xref>'.join(
        piece.replace("&", "&amp;").replace("<", "&lt;") for piece in pieces
    )
    xml = f"<article><body><p>{cited}</p><fig id='F1'/></body></article>"
    return etree.fromstring(xml.encode())


def best_time(step: Callable[[], object], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        step()
        best = min(best, time.process_time() - start)
    return best


def mentions_step(text: str) -> Callable[[], object]:
    def run() -> object:
        parts = article_parts(paragraph_article(text))  # fig_mentions marks the tree
        return fig_mentions(parts.fig_xrefs, parts.floats)

    return run


def panel_tag_step(tagger: Tagger, text: str) -> Callable[[], object]:
    def run() -> object:
        split = split_caption(text)
        own = split.spans_for(split.labels[0]) if split.parts else None
        scope = PanelScope(own, split.preamble_spans) if own else None
        return tagger.tag(text, None, scope)

    return run


STEPS = ("split", "sentences", "mentions", "concepts", "panel_tag")


def main() -> None:
    matcher = ConceptMatcher(load_default())
    tagger = Tagger(matcher)
    rows: dict[str, dict[str, dict[str, float]]] = {}
    for name, unit in TEXTS.items():
        rows[name] = {}
        for size in SIZES:
            text = text_of(unit, size)
            steps = {
                "split": lambda text=text: split_caption(text),
                "sentences": lambda text=text: sentences_at(text, list(range(0, len(text), 100))),
                "mentions": mentions_step(text),
                "concepts": lambda text=text: matcher.analyse(text),
                "panel_tag": panel_tag_step(tagger, text),
            }
            repeats = 1 if size >= 1_000_000 else REPEATS * max(1, 10_000 // size)
            row = {}
            for step, run in steps.items():
                seconds = best_time(run, repeats)
                row[f"{step}_s"] = round(seconds, 6)
                row[f"{step}_us_per_kb"] = round(seconds * 1e6 / (size / 1000), 1)
            rows[name][str(size)] = row
            print(name, size, row, flush=True)
    growth = {
        f"{name}_{small // 1000}kB_to_1MB": {
            step: round(
                by_size[str(SIZES[-1])][f"{step}_s"]
                / max(by_size[str(small)][f"{step}_s"] * SIZES[-1] / small, 1e-9),
                2,
            )
            for step in STEPS
        }
        for name, by_size in rows.items()
        for small in (SIZES[0], SIZES[-2])
    }
    results = {
        "command": ".venv/bin/python benchmarks/linear_text.py",
        "machine": {"python": platform.python_version(), "processor": platform.machine()},
        "sizes_chars": list(SIZES),
        "rows": rows,
        "growth": growth,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(growth, indent=2))


if __name__ == "__main__":
    main()
