"""Score PDF captions and regions against ground truth: a JATS twin, or pdffigures2 output.

A predicted figure is correct when its label number is one of the truth's and its
caption (or one of its other-language captions) matches that figure's true caption
with a similarity of at least `CAPTION_MATCH` after text normalisation.
"""

from __future__ import annotations

import difflib
import json
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from transforms.extract.jats import parse_articles
from transforms.extract.pdf import PdfDocument
from transforms.extract.pdf_captions import label_key, parse_label
from transforms.extract.pdf_page import Rect

CAPTION_MATCH = 0.8


@dataclass(frozen=True)
class TrueFigure:
    number: str
    captions: tuple[str, ...]  # every language the truth has
    page: int | None = None
    bbox: Rect | None = None


@dataclass
class Score:
    true_positives: int = 0
    false_positives: int = 0
    false_negatives: int = 0

    def add(self, other: Score) -> None:
        self.true_positives += other.true_positives
        self.false_positives += other.false_positives
        self.false_negatives += other.false_negatives

    @property
    def precision(self) -> float:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 1.0

    @property
    def recall(self) -> float:
        wanted = self.true_positives + self.false_negatives
        return self.true_positives / wanted if wanted else 1.0


def normalise(text: str) -> str:
    """Lower case letters and digits only: hyphenation, quotes and ligatures do not count."""
    text = unicodedata.normalize("NFKC", text).lower()
    return " ".join(re.sub(r"[^\w]+", " ", text).split())


def similarity(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, normalise(a), normalise(b), autojunk=False).ratio()


def truth_from_jats(path: Path) -> tuple[list[TrueFigure], int]:
    """The labelled figures of a JATS article, and how many figures have no label."""
    figures, unlabelled = [], 0
    for article in parse_articles(path.read_bytes(), str(path)):
        for cand in article.figures:
            number = label_key(cand.caption.label)
            if number is None:
                unlabelled += 1
                continue
            texts = [c.text for c in [cand.caption, *cand.captions_other] if c.text]
            figures.append(TrueFigure(number, tuple(texts)))
    return figures, unlabelled


def truth_from_pdffigures2(path: Path) -> list[TrueFigure]:
    """pdffigures2's figures (not tables): caption without its label, page, region in points."""
    figures = []
    for item in json.loads(path.read_text()):
        if item.get("figType") != "Figure":
            continue
        parsed = parse_label(item["caption"])
        box = item["regionBoundary"]
        figures.append(
            TrueFigure(
                number=str(item["name"]),
                captions=(parsed.text if parsed else item["caption"],),
                page=int(item["page"]),
                bbox=(box["x1"], box["y1"], box["x2"], box["y2"]),
            )
        )
    return figures


def score_captions(
    predicted: list[tuple[str, list[str]]], truth: list[TrueFigure]
) -> tuple[Score, list[str]]:
    """(number, caption texts) predictions against the truth; notes name each miss."""
    score, notes, matched = Score(), [], set()
    by_number = {t.number: t for t in truth}
    for number, texts in predicted:
        true = by_number.get(number)
        best = max(
            (similarity(p, t) for p in texts for t in (true.captions if true else ())),
            default=0.0,
        )
        if true is not None and number not in matched and best >= CAPTION_MATCH:
            score.true_positives += 1
            matched.add(number)
        else:
            score.false_positives += 1
            notes.append(f"false positive: figure {number} (similarity {best:.2f})")
    for true in truth:
        if true.number not in matched:
            score.false_negatives += 1
            notes.append(f"missed: figure {true.number}")
    return score, notes


# Ground truth under ../shared/testdata (paths relative to it).
JATS_TWINS = {
    "packages/scielo_bjmbr_54-10-e11439/1414-431X-bjmbr-54-10-e11439.pdf": (
        "packages/scielo_bjmbr_54-10-e11439/1414-431X-bjmbr-54-10-e11439.xml"
    ),
    "packages/scielo_hoehnea_49-e1112020/2236-8906-hoehnea-49-e1112020.pdf": (
        "packages/scielo_hoehnea_49-e1112020/2236-8906-hoehnea-49-e1112020.xml"
    ),
    "packages/elife_19405/elife-19405.pdf": "packages/elife_19405/elife-19405.xml",
    "packages/elife_00353/elife-00353-v1.pdf": "packages/elife_00353/elife-00353-v1.xml",
}
PDFFIGURES2 = {
    "packages/pdf_futoma2017_pdffigures2/futoma2017improved.pdf": (
        "packages/pdf_futoma2017_pdffigures2/futoma2017improved.json"
    ),
}
# Figure labels that testdata/MANIFEST.tsv states for the PDFs without a twin
# (label level only: these have no caption text to compare against).
MANIFEST_LABELS = {
    "pdf/CERMINE_example1.pdf": {"1"},
    "pdf/CERMINE_example2.pdf": {"1"},
    "pdf/CERMINE_test1.pdf": set(),
    "pdf/CERMINE_test6.pdf": {"1", "2"},
    "pdf/pdffigures2_banko_oie.pdf": {"1"},
    "pdf/pdffigures2_glia_calcium_waves.pdf": {"1", "2", "3"},
}


def caption_truth(testdata: Path, pdf: str) -> list[TrueFigure]:
    """The true figures of one PDF of JATS_TWINS or PDFFIGURES2."""
    if pdf in JATS_TWINS:
        return truth_from_jats(testdata / JATS_TWINS[pdf])[0]
    return truth_from_pdffigures2(testdata / PDFFIGURES2[pdf])


def score_labels(predicted: list[str], truth: set[str]) -> Score:
    found = set(predicted)
    return Score(
        true_positives=len(found & truth),
        false_positives=len(predicted) - len(found & truth),
        false_negatives=len(truth - found),
    )


def predictions(doc: PdfDocument) -> list[tuple[str, list[str]]]:
    """(label number, every caption text) per extracted figure."""
    return [(f.number, [f.caption or "", *(t for _, t in f.captions_other)]) for f in doc.figures]


def caption_scores(
    testdata: Path, parse: Callable[[str], PdfDocument]
) -> tuple[Score, list[str], dict[str, Score]]:
    """Captions of every PDF with a true caption set: total, notes on misses, per PDF."""
    total, notes, per_pdf = Score(), [], {}
    for pdf in [*JATS_TWINS, *PDFFIGURES2]:
        score, missed = score_captions(predictions(parse(pdf)), caption_truth(testdata, pdf))
        total.add(score)
        notes += [f"{pdf}: {n}" for n in missed]
        per_pdf[pdf] = score
    return total, notes, per_pdf
