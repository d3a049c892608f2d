"""More hostile inputs (issue 13): megabyte captions, undeclared entities, truncated images,
links out of the input root. Each test checks what comes out; the hang guard only turns a
run that would take many minutes (a quadratic step) into a failure instead of a stall."""

from __future__ import annotations

import io
import json
import os
import signal
import tarfile
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hostile import article_xml, png_bytes, targz, write

from metadata.lexicon import load_default
from schemas import PANEL_SCHEMA, new_record
from transforms.extract.extractor import ExtractConfig, Extractor
from transforms.extract.images import ImageRejected, normalise_image
from transforms.extract.sentences import sentences_at
from transforms.extract.sources import group_sources
from transforms.ledger import UnitResult, run_unit
from transforms.segment.subcaptions import split_caption
from transforms.tag.concepts import ConceptMatcher
from transforms.tag.tagger import PanelScope, Tagger

MEGABYTE = 1_000_000
JATS_DOCTYPE = (
    b'<!DOCTYPE article PUBLIC "-//NLM//DTD JATS (Z39.96) Journal Publishing DTD v1.2 '
    b'20190208//EN" "JATS-journalpublishing1.dtd">'
)


@contextmanager
def hang_guard(seconds: int) -> Iterator[None]:
    """Fail with TimeoutError after `seconds` (far above what a linear run needs)."""

    def stop(signum: int, frame: object) -> None:
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def repeat_to(unit: str, size: int) -> str:
    return unit * (size // len(unit))


def extract_all(folder: Path, **config) -> dict[str, UnitResult]:
    listing = [str(p) for p in folder.rglob("*") if p.is_file()]
    extractor = Extractor(ExtractConfig(**config))
    return {s.uri: run_unit(extractor, s, s.uri, s.uri) for s in group_sources(listing)}


def test_a_megabyte_caption_is_split_and_tagged_whole() -> None:
    panel_a = repeat_to("Axial CT scan of the liver showing no calcification. ", MEGABYTE // 2)
    panel_b = repeat_to("MRI of the brain, see e.g. Fig. 2 vs. Fig. 3. ", MEGABYTE // 2)
    caption = f"Two organs. (A) {panel_a}(B) {panel_b}Scale bars, 10 µm."
    assert len(caption) > 0.99 * MEGABYTE
    matcher = ConceptMatcher(load_default())
    with hang_guard(60):
        split = split_caption(caption)
        analysis = matcher.analyse(caption)
        sentence_starts = [i for i in range(0, len(caption), 5000)]
        sentences = sentences_at(caption, sentence_starts)
    assert split.style == "leading"
    assert split.labels == ["A", "B"]
    [(a_start, a_end)] = split.spans_for("A")
    [(b_start, b_end)] = split.spans_for("B")
    assert caption[a_start:a_end] == panel_a.rstrip(". ")
    assert caption[b_start:b_end] == panel_b.rstrip(". ")
    assert split.preamble == "Two organs. Scale bars, 10 µm."
    livers = [m for m in analysis.matches if caption[m.start : m.end].lower() == "liver"]
    assert len(livers) == panel_a.count("liver")
    calcifications = [m for m in analysis.matches if caption[m.start : m.end] == "calcification"]
    assert calcifications and all(m.negated for m in calcifications)
    assert not any(m.negated for m in livers)
    # the abbreviations never end a sentence: each offset in B's text sees one sentence
    in_b = [s for i, s in zip(sentence_starts, sentences, strict=True) if b_start < i < b_end]
    sentence_b = "MRI of the brain, see e.g. Fig. 2 vs. Fig. 3."
    assert in_b and set(in_b) <= {sentence_b, f"(B) {sentence_b}"}


def test_a_panel_of_a_megabyte_inline_caption_keeps_its_own_concepts() -> None:
    """An inline-style caption names each panel once a sentence: panel A's own text is
    thousands of pieces, and every match is tested against them."""
    caption = repeat_to("CT of the liver (A) and MRI of the brain (B) show lesions. ", MEGABYTE)
    tagger = Tagger(ConceptMatcher(load_default()))
    with hang_guard(60):
        split = split_caption(caption)
        scope = PanelScope(split.spans_for("A"), split.preamble_spans)
        concepts, modalities = tagger.tag(caption, None, scope)
    assert split.style == "inline" and len(scope.subcaption) > 10_000
    words = {caption[c["start"] : c["end"]].lower() for c in concepts}
    assert "liver" in words and "brain" not in words
    assert sum(caption[c["start"] : c["end"]] == "liver" for c in concepts) == caption.count(
        "liver"
    )
    assert modalities == ["radiology/ct"]


def test_sentences_among_many_abbreviations_and_no_spaces() -> None:
    """Runs of stops that end nothing, and stops with no space before them in a megabyte."""
    abbreviated = repeat_to("see e.g. Fig. 2 vs. Fig. 3 ", MEGABYTE // 4) + "End."
    no_spaces = repeat_to("word.\nWord", MEGABYTE // 4)
    with hang_guard(60):
        one = sentences_at(abbreviated, list(range(0, len(abbreviated), 10)))
        many = sentences_at(no_spaces, [*range(0, len(no_spaces), 1000), len(no_spaces) - 1])
    assert set(one) == {abbreviated}
    assert set(many) == {"word.", "Wordword.", "Word"}


def test_an_undeclared_entity_is_kept_as_text_and_noted(tmp_path: Path) -> None:
    xml = article_xml("PMC21", ["f1.png", "f2.png"]).replace(
        b"<p>Caption of figure 1.</p>", b"<p>Stained with &foo; and &alpha;-actin &amp; DAPI.</p>"
    )
    write(tmp_path / "PMC21" / "PMC21.nxml", JATS_DOCTYPE + xml)
    write(tmp_path / "PMC21" / "f1.png", png_bytes())
    write(tmp_path / "PMC21" / "f2.png", png_bytes())
    [result] = extract_all(tmp_path).values()
    first, second = result.records
    assert first["caption"] == "Panel 1. Stained with &foo; and α-actin & DAPI."
    assert first["field_sources"] == [{"field": "caption", "source": "jats:undeclared_entity"}]
    assert second["caption"] == "Panel 2. Caption of figure 2."
    assert not second["field_sources"]


def truncated_png() -> bytes:
    data = png_bytes(64, 48)
    return data[:-20]  # IEND and the end of IDAT gone: Pillow alone decodes it quietly


def test_a_truncated_image_is_rejected() -> None:
    with pytest.raises(ImageRejected) as rejected:
        normalise_image(truncated_png())
    assert rejected.value.reason == "image_truncated"
    jpeg = normalise_image(png_bytes(30, 20))  # a whole one still passes
    assert (jpeg.width, jpeg.height) == (30, 20)


def test_a_truncated_image_drops_its_figure_or_keeps_its_caption(tmp_path: Path) -> None:
    write(tmp_path / "PMC22" / "PMC22.nxml", article_xml("PMC22", ["cut.png", "ok.png"]))
    write(tmp_path / "PMC22" / "cut.png", truncated_png())
    write(tmp_path / "PMC22" / "ok.png", png_bytes())
    [dropped] = extract_all(tmp_path).values()
    assert [r["key"] for r in dropped.records] == ["PMC22/F2"]
    assert [(d.key, d.reason) for d in dropped.drops] == [("PMC22/F1", "image_truncated")]
    [kept] = extract_all(tmp_path, keep_missing_images=True).values()
    assert [(r["key"], r["image_status"]) for r in kept.records] == [
        ("PMC22/F1", "truncated"),
        ("PMC22/F2", "ok"),
    ]
    assert kept.records[0]["image"] is None and kept.records[0]["caption"]


@pytest.mark.beam
def test_links_out_of_the_input_root_are_never_read(tmp_path: Path) -> None:
    """A linked image outside the root is a link_outside_root drop, a linked article file an
    error; a link inside the root is followed; the rest of the article goes on."""
    from pipeline.cli import main

    secret = png_bytes(77, 33, color=7)
    write(tmp_path / "private" / "secret.png", secret)
    write(tmp_path / "private" / "PMC24.nxml", article_xml("PMC24", ["x.png"]))
    root = tmp_path / "corpus"
    folder = root / "PMC23"
    write(folder / "PMC23.nxml", article_xml("PMC23", ["out.png", "in.png", "ok.png"]))
    os.symlink(tmp_path / "private" / "secret.png", folder / "out.png")
    write(root / "shared" / "in.png", png_bytes(50, 20))
    os.symlink(root / "shared" / "in.png", folder / "in.png")
    write(folder / "ok.png", png_bytes(40, 30))
    (root / "linked").mkdir()
    os.symlink(tmp_path / "private" / "PMC24.nxml", root / "linked" / "PMC24.nxml")

    out = tmp_path / "out" / "figures"
    assert main(["extract", "--input", str(root), "--output", str(out), "--quiet"]) == 0
    records = [r for p in sorted(out.glob("data-*.parquet")) for r in pq.read_table(p).to_pylist()]
    assert [(r["key"], r["width"]) for r in records] == [("PMC23/F2", 50), ("PMC23/F3", 40)]
    assert all(r["image"]["bytes"] != secret for r in records)
    dropped = pq.read_table(next(out.glob("dropped-*.parquet"))).to_pylist()
    assert [(d["key"], d["reason"]) for d in dropped] == [("PMC23/F1", "link_outside_root")]
    errors = pq.read_table(next(out.glob("errors-*.parquet"))).to_pylist()
    assert [(e["error_type"], e["source_uri"]) for e in errors] == [
        ("link_outside_root", str(root / "linked" / "PMC24.nxml"))
    ]
    assert json.loads((out / "stats.json").read_text())["ledger_ok"] is True


def test_a_package_streams_past_members_no_figure_uses(tmp_path: Path) -> None:
    """A 128 MiB video in a package is decompressed past, never held in memory (the stream's
    own buffers peak near 32 MiB on zeros, which inflate 1000-fold per compressed block)."""
    video = bytes(128 * 1024 * 1024)
    package = {
        "PMC25/PMC25.nxml": article_xml("PMC25", ["f1.png"]),
        "PMC25/f1.png": png_bytes(),
        "PMC25/movie.mp4": video,
    }
    with tarfile.open(tmp_path / "PMC25.tar.gz", "w:gz", compresslevel=1) as tar:
        for name, data in package.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    del video, package
    tracemalloc.start()
    try:
        [result] = extract_all(tmp_path).values()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [r["key"] for r in result.records] == ["PMC25/F1"]
    assert peak < 48 * 1024 * 1024


def test_package_caps_are_options_named_in_the_error(tmp_path: Path) -> None:
    image = png_bytes(60, 60)
    members = {"PMC26/PMC26.nxml": article_xml("PMC26", ["a.png", "b.png"])}
    members |= {"PMC26/a.png": image, "PMC26/b.png": image}
    write(tmp_path / "PMC26.tar.gz", targz(members))
    [whole] = extract_all(tmp_path).values()
    assert len(whole.records) == 2
    [member] = extract_all(tmp_path, max_package_member_bytes=len(image) - 1).values()
    assert member.error.error_type == "tar_member_too_large"
    assert f"--max-package-member-bytes={len(image) - 1}" in member.error.message
    total = sum(len(data) for data in members.values())
    [package] = extract_all(tmp_path, max_package_bytes=total - 1).values()
    assert package.error.error_type == "tar_too_large"
    assert f"--max-package-bytes={total - 1}" in package.error.message


def test_contact_sheets_order_panels_by_index(tmp_path: Path) -> None:
    from transforms.segment.contact_sheet import sheet_items

    rows = [
        new_record(
            PANEL_SCHEMA,
            key=f"PMC27/F1/p{index}",
            parent_key="PMC27/F1",
            panel_index=index,
            panel_label=chr(ord("a") + index),
            bbox=[index * 10, 0, index * 10 + 10, 10],
            is_compound=True,
            image={"bytes": png_bytes(10, 10), "path": f"p{index}.png"},
            seg_method="xycut",
        )
        for index in range(12)
    ]
    folder = tmp_path / "panels"
    folder.mkdir()
    pq.write_table(pa.Table.from_pylist(rows, schema=PANEL_SCHEMA), folder / "data-0.parquet")
    [item] = sheet_items(folder)
    assert list(item.labels) == [chr(ord("a") + i) for i in range(12)]


def test_run_json_names_the_input_by_absolute_path(tmp_path: Path, monkeypatch) -> None:
    from pipeline.cli import build_parser
    from pipeline.resume import run_record
    from pipeline.stages.extract import EXTRACT

    monkeypatch.chdir(tmp_path)
    args = build_parser().parse_args(["extract", "--input", "corpus/", "--output", "out"])
    assert run_record(EXTRACT, args, args.input)["input"] == str(tmp_path / "corpus")
    assert run_record(EXTRACT, args, "gs://bucket/corpus/")["input"] == "gs://bucket/corpus"
