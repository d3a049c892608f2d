"""Attacks that test_hostile_inputs.py and test_hostile_more.py do not show, each shown
harmless with real files through the extract or segment unit (the Beam run where only the
listing can show it): nothing is fetched, read outside the input, expanded or decoded past
its cap, and each attack is a typed error, a drop or an unrecognised file."""

from __future__ import annotations

import io
import os
import tarfile
import tracemalloc
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from attacks import counting_server, gzip_bomb_package, huge_header, member, tar_gz
from hostile import BILLION_LAUGHS, EXTERNAL_ENTITY, article_xml, png_bytes, write

from schemas import FIGURE_SCHEMA
from transforms.extract.extractor import ExtractConfig, Extractor, read_local
from transforms.extract.images import ImageRejected, normalise_image
from transforms.extract.sources import classify_folder, group_sources
from transforms.ledger import StageError, UnitResult, run_unit
from transforms.segment.segmenter import decode

SECRET = "TOP-SECRET-LINE"
CAPTION = b"Caption of figure 1"


def extract_folder(folder: Path, read=read_local, **config) -> list[UnitResult]:
    listing = [str(p) for p in sorted(folder.rglob("*")) if p.is_file()]
    extractor = Extractor(ExtractConfig(**config), read=read)
    return [run_unit(extractor, s, s.uri, s.uri) for s in group_sources(listing)]


def one_article(tmp_path: Path, xml: bytes, **files: bytes) -> UnitResult:
    write(tmp_path / "in" / "PMC1" / "PMC1.nxml", xml)
    for name, data in files.items():
        write(tmp_path / "in" / "PMC1" / name, data)
    [result] = extract_folder(tmp_path / "in")
    return result


def with_caption(text: bytes) -> bytes:
    return article_xml("PMC1", ["f1.png"]).replace(CAPTION, text)


# XML: entities and DTDs


def test_external_dtd_xinclude_and_entities_are_never_fetched_or_read(tmp_path: Path) -> None:
    """A DTD or XInclude by file path or URL: nothing is loaded (the server is asked for
    nothing, the secret is in no caption); a declared entity is refused whole."""
    secret = write(tmp_path / "secret.txt", SECRET.encode())
    dtd = write(tmp_path / "evil.dtd", f'<!ENTITY secret "{SECRET}">'.encode())
    with counting_server() as (url, asked):
        attacks = {
            "file_dtd": f'<!DOCTYPE article SYSTEM "file://{dtd}">',
            "http_dtd": f'<!DOCTYPE article PUBLIC "-//X//DTD X//EN" "{url}/evil.dtd">',
            "xinclude": "",
        }
        captions = {}
        for name, doctype in attacks.items():
            uses = "&secret; " if doctype else ""  # without a DOCTYPE it is malformed
            body = (
                f'<p xmlns:xi="http://www.w3.org/2001/XInclude">{uses}'.encode()
                + f'<xi:include href="{secret}" parse="text"/>'.encode()
                + f'<xi:include href="{url}/x.txt" parse="text"/></p>'.encode()
            )
            xml = doctype.encode() + with_caption(body)
            result = one_article(tmp_path / name, xml, **{"f1.png": png_bytes()})
            [record] = result.records
            captions[name] = record["caption"]
        param = f'<!DOCTYPE article [<!ENTITY % ext SYSTEM "{url}/p.dtd"> %ext;]>'
        refused = one_article(tmp_path / "param", param.encode() + with_caption(b"x"))
    assert asked == []
    assert all(SECRET not in c and "FETCHED" not in c for c in captions.values()), captions
    assert "&secret;" in captions["file_dtd"] and "&secret;" in captions["http_dtd"]
    assert refused.error.error_type == "xml_entity_declaration"


@pytest.mark.parametrize("attack", [BILLION_LAUGHS, EXTERNAL_ENTITY], ids=["laughs", "xxe"])
def test_entity_declarations_behind_a_long_prolog_are_refused(
    tmp_path: Path, attack: bytes
) -> None:
    """The declaration check reads the first 64 KiB; past a long comment libxml2's own
    limits (resolve_entities off, amplification capped) refuse the document all the same."""
    prolog = b'<?xml version="1.0"?>\n<!--' + b"pad " * 20_000 + b"-->\n"
    result = one_article(tmp_path, prolog + attack.split(b"\n", 1)[1])
    assert result.error.error_type in ("xml_entity_declaration", "xml_malformed")
    assert "root:" not in result.error.message and "lol" not in result.error.message


# XML: control characters, invalid UTF-8, oversized text

MALFORMED = {
    "c0_control": b"Cap\x01tion\x0b",
    "c0_reference": b"Cap&#1;tion",
    "nul_byte": b"Cap\x00tion",
    "invalid_utf8": b"Cap\xff\xfetion",
    "overlong_utf8": b"Cap\xc0\xaftion",
    "utf8_surrogate": b"Cap\xed\xa0\x80tion",
    "twelve_mb_text_node": b"w " * 6_000_000,
    "nested_500_deep": b"<p>" * 500 + b"x" + b"</p>" * 500,
}


@pytest.mark.parametrize("text", MALFORMED.values(), ids=MALFORMED.keys())
def test_control_characters_bad_utf8_and_oversized_xml_are_error_records(
    tmp_path: Path, text: bytes
) -> None:
    result = one_article(tmp_path, with_caption(text), **{"f1.png": png_bytes()})
    assert result.error.error_type == "xml_malformed"
    assert "PMC1.nxml" in result.error.message and len(result.error.message) < 2100


def test_legal_odd_characters_and_other_encodings_are_kept_and_written(tmp_path: Path) -> None:
    """C1 controls, a byte-order mark, zero-width and bidi-override characters are legal
    XML: the caption keeps them and Parquet stores them; Latin-1 and UTF-16 files decode."""
    odd = "Cap\u009f\ufeff\u200b\u202etion"
    latin1 = b'<?xml version="1.0" encoding="ISO-8859-1"?>' + with_caption(b"Caf\xe9")
    utf16 = ('<?xml version="1.0" encoding="UTF-16"?>' + with_caption(b"Tea").decode()).encode(
        "utf-16"
    )
    captions = []
    for name, xml in {"odd": with_caption(odd.encode()), "l1": latin1, "u16": utf16}.items():
        [record] = one_article(tmp_path / name, xml, **{"f1.png": png_bytes()}).records
        captions.append(record["caption"])
        pq.write_table(pa.Table.from_pylist([record], schema=FIGURE_SCHEMA), tmp_path / "x.pq")
        assert pq.read_table(tmp_path / "x.pq").column("caption").to_pylist() == [captions[-1]]
    assert captions == ["Panel 1. " + odd + ".", "Panel 1. Café.", "Panel 1. Tea."]


# packages: traversal, links, devices, bombs

UNSAFE = {
    "hardlink_out": member("PMC1/f1.png", kind=tarfile.LNKTYPE, link="/etc/passwd"),
    "symlink_in": member("PMC1/f1.png", kind=tarfile.SYMTYPE, link="PMC1/PMC1.nxml"),
    "backslash_parent": member("..\\..\\evil.png"),
    "drive_letter": member("C:/evil.png"),
    "parent_inside": member("PMC1/sub/../../evil.png"),
}


@pytest.mark.parametrize("bad", UNSAFE.values(), ids=UNSAFE.keys())
def test_package_links_and_escaping_names_make_the_package_an_error(tmp_path: Path, bad) -> None:
    package = tar_gz([member("PMC1/PMC1.nxml", article_xml("PMC1", ["f1.png"])), bad])
    write(tmp_path / "in" / "PMC1.tar.gz", package)
    [result] = extract_folder(tmp_path / "in")
    assert result.error.error_type == "tar_unsafe_member"
    assert not (tmp_path / "evil.png").exists() and not list(tmp_path.rglob("evil.png"))


def test_a_member_named_twice_makes_the_package_an_error(tmp_path: Path) -> None:
    """Two members with one name: which image a figure gets is not guessed (a later member
    could swap a figure's image), the package is an error."""
    package = tar_gz(
        [
            member("PMC1/PMC1.nxml", article_xml("PMC1", ["f1.png"])),
            member("PMC1/f1.png", png_bytes()),
            member("PMC1/./f1.png", png_bytes(60, 20)),
        ]
    )
    write(tmp_path / "in" / "PMC1.tar.gz", package)
    [result] = extract_folder(tmp_path / "in")
    assert result.error.error_type == "tar_duplicate_member" and not result.records


def test_package_device_and_fifo_members_are_never_opened(tmp_path: Path) -> None:
    package = tar_gz(
        [
            member("PMC1/PMC1.nxml", article_xml("PMC1", ["f1.png", "f2.png"])),
            member("PMC1/f1.png", kind=tarfile.FIFOTYPE),
            member("PMC1/f2.png", kind=tarfile.CHRTYPE),
        ]
    )
    write(tmp_path / "in" / "PMC1.tar.gz", package)
    [result] = extract_folder(tmp_path / "in")
    assert [(d.key, d.reason) for d in result.drops] == [
        ("PMC1/F1", "image_missing"),
        ("PMC1/F2", "image_missing"),
    ]


def test_a_gzip_bomb_package_is_refused_from_the_member_header(tmp_path: Path) -> None:
    """1 GiB of zeros in a 1 MB .tar.gz, named as an image: refused from its tar header
    under the default caps, its bytes never inflated."""
    bomb = gzip_bomb_package("PMC1/f1.png", 1 << 30)
    assert len(bomb) < 2_000_000
    write(tmp_path / "in" / "PMC1.tar.gz", bomb)
    tracemalloc.start()
    try:
        [result] = extract_folder(tmp_path / "in")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.error.error_type == "tar_member_too_large"
    assert "1073741824 bytes" in result.error.message
    assert peak < 16 * 1024 * 1024


def test_a_zip_with_traversal_members_is_never_opened(tmp_path: Path) -> None:
    """Zip is no input format: beside an article it is a file no href can name as an
    image, alone in a folder an unrecognised file; it is never read."""
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("../../evil.png", png_bytes())
        archive.writestr("/etc/evil.png", png_bytes())
    folder = tmp_path / "in"
    write(folder / "PMC1" / "PMC1.nxml", article_xml("PMC1", ["evil.zip"]))
    write(folder / "PMC1" / "evil.zip", buf.getvalue())
    write(folder / "loose" / "evil.zip", buf.getvalue())
    read: list[str] = []

    def reading(uri: str, limit: int) -> bytes:
        read.append(uri)
        return read_local(uri, limit)

    [result] = extract_folder(folder, read=reading)
    assert read == [str(folder / "PMC1" / "PMC1.nxml")]
    assert [d.reason for d in result.drops] == ["image_missing"]
    loose = classify_folder(str(folder / "loose"), [str(folder / "loose" / "evil.zip")])
    assert loose.sources == [] and loose.unrecognised[0][1] == "no_article_file_in_folder"
    assert not list(tmp_path.rglob("evil.png"))


# images: headers that lie about their size

FORMATS = ["PNG", "GIF", "BMP", "JPEG", "TIFF"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_image_header_stating_billions_of_pixels_is_refused_undecoded(fmt: str) -> None:
    data = huge_header(fmt)
    assert len(data) < 2000
    with pytest.raises(ImageRejected) as rejected:
        normalise_image(data)
    assert rejected.value.reason == "image_too_large" and "60000x60000" in rejected.value.detail
    with pytest.raises(StageError) as refused:  # a figures folder written by someone else
        decode(data, 64_000_000)
    assert refused.value.error_type == "image_too_large"


# file names: invalid UTF-8 and control characters, through the Beam run


@pytest.mark.beam
def test_file_names_that_are_not_utf8_are_reported_and_the_run_goes_on(tmp_path: Path) -> None:
    """Before: Beam could not encode such a name and the whole run failed. Now each is an
    unrecognised file (`path_not_utf8`, its bytes written as \\xNN), in a folder or a list."""
    from pipeline.cli import main

    root = tmp_path / "corpus"
    write(root / "PMC1" / "PMC1.nxml", article_xml("PMC1", ["f1.png"]))
    write(root / "PMC1" / "f1.png", png_bytes())
    write(root / "PMC1" / "odd\x01\nname.txt", b"control characters are fine in a name")
    bad = os.fsencode(root) + b"/PMC\xff2"
    os.makedirs(bad)
    with open(bad + b"/PMC\xff2.nxml", "wb") as handle:
        handle.write(article_xml("PMC2", []))
    lines = b"corpus/PMC1/PMC1.nxml\ncorpus/PMC1/f1.png\ncorpus/PMC\xff2/PMC\xff2.nxml\n"
    listed = write(tmp_path / "list.txt", lines)
    for name, source in (("folder", root), ("list", listed)):
        out = tmp_path / name
        argv = ["extract", "--input", str(source), "--output", str(out), "--quiet"]
        assert main([*argv, "--direct_running_mode=in_memory"]) == 0
        [figure] = pq.read_table(out / "data-00000-of-00001.parquet").to_pylist()
        assert figure["key"] == "PMC1/F1"
        unrecognised = pq.read_table(next(out.glob("unrecognised-*.parquet"))).to_pylist()
        assert {"path": f"{root}/PMC\\xff2/PMC\\xff2.nxml", "reason": "path_not_utf8"} in (
            unrecognised
        )
