"""transforms/keys.py: the key shapes, the version kept out of keys, and the tar-safe form."""

from __future__ import annotations

import random
import tarfile
from pathlib import Path

import pytest

from transforms.keys import (
    article_key,
    article_of,
    figure_key,
    key_from_tar,
    panel_key,
    slug,
    split_pmc_version,
    tar_key,
)

# keys no extractor makes today, and some it does: what export must carry through a tar
AWKWARD_KEYS = [
    "",
    ".",
    "..",
    "/",
    "%",
    "%%",
    "%2F",  # literally: must not decode to "/"
    "%252F",
    "a/b",
    "a%2Fb",
    "a.b",
    "a%2Eb",
    "PMC1234567/F1",
    "PMC1234567/F1/p12",
    "doi-10.7554-elife.02935/fig1/p0",
    "with space/and\ttab",
    " leading and trailing ",
    "ünïcødé/日本語.図",
    "emoji-🧬.🔬",
    "new\nline",
    "nul\x00byte",
    "trailing/",
    "/leading",
    "x" * 300,
]


def random_keys(count: int, seed: int = 7) -> list[str]:
    """Seeded keys over an alphabet rich in the characters the encoding touches."""
    rng = random.Random(seed)
    alphabet = list("%./-_ aZ09") + ["%2F", "%25", "%2E", "é", "日", "\x00", "🧬"]
    return ["".join(rng.choices(alphabet, k=rng.randint(0, 12))) for _ in range(count)]


def test_figure_and_panel_keys_keep_their_shape() -> None:
    article = article_key("PMC1234567", "10.1/x", "folder")
    assert article == "PMC1234567"
    figure = figure_key(article, "F1")
    assert figure == "PMC1234567/F1"
    assert panel_key(figure, 2) == "PMC1234567/F1/p2"
    assert article_of(panel_key(figure, 2)) == article_of(figure) == "PMC1234567"


def test_article_key_falls_back_from_pmcid_to_doi_to_name() -> None:
    assert article_key(None, "10.7554/eLife.02935", "x") == "doi-10.7554-elife.02935"
    assert article_key(None, None, "my paper (v2)") == "my-paper-v2"
    assert article_key(None, None, "///") == "article"
    assert figure_key("PMC1", "fig 1/a") == "PMC1/fig-1-a"


def test_the_article_version_never_enters_a_key() -> None:
    assert split_pmc_version("PMC1234567.2") == ("PMC1234567", 2)
    assert split_pmc_version("pmc1234567.12") == ("PMC1234567", 12)
    assert split_pmc_version("PMC1234567") == ("PMC1234567", None)
    assert split_pmc_version("elife-00353-v1") == ("elife-00353-v1", None)
    # a versioned PMCID in the XML, or a PMC Cloud folder name as fallback: same key
    assert article_key("PMC1234567.3", None, "x") == "PMC1234567"
    assert article_key(None, None, "PMC1234567.2") == "PMC1234567"
    assert article_key(None, None, "PMC1234567.2") == article_key(None, None, "PMC1234567.1")


def test_a_pmcid_cannot_smuggle_a_slash_into_the_article_part() -> None:
    key = figure_key(article_key("PMC 12/34", None, "x"), "F1")
    assert article_of(key) == "PMC-12-34"
    assert slug("a/b c") == "a-b-c"


def test_panel_index_must_not_be_negative() -> None:
    with pytest.raises(ValueError):
        panel_key("PMC1/F1", -1)


@pytest.mark.parametrize("key", AWKWARD_KEYS)
def test_tar_key_round_trips_and_has_no_slash_or_dot(key: str) -> None:
    safe = tar_key(key)
    assert "/" not in safe and "." not in safe
    assert key_from_tar(safe) == key


def test_tar_key_is_injective_over_awkward_and_random_keys() -> None:
    keys = set(AWKWARD_KEYS) | set(random_keys(3000))
    safe = {tar_key(k) for k in keys}
    assert len(safe) == len(keys)
    for key in random_keys(3000):
        encoded = tar_key(key)
        assert "/" not in encoded and "." not in encoded
        assert key_from_tar(encoded) == key


def test_tar_key_escapes_only_percent_slash_and_dot() -> None:
    assert tar_key("PMC1/F1/p2") == "PMC1%2FF1%2Fp2"
    assert tar_key("%2F") == "%252F"
    assert tar_key("ünï code-_") == "ünï code-_"


@pytest.mark.parametrize("bad", ["%", "%2", "%41", "%zz", "%2f", "a%"])
def test_key_from_tar_refuses_what_tar_key_never_writes(bad: str) -> None:
    with pytest.raises(ValueError):
        key_from_tar(bad)


def test_webdataset_reads_tar_keys_back_whole(tmp_path: Path) -> None:
    """WebDataset cuts a member name at the first `.`; the tar key survives it."""
    webdataset = pytest.importorskip("webdataset")
    keys = ["PMC1234567/F1/p0", "doi-10.7554-elife.02935/fig1", "a.b.c/d", "%2F"]
    shard = tmp_path / "00000.tar"
    with tarfile.open(shard, "w") as tar:
        for key in keys:
            for ext, data in (("txt", key.encode()), ("json", b"{}")):
                path = tmp_path / "member"
                path.write_bytes(data)
                tar.add(path, arcname=f"{tar_key(key)}.{ext}")
    samples = list(webdataset.WebDataset(str(shard), shardshuffle=False))
    assert [key_from_tar(s["__key__"]) for s in samples] == keys
    assert [s["txt"].decode() for s in samples] == keys
