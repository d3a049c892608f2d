"""Hostile inputs become error or drop records; the other records of the run are intact."""

from __future__ import annotations

import tarfile
from pathlib import Path

from hostile import (
    BILLION_LAUGHS,
    EXTERNAL_ENTITY,
    article_xml,
    bomb_png,
    png_bytes,
    targz,
    write,
)

from transforms.extract.extractor import ExtractConfig, Extractor
from transforms.extract.images import ImageRejected, normalise_image
from transforms.extract.sources import group_sources
from transforms.ledger import Ledger, UnitResult, run_unit


def extract_all(folder: Path, **config) -> dict[str, UnitResult]:
    listing = [str(p) for p in folder.rglob("*") if p.is_file()]
    extractor = Extractor(ExtractConfig(**config))
    return {s.uri: run_unit(extractor, s, s.uri, s.uri) for s in group_sources(listing)}


def test_billion_laughs_is_refused_without_expansion(tmp_path: Path) -> None:
    path = write(tmp_path / "lol" / "lol.xml", BILLION_LAUGHS)
    write(tmp_path / "lol" / "f1.png", png_bytes())
    [result] = extract_all(tmp_path).values()
    assert result.error is not None
    assert result.error.error_type == "xml_entity_declaration"
    assert str(path) in result.error.message


def test_external_entity_is_refused(tmp_path: Path) -> None:
    write(tmp_path / "xxe" / "xxe.xml", EXTERNAL_ENTITY)
    [result] = extract_all(tmp_path).values()
    assert result.error.error_type == "xml_entity_declaration"
    assert "root:" not in result.error.message  # /etc/passwd never read


def test_malformed_and_truncated_xml(tmp_path: Path) -> None:
    good = article_xml("PMC1", ["f1.png"])
    write(tmp_path / "a" / "trunc.xml", good[: len(good) // 2])
    write(tmp_path / "b" / "empty.xml", b"")
    results = extract_all(tmp_path)
    kinds = sorted(r.error.error_type for r in results.values())
    assert kinds == ["xml_empty", "xml_malformed"]


def test_tar_with_parent_path_member_is_an_error(tmp_path: Path) -> None:
    members = {
        "PMC2/PMC2.nxml": article_xml("PMC2", ["f1.png"]),
        "PMC2/f1.png": png_bytes(),
        "../../evil.txt": b"escape",
    }
    write(tmp_path / "PMC2.tar.gz", targz(members))
    [result] = extract_all(tmp_path).values()
    assert result.error.error_type == "tar_unsafe_member"
    assert not (tmp_path.parent / "evil.txt").exists()


def test_tar_with_absolute_member_or_link_is_an_error(tmp_path: Path) -> None:
    write(tmp_path / "abs.tar.gz", targz({"/etc/evil": b"x", "a.nxml": article_xml("PMC3", [])}))
    link_path = tmp_path / "link.tar.gz"
    with tarfile.open(link_path, "w:gz") as tar:
        info = tarfile.TarInfo("a/link")
        info.type = tarfile.SYMTYPE
        info.linkname = "/etc/passwd"
        tar.addfile(info)
    results = extract_all(tmp_path)
    assert sorted(r.error.error_type for r in results.values()) == ["tar_unsafe_member"] * 2


def test_truncated_targz_is_an_error(tmp_path: Path) -> None:
    data = targz({"PMC4/PMC4.nxml": article_xml("PMC4", ["f1.png"]), "PMC4/f1.png": png_bytes()})
    write(tmp_path / "PMC4.tar.gz", data[: len(data) * 2 // 3])
    [result] = extract_all(tmp_path).values()
    assert result.error.error_type == "tar_corrupt"


def test_package_is_extracted_in_memory(tmp_path: Path) -> None:
    data = targz(
        {
            "PMC5/PMC5.nxml": article_xml("PMC5", ["f1", "f2.png"]),
            "PMC5/f1.png": png_bytes(),
            "PMC5/f2.png": png_bytes(50, 20),
        }
    )
    write(tmp_path / "PMC5.tar.gz", data)
    [result] = extract_all(tmp_path).values()
    assert [r["key"] for r in result.records] == ["PMC5/F1", "PMC5/F2"]
    assert [r["width"] for r in result.records] == [40, 50]
    assert result.records[0]["image_uri"].endswith("PMC5.tar.gz#PMC5/f1.png")


def test_decompression_bomb_is_dropped_and_siblings_kept(tmp_path: Path) -> None:
    folder = tmp_path / "PMC6"
    write(folder / "PMC6.nxml", article_xml("PMC6", ["bomb.png", "ok.png", "zero.png", "junk.png"]))
    write(folder / "bomb.png", bomb_png())
    write(folder / "ok.png", png_bytes())
    write(folder / "zero.png", b"")
    write(folder / "junk.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    [result] = extract_all(tmp_path).values()
    assert result.error is None
    assert [r["key"] for r in result.records] == ["PMC6/F2"]
    assert {d.key: d.reason for d in result.drops} == {
        "PMC6/F1": "image_too_large",
        "PMC6/F3": "image_empty",
        "PMC6/F4": "image_unreadable",
    }
    ledger = Ledger.of(result)
    assert ledger.ok and ledger.found == 4 and ledger.out == 1


def test_bomb_is_rejected_from_its_header() -> None:
    try:
        normalise_image(bomb_png(), max_pixels=10_000_000)
    except ImageRejected as exc:
        assert exc.reason == "image_too_large" and "12000x12000" in exc.detail
    else:
        raise AssertionError("bomb accepted")


def test_missing_images_dropped_or_kept(tmp_path: Path) -> None:
    write(tmp_path / "PMC7" / "PMC7.nxml", article_xml("PMC7", ["gone.tif", "http://x.org/a.jpg"]))
    [dropped] = extract_all(tmp_path).values()
    assert [d.reason for d in dropped.drops] == ["image_missing", "image_missing"]
    [kept] = extract_all(tmp_path, keep_missing_images=True).values()
    assert [r["image_status"] for r in kept.records] == ["missing", "missing"]
    assert all(r["image"] is None for r in kept.records)


def test_huge_image_file_is_dropped_unread(tmp_path: Path) -> None:
    write(tmp_path / "PMC8" / "PMC8.nxml", article_xml("PMC8", ["big.png", "ok.png"]))
    write(tmp_path / "PMC8" / "big.png", png_bytes(400, 400) + b"\0" * 20_000)
    write(tmp_path / "PMC8" / "ok.png", png_bytes())
    [result] = extract_all(tmp_path, max_media_bytes=10_000).values()
    assert [r["key"] for r in result.records] == ["PMC8/F2"]
    assert [(d.key, d.reason) for d in result.drops] == [("PMC8/F1", "image_too_large")]
    assert "larger than 10000 bytes" in result.drops[0].detail
