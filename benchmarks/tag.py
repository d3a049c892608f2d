"""Tag benchmark: matcher speed and memory against the naive substring loop, and tagging
quality on ROCO's captions.

Run: .venv/bin/python benchmarks/tag.py [ROCO_ROOT]   (writes benchmarks/results/tag.json)
ROCO_ROOT, optional: a checkout of razorx89/roco-dataset (commit a1f0ad6, the one
../shared/testdata/captions comes from); its whole radiology test split less the dev600
captions (7,579) is scored as a held-out split nothing was tuned on.

Speed, on the 1,212 ROCO test captions (../shared/testdata/captions), one process (one core),
CPU time (time.process_time), best of REPEATS passes:
- ours: `ConceptMatcher.analyse` (Aho-Corasick, longest matches, negation), and the whole
  tag unit (concepts + modality tags), with the bundled lexicon and with the 27k-descriptor
  MeSH 2015 lexicon;
- peer: MetaCLIP's reference matcher, one `entry in text` test per entry (lower-cased text
  and entries), with the same two lexicons' terms.
Memory: resident-set growth while compiling each matcher, and the compiled artefact's size.
Quality, of the tag unit's output (`Tagger.tag`: nested concepts and those modality wording
stands for included): with the bundled lexicon, the share of captions with a `radiology/*`
tag and with a concept, ROCO CUI recall (micro; over all of ROCO's CUIs and over those the
lexicon has), how many of ROCO's CUIs are generic words and the recall without them,
ROCO keyword recall (a keyword counts when a matched span has a token starting with it),
the share of concept mentions that are a bare generic word (by issue 12's word classes,
`generic_eval.py`, which the tagger never reads), the reasons captions got no concepts,
and a crude regex of modality words and radiology cues as the baseline; the same without
the learned words (`metadata/default_src/caption_words.txt`). Precision: the hand-judged
sample of 300 mentions (`tag_precision.py`). The targets were tuned on the dev600 split.
"""

from __future__ import annotations

import gc
import json
import os
import platform
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from collections import Counter  # noqa: E402

from generic_eval import explaining_strings, is_bare_generic  # noqa: E402
from tag_precision import score as judged_precision  # noqa: E402

from metadata.lexicon import Lexicon, load_default  # noqa: E402
from metadata.mesh import load_mesh_tsv  # noqa: E402
from metadata.write_default import HAND_MODULES, build  # noqa: E402
from transforms.tag.concepts import ConceptMatcher  # noqa: E402
from transforms.tag.normalise import tokenize  # noqa: E402
from transforms.tag.tagger import Tagger  # noqa: E402

CAPTIONS = ROOT.parent / "shared" / "testdata" / "captions"
VOCAB = ROOT.parent / "shared" / "testdata" / "vocab"
RESULTS = ROOT / "benchmarks" / "results" / "tag.json"
REPEATS = 5
NAIVE_SAMPLE = 300  # the naive loop is slow at 27k entries: time it on the first 300

CRUDE_RADIOLOGY = re.compile(
    r"\b(CT|MRI?|MRA|PET|SPECT|X-?rays?|radiograph\w*|ultraso\w*|sonograph\w*|"
    r"angiogra\w*|mammogra\w*|fluoroscop\w*|tomograph\w*|scan\w*|axial|coronal|sagittal|"
    r"T[12][- ]weighted|contrast[- ]enhanced|hypo\w*dens\w*|hyper\w*dens\w*|"
    r"hyperintens\w*|hypointens\w*|hypoechoic|hyperechoic|doppler)\b",
    re.IGNORECASE,
)


def read_split(name: str) -> list[tuple[str, str, set[str], list[str]]]:
    """(id, caption, CUIs, keywords) per ROCO entry."""

    def table(kind: str) -> dict[str, list[str]]:
        rows = (CAPTIONS / f"ROCO_test_{name}_{kind}.txt").read_text("utf-8").splitlines()
        return {r.split("\t")[0]: [x for x in r.split("\t")[1:] if x.strip()] for r in rows}

    captions, cuis, keywords = table("captions"), table("cuis"), table("keywords")
    return [(k, " ".join(v).strip(), set(cuis[k]), keywords[k]) for k, v in captions.items()]


def rss_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * 4096


def compile_matcher(lexicon: Lexicon) -> tuple[ConceptMatcher, dict]:
    gc.collect()
    before, start = rss_bytes(), time.process_time()
    matcher = ConceptMatcher(lexicon)
    seconds = time.process_time() - start
    gc.collect()
    info = {
        "concepts": len(lexicon),
        "terms": lexicon.term_count(),
        "automaton_keys": len(matcher),
        "compile_s": round(seconds, 3),
        "rss_growth_mb": round((rss_bytes() - before) / 2**20, 1),
        "artefact_mb": round(len(matcher.to_bytes()) / 2**20, 2),
    }
    return matcher, info


def best_rate(fn, texts: list[str], repeats: int = REPEATS) -> float:
    """Captions per CPU second, best of `repeats` passes."""
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        for text in texts:
            fn(text)
        best = min(best, time.process_time() - start)
    return len(texts) / best


def naive_matcher(lexicon: Lexicon):
    entries = sorted({t.lower() for c in lexicon.concepts for t in c.terms})

    def match(text: str) -> list[str]:
        lowered = text.lower()
        return [entry for entry in entries if entry in lowered]

    return match, len(entries)


def speed(name: str, lexicon: Lexicon, texts: list[str]) -> dict:
    matcher, info = compile_matcher(lexicon)
    tagger = Tagger(matcher)
    naive, entries = naive_matcher(lexicon)
    ours = best_rate(matcher.analyse, texts)
    ours_on_sample = best_rate(matcher.analyse, texts[:NAIVE_SAMPLE])
    peer = best_rate(naive, texts[:NAIVE_SAMPLE], repeats=2)
    print(f"{name}: ours {ours:,.0f}/s, naive {peer:,.0f}/s over {entries} entries")
    return {
        **info,
        "naive_entries": entries,
        "ours_concepts_captions_per_s": round(ours),
        "ours_tag_unit_captions_per_s": round(best_rate(lambda t: tagger.tag(t, None), texts)),
        # with the reason an empty caption got no concepts, as the stage's unit runs it
        "ours_tag_unit_with_empty_reason_captions_per_s": round(
            best_rate(lambda t: tagger.tag(t, None)[0] or tagger.empty_reason(t), texts)
        ),
        "naive_captions_per_s": round(peer),
        "speedup_vs_naive": round(ours_on_sample / peer, 1),
    }


def quality(matcher: ConceptMatcher, entries: list) -> dict:
    """Quality of the tag unit's output (`Tagger.tag`: concepts, nested ones and those
    modality wording stands for included) against ROCO's annotations."""
    known = {c.cui for c in matcher.concepts}
    radiology = concept = regex = 0
    hits = total = hits_known = total_known = kw_hits = kw_total = 0
    mentions = generic = 0
    empty: Counter = Counter()
    tagger = Tagger(matcher)
    found_by_caption = []
    for _, caption, cuis, keywords in entries:
        concepts, modalities = tagger.tag(caption, None)
        spans = [caption[c["start"] : c["end"]] for c in concepts]
        mentions += len(spans)
        generic += sum(map(is_bare_generic, spans))
        if not spans:
            empty[tagger.empty_reason(caption)] += 1
        radiology += any(t.startswith("radiology/") for t in modalities)
        concept += bool(concepts)
        regex += bool(CRUDE_RADIOLOGY.search(caption))
        found = {c["cui"] for c in concepts}
        found_by_caption.append(found)
        hits += len(cuis & found)
        total += len(cuis)
        hits_known += len(cuis & found & known)
        total_known += len(cuis & known)
        span_words = [w for span in spans for w in tokenize(span).words]
        kw_hits += sum(any(w.startswith(k.lower()) for w in span_words) for k in keywords)
        kw_total += len(keywords)
    n = len(entries)
    return {
        "captions": n,
        "radiology_tag_rate": round(radiology / n, 4),
        "crude_regex_radiology_rate": round(regex / n, 4),
        "any_concept_rate": round(concept / n, 4),
        "cui_recall_micro_all": round(hits / total, 4),
        "cui_recall_micro_where_lexicon_has_them": round(hits_known / max(total_known, 1), 4),
        "roco_cuis_in_lexicon": f"{total_known}/{total}",
        "roco_generic_cuis": generic_cuis(matcher, entries, found_by_caption),
        "keyword_recall_micro": round(kw_hits / kw_total, 4),
        "concept_mentions": mentions,
        "bare_generic_mention_share": round(generic / max(mentions, 1), 4),
        "no_concept_reasons": dict(sorted(empty.items())),
    }


def generic_cuis(matcher: ConceptMatcher, entries: list, found: list[set[str]]) -> dict:
    """How much of the recall gap ROCO's generic CUIs make: a ROCO CUI is generic when the
    caption words that explain it (`generic_eval.explaining_strings`, read off these same
    captions) are a bare generic word by issue 12's classes or one the tagger withholds
    ("arrow", "right", "image", "contrast"); the recall without them beside."""
    strings = explaining_strings([(caption, cuis) for _, caption, cuis, _ in entries])

    def is_generic(cui: str) -> bool:
        text = strings.get(cui)
        return bool(text) and (is_bare_generic(text) or bool(matcher.generic.reason(text)))

    occurrences = [
        (cui in got, is_generic(cui))
        for (*_, cuis, _), got in zip(entries, found, strict=True)
        for cui in cuis
    ]
    total = len(occurrences)
    generic = sum(g for _, g in occurrences)
    hit_plain = sum(h for h, g in occurrences if not g)
    top = Counter(strings[c] for _, _, cuis, _ in entries for c in cuis if is_generic(c))
    return {
        "occurrences": generic,
        "share_of_roco_cuis": round(generic / total, 4),
        "generic_ones_matched": sum(h for h, g in occurrences if g),
        "cui_recall_micro_without_them": round(hit_plain / max(total - generic, 1), 4),
        "top_words": dict(top.most_common(12)),
    }


def read_heldout(root: Path, dev_ids: set[str]) -> list[tuple[str, str, set[str], list[str]]]:
    """ROCO's whole radiology test split (razorx89/roco-dataset data/test/radiology in a
    checkout at `root`) less the dev600 captions: the split nothing here was tuned on."""

    def table(kind: str) -> dict[str, list[str]]:
        rows = (root / "data" / "test" / "radiology" / f"{kind}.txt").read_text("utf-8")
        return {
            r.split("\t")[0]: [x for x in r.split("\t")[1:] if x.strip()] for r in rows.splitlines()
        }

    captions, cuis, keywords = table("captions"), table("cuis"), table("keywords")
    return [
        (k, " ".join(v).strip(), set(cuis[k]), keywords[k])
        for k, v in captions.items()
        if k not in dev_ids
    ]


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    radiology = read_split("radiology_dev600")
    other = read_split("nonradiology")
    texts = [caption for _, caption, _, _ in radiology + other]
    default = load_default()
    mesh = load_mesh_tsv(
        VOCAB / "dhimmel_mesh2015_terms.tsv", VOCAB / "dhimmel_mesh2015_tree-numbers.tsv"
    )
    matcher = ConceptMatcher(default)
    # held-out: ROCO_ROOT, a checkout of razorx89/roco-dataset (not in ../shared/testdata)
    dev_ids = {key for key, _, _, _ in radiology}
    heldout = read_heldout(Path(args[0]), dev_ids) if args else []
    hand_only = ConceptMatcher(build(HAND_MODULES))
    results = {
        "command": ".venv/bin/python benchmarks/tag.py [ROCO_ROOT]",
        "machine": {"python": platform.python_version(), "cpu": platform.processor() or ""},
        "load_1_5_15_min_at_start": [round(x, 2) for x in os.getloadavg()],
        "captions_timed": len(texts),
        "speed": {
            "bundled": speed("bundled", default, texts),
            "mesh2015": speed("mesh", mesh, texts),
        },
        "precision_hand_judged_bundled": judged_precision(),
        "quality_bundled": {
            "roco_radiology_dev600": quality(matcher, radiology),
            "roco_nonradiology": quality(matcher, other),
        },
        "quality_bundled_heldout": (
            {"roco_radiology_test_less_dev600": quality(matcher, heldout)} if heldout else {}
        ),
        "quality_bundled_without_learned_words": {
            "roco_radiology_dev600": quality(hand_only, radiology),
            "roco_nonradiology": quality(hand_only, other),
        },
        "targets": {
            "speedup_vs_naive_at_27k_min": 50,
            "captions_per_s_per_core_min": 20000,
            "radiology_tag_rate_on_radiology_min": 0.80,
            "any_concept_rate_on_radiology_min": 0.95,
            "cui_recall_micro_on_radiology_min": 0.25,
            "radiology_tag_rate_on_nonradiology_max": 0.20,
            "crude_regex_reference_on_radiology": 0.74,
            "bare_generic_mention_share_max": 0.02,
            "precision_hand_judged_min": 0.90,
        },
    }
    results["load_1_5_15_min_at_end"] = [round(x, 2) for x in os.getloadavg()]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(results["quality_bundled"], indent=2))
    print("precision", results["precision_hand_judged_bundled"])


if __name__ == "__main__":
    main()
