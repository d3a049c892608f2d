"""Words for the demo corpus: article topics, panel captions (English and Spanish),
the math they carry, and the body sentences that cite figures."""

from __future__ import annotations

import random
from dataclasses import dataclass

TOPICS = {
    "pathology": {
        "kinds": ["ihc", "ihc", "bar", "km", "gel"],
        "titles": [
            "{gene} expression predicts survival in {tissue} carcinoma",
            "Immunohistochemical profiling of {gene} in {tissue} tumours",
        ],
        "journals": ["Demo Journal of Pathology", "Open Oncology Reports"],
    },
    "ophthalmology": {
        "kinds": ["retina", "microaneurysms", "retina", "line", "bar"],
        "titles": [
            "Retinal microaneurysm counts in early diabetic retinopathy",
            "Fundus imaging markers of {gene}-associated retinal degeneration",
        ],
        "journals": ["Demo Ophthalmic Research", "Open Retina Letters"],
    },
    "cell": {
        "kinds": ["cell", "gel", "bar", "scatter", "cell"],
        "titles": [
            "{gene} knockdown alters cell morphology and ERK signalling",
            "Single-cell imaging of {gene} activity in suspension culture",
        ],
        "journals": ["Demo Cell Biology", "Open Journal of Cell Signalling"],
    },
    "imaging": {
        "kinds": ["phantom", "line", "scatter", "phantom", "bar"],
        "titles": [
            "Low-dose CT reconstruction evaluated on the Shepp–Logan phantom",
            "Noise and contrast in iterative computed tomography reconstruction",
        ],
        "journals": ["Demo Medical Imaging", "Open Radiology Methods"],
    },
}
GENES = ["TP53", "KRAS", "EGFR", "MKI67", "VEGFA", "RHO", "ABCA4", "CDKN2A", "BRCA1"]
TISSUES = ["breast", "colon", "lung", "liver", "prostate", "gastric"]
GIVEN = ["Ana", "Wei", "Priya", "Jonas", "Fatima", "Kenji", "Maria", "Olu", "Sara", "Tomás"]
SURNAMES = ["García", "Chen", "Patel", "Müller", "Haddad", "Sato", "Rossi", "Adeyemi", "Nilsson"]


@dataclass(frozen=True)
class Math:
    """One formula of a caption; `text` is how a reader writes it in plain text."""

    symbol: str  # "R2" or "p"
    op: str  # "=" or "<"
    value: str

    @property
    def text(self) -> str:
        return f"{'R^2' if self.symbol == 'R2' else self.symbol} {self.op} {self.value}"

    @property
    def tex(self) -> str:
        return f"{'R^{2}' if self.symbol == 'R2' else self.symbol} {self.op} {self.value}"

    @property
    def unicode(self) -> str:
        return f"{'R²' if self.symbol == 'R2' else self.symbol} {self.op} {self.value}"


# caption parts: plain strings and formulas, in order
Parts = list[str | Math]


def panel_text(kind: str, rng: random.Random, gene: str, tissue: str) -> tuple[Parts, str]:
    """(English caption parts, Spanish caption text) for one panel."""
    if kind == "ihc":
        where = rng.choice(["tumour centre", "invasive front", "adjacent normal tissue"])
        return [
            f"{gene} immunohistochemistry of {tissue} carcinoma, {where} "
            "(DAB, haematoxylin counterstain; scale bar 50 µm)"
        ], f"inmunohistoquímica de {gene} en carcinoma de {tissue}"
    if kind == "retina":
        side = rng.choice(["right", "left"])
        return [f"colour fundus photograph of the {side} eye showing the optic disc"], (
            "retinografía en color del fondo de ojo"
        )
    if kind == "microaneurysms":
        where = rng.choice(["superior", "inferior"])
        return [f"red-free fundus image, {where} temporal arcade, microaneurysms (arrowheads)"], (
            "imagen aneritra del fondo de ojo con microaneurismas"
        )
    if kind == "cell":
        when = rng.choice(["untreated", f"after {gene} knockdown", "24 h after treatment"])
        return [f"phase-contrast micrograph of a single cell in suspension, {when}"], (
            "micrografía de contraste de fases de una célula"
        )
    if kind == "phantom":
        how = rng.choice(["filtered back projection", "iterative reconstruction"])
        dose = rng.choice(["full", "quarter", "half"])
        return [f"CT slice of the Shepp–Logan phantom, {dose} dose, {how}"], (
            "corte de TC del fantoma de Shepp–Logan"
        )
    if kind == "bar":
        n = rng.choice([4, 5, 6])
        return [f"relative {gene} mRNA expression by qPCR (mean ± SD, n = {n})"], (
            f"expresión relativa de ARNm de {gene}"
        )
    if kind == "line":
        return [f"time course of {gene} reporter signal over 24 h"], (
            f"curso temporal de la señal de {gene}"
        )
    if kind == "scatter":
        r2 = Math("R2", "=", f"0.{rng.randint(55, 93)}")
        return [f"correlation of {gene} level with lesion size (", r2, ")"], (
            f"correlación del nivel de {gene} con el tamaño de la lesión ({r2.unicode})"
        )
    if kind == "gel":
        return [f"western blot of phospho-ERK after {gene} knockdown (GAPDH, loading control)"], (
            f"western blot de ERK fosforilado tras silenciar {gene}"
        )
    if kind == "km":
        p = Math("p", "<", rng.choice(["0.05", "0.01", "0.001"]))
        return [f"Kaplan–Meier overall survival by {gene} expression (log-rank ", p, ")"], (
            f"supervivencia global de Kaplan–Meier según la expresión de {gene} ({p.unicode})"
        )
    raise ValueError(f"no caption words for panel kind {kind!r}")


def figure_title(kinds: list[str], gene: str) -> str:
    if any(k in ("ihc", "cell") for k in kinds):
        return f"{gene} staining and quantification."
    if any(k in ("retina", "microaneurysms") for k in kinds):
        return "Fundus findings and their time course."
    if "phantom" in kinds:
        return "Reconstruction quality on the phantom."
    return f"Quantitative analysis of {gene}."


MENTION_TEMPLATES = [
    "Representative results are shown in {ref}.",
    "As {ref} shows, the effect was consistent across replicates.",
    "We observed a clear difference between groups ({ref}).",
    "The corresponding images are given in {ref}.",
]
