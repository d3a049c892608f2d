"""Reference lists and tables are cut from the bytes before parsing, and nothing else."""

from __future__ import annotations

import tarfile
from dataclasses import asdict
from pathlib import Path

import pytest

from transforms.extract import jats
from transforms.extract.jats import parse_articles, parse_xml
from transforms.extract.jats_prune import prune_unread

DOC = (
    b'<?xml version="1.0"?>\n<!DOCTYPE article PUBLIC "-//NLM//DTD JATS//EN" "jats.dtd">\n'
    b"<article><body><p>Before <table-wrap id='t1'><table><tr><td>cell</td></tr></table>"
    b"</table-wrap>after the table.</p><table-wrap-group><table-wrap id='t2'/>"
    b"</table-wrap-group></body><back><ref-list><ref-list><ref id='r1'>A</ref></ref-list>"
    b"<ref-list><ref id='r2'>B</ref></ref-list></ref-list>tail<fn-group/></back></article>"
)


def test_cuts_reference_lists_and_tables_keeping_tails() -> None:
    out = prune_unread(DOC)
    assert out == (
        b'<?xml version="1.0"?>\n<!DOCTYPE article PUBLIC "-//NLM//DTD JATS//EN" "jats.dtd">\n'
        b"<article><body><p>Before after the table.</p><table-wrap-group>"
        b"</table-wrap-group></body><back>tail<fn-group/></back></article>"
    )


def test_nothing_to_cut_returns_the_same_bytes() -> None:
    data = b"<article><body><p>Text <table-wrap-foot/> here.</p></body></article>"
    assert prune_unread(data) is data


def test_spans_with_comments_or_cdata_are_left_alone() -> None:
    data = (
        b"<article><body><table-wrap><!-- </table-wrap> --></table-wrap>"
        b"<table-wrap><![CDATA[</table-wrap>]]></table-wrap></body></article>"
    )
    assert prune_unread(data) == data


def test_unbalanced_tags_leave_the_rest_whole() -> None:
    data = b"<article><body><table-wrap><table-wrap></table-wrap></body></article>"
    assert prune_unread(data) == data
    data = b"<article><back><p>x</p></ref-list></back></article>"
    assert prune_unread(data) == data


def test_the_doctype_subset_is_never_cut() -> None:
    data = (
        b'<!DOCTYPE article [<!ATTLIST x y CDATA "<table-wrap></table-wrap>">]>'
        b"<article><body><p>x</p></body></article>"
    )
    assert prune_unread(data) == data


def test_a_cut_that_does_not_parse_falls_back_to_the_whole_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(jats, "prune_unread", lambda data: data[:-5])
    root = parse_xml(DOC, "doc.xml", prune=True).getroot()
    assert len(root.findall(".//ref")) == 2


def _real_articles(testdata: Path) -> list[tuple[str, bytes]]:
    found = []
    for path in sorted(testdata.rglob("*")):
        if path.suffix in (".xml", ".nxml") and path.parent.name != "vocab":
            found.append((str(path), path.read_bytes()))
        elif path.name.endswith(".tar.gz"):
            with tarfile.open(path) as tar:
                for member in tar.getmembers():
                    if member.name.endswith((".xml", ".nxml")):
                        data = tar.extractfile(member).read()
                        found.append((f"{path}#{member.name}", data))
    return found


@pytest.mark.realdata
def test_real_articles_extract_the_same_with_and_without_the_cut(testdata: Path) -> None:
    articles = _real_articles(testdata)
    assert len(articles) >= 50
    cut_bytes = 0
    for uri, data in articles:
        whole = [asdict(a) for a in parse_articles(data, uri, prune=False)]
        cut = [asdict(a) for a in parse_articles(data, uri, prune=True)]
        assert cut == whole, uri
        cut_bytes += len(data) - len(prune_unread(data))
    assert cut_bytes > 0.3 * sum(len(data) for _, data in articles)
