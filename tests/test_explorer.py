"""The explorer's queries on a generated run folder, then its pages through the real app."""

from __future__ import annotations

import http.client
import io
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import fsspec
import pytest
from explorer_run import CAPTION_1, HOSTILE, make_run
from PIL import Image

from explorer import history
from explorer.caption import caption_pieces
from explorer.folders import OutFolder
from explorer.query import Explorer, Filters, where_clause

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_run(tmp_path_factory.mktemp("explore") / "out")


@pytest.fixture(scope="module")
def explorer(run: Path) -> Explorer:
    return Explorer(OutFolder(str(run)))


@pytest.fixture(scope="module")
def client(run: Path):
    from starlette.testclient import TestClient

    from explorer.app import create_app

    return TestClient(create_app(str(run)))


def keys(explorer: Explorer, **filters: str) -> list[str]:
    return [r["key"] for r in explorer.grid(Filters(**filters)).rows]


def test_where_clause_binds_values_and_reports_missing_columns():
    sql, params, unavailable = where_clause(
        Filters(text="x'; DROP", split="train"), {"caption", "key"}
    )
    assert "x'; DROP" not in sql and params == ["x'; DROP"]
    assert unavailable == ["split"] and sql.endswith("FALSE")
    assert where_clause(Filters(), {"caption"}) == ("", [], [])


def test_stages_are_found_with_export_under_parquet(explorer):
    assert list(explorer.out.stages) == [
        "figures", "panels", "tagged", "balanced", "deduped", "export",
    ]  # fmt: skip
    assert [Path(p).name for p in explorer.out.stages["export"].data_files] == [
        "train-00000-of-00001.parquet"
    ]
    assert explorer.default_stage() == "tagged"


def test_each_filter_narrows_the_grid(explorer):
    assert keys(explorer) == ["PMC1/F1/p0", "PMC1/F1/p1", "PMC2/F1/p0"]
    assert keys(explorer, modality="radiology") == ["PMC1/F1/p0", "PMC1/F1/p1"]
    assert keys(explorer, modality="radiology/xray") == ["PMC1/F1/p1"]
    assert keys(explorer, semgroup="PROC") == ["PMC2/F1/p0"]
    assert keys(explorer, concept="C0028259") == ["PMC1/F1/p0"]
    assert keys(explorer, concept="EFFUSION") == ["PMC1/F1/p1"]
    assert keys(explorer, concept="c0013687") == ["PMC1/F1/p1"]
    assert keys(explorer, text="<SCRIPT>") == ["PMC2/F1/p0"]
    assert keys(explorer, license="CC0 1.0") == ["PMC2/F1/p0"]
    assert keys(explorer, modality="radiology", license="CC0 1.0") == []
    assert keys(explorer, stage="balanced", entry="C0013687") == ["PMC1/F1/p1"]
    assert keys(explorer, stage="export", split="train") == ["PMC1/F1/p0"]
    assert keys(explorer, stage="export", split="validation") == []


def test_a_filter_the_folder_cannot_apply_matches_nothing_and_says_so(explorer):
    page = explorer.grid(Filters(stage="figures", modality="radiology"))
    assert page.rows == [] and page.total == 0 and page.unavailable == ["modality"]
    assert explorer.grid(Filters(stage="tagged", split="train")).unavailable == ["split"]


def test_paging_walks_every_record_once_in_key_order(explorer):
    seen = []
    for number in (1, 2, 3):
        page = explorer.grid(Filters(), number, page_size=2)
        assert page.total == 3 and page.pages == 2
        seen.append([r["key"] for r in page.rows])
    assert seen == [["PMC1/F1/p0", "PMC1/F1/p1"], ["PMC2/F1/p0"], ["PMC2/F1/p0"]]


def test_counting_stops_at_the_cap_and_paging_goes_on(run):
    capped = Explorer(OutFolder(str(run)), count_cap=2)
    first = capped.grid(Filters(), 1, page_size=1)
    assert (first.total, first.capped, first.has_next) == (2, True, True)
    third = capped.grid(Filters(), 3, page_size=1)
    assert [r["key"] for r in third.rows] == ["PMC2/F1/p0"] and third.page == 3
    assert not capped.grid(Filters(), 4, page_size=1).has_next
    exact = capped.grid(Filters(modality="radiology/ct"))
    assert (exact.total, exact.capped, exact.has_next) == (1, False, False)


def test_grid_rows_carry_training_text_and_image_position(explorer):
    tagged = {r["key"]: r for r in explorer.grid(Filters()).rows}
    assert tagged["PMC1/F1/p1"]["training_text"] == "(B) No effusion on X-ray."
    assert tagged["PMC2/F1/p0"]["training_text"] == HOSTILE  # no sub-caption: the caption
    exported = explorer.grid(Filters(stage="export")).rows[0]
    assert exported["training_text"] == "(A) CT of the lung with a nodule."
    assert (exported["shard"], exported["row"]) == (0, 0)


def test_facets_count_the_values_of_a_folder(explorer):
    assert explorer.facet("tagged", "modality") == [
        ("microscopy", 1), ("microscopy/light", 1),
        ("radiology", 2), ("radiology/ct", 1), ("radiology/xray", 1),
    ]  # fmt: skip
    assert explorer.facet("tagged", "semgroup") == [("DISO", 2), ("ANAT", 1), ("PROC", 1)]
    assert explorer.facet("figures", "modality") == []
    assert explorer.facet("export", "split") == [("train", 1)]


def test_caption_pieces_mark_subcaptions_and_concepts():
    start = CAPTION_1.index("effusion")
    pieces = caption_pieces(
        CAPTION_1,
        [{"start": 49, "end": 74}],
        [{"cui": "C1", "start": start, "end": start + 8, "semgroup": "DISO", "negated": True}],
    )
    assert "".join(p.text for p in pieces) == CAPTION_1
    marked = [p for p in pieces if p.semgroup]
    assert [(p.text, p.negated, p.in_subcaption) for p in marked] == [("effusion", True, True)]
    assert [p.text for p in pieces if p.in_subcaption] == ["(B) No ", "effusion", " on X-ray."]
    assert caption_pieces("", None, None) == []
    # offsets past the end are clipped, never an IndexError
    assert caption_pieces("ab", [], [{"start": 1, "end": 99, "semgroup": "X"}])[1].text == "b"


def test_fates_follow_a_record_through_the_later_folders(explorer):
    fates = {f.stage: (f.status, f.detail) for f in history.fates(explorer, "tagged", "PMC1/F1/p1")}
    assert fates["balanced"] == ("kept", "")
    assert fates["deduped"] == ("dropped", "duplicate: phash of PMC1/F1/p0")
    assert fates["export"] == ("absent", "")
    kept = {f.stage: f.status for f in history.fates(explorer, "panels", "PMC1/F1/p0")}
    assert kept == dict.fromkeys(["tagged", "balanced", "deduped", "export"], "kept")
    figure = {f.stage: f.detail for f in history.fates(explorer, "figures", "PMC1/F1")}
    assert figure["panels"] == "2 panel(s)"
    sampled = history.fates(explorer, "tagged", "PMC2/F1/p0")
    assert (sampled[0].status, sampled[0].detail) == ("dropped", "not_sampled: keep_prob 0.2")


def test_ledger_losses_duplicates_and_entries(explorer):
    ledger = {s.stage: s for s in history.ledger(explorer)}
    assert ledger["figures"].dropped == {"image_unreadable": 1}
    assert ledger["tagged"].errors == {"ValueError": 1} and ledger["tagged"].stats["in"] == 4
    rows = history.losses(explorer, "balanced", "dropped", "not_sampled")
    assert [r["key"] for r in rows] == ["PMC2/F1/p0"]
    assert history.losses(explorer, "balanced", "dropped", "duplicate") == []
    groups = history.duplicate_groups(explorer)
    assert [(g.kept, [r["key"] for r in g.removed]) for g in groups] == [
        ("PMC1/F1/p0", ["PMC1/F1/p1"])
    ]
    before, after = history.entry_counts(explorer)
    assert len(before) == 4 and {r["entry"] for r in after} == {"C0024109", "C0028259", "C0013687"}


def test_grid_page_is_server_rendered_with_thumbnails(client):
    response = client.get("/")
    assert response.status_code == 200
    html = response.text
    assert html.count('<img loading="lazy" src="/thumb/tagged/0/') == 3
    assert 'src="http' not in html and "//cdn" not in html  # every asset from this server
    thumb = client.get("/thumb/tagged/0/2")
    assert thumb.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(thumb.content)).size == (90, 90)
    assert client.get("/static/explorer.css").status_code == 200
    for _ in range(100):  # the menus appear once their values are counted
        html = client.get("/").text
        if '<select name="modality"' in html:
            break
        time.sleep(0.05)
    assert '<option value="radiology">radiology (2)</option>' in html
    filtered = client.get("/", params={"modality": "radiology/ct"}).text
    assert filtered.count("/thumb/tagged/") == 1 and 'id="total">1<' in filtered


def test_markup_in_captions_is_escaped_everywhere(client):
    for url in ("/", "/record?stage=tagged&key=PMC2/F1/p0", "/record?stage=figures&key=PMC2/F1"):
        html = client.get(url).text
        assert "<script>window" not in html and 'onerror="window' not in html, url
        assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in html, url
    errors = client.get("/losses?stage=tagged&table=errors&reason=ValueError").text
    assert "&lt;b&gt;bad&lt;/b&gt; offsets" in errors and "<b>bad</b>" not in errors
    assert "script-src" not in client.get("/").headers["content-security-policy"]
    assert "default-src 'self'" in client.get("/").headers["content-security-policy"]


def test_record_page_draws_bboxes_and_marks_concepts(client):
    html = client.get("/record", params={"stage": "tagged", "key": "PMC1/F1/p1"}).text
    assert html.count("<rect ") == 2 and 'class="bbox current" data-key="PMC1/F1/p1"' in html
    assert 'viewBox="0 0 200 120"' in html and 'src="/image/figures/0/0"' in html
    assert '<mark class="concept sg-DISO negated sub"' in html
    assert "xycut · score 0.750" in html and "PMC1000" in html
    assert '<tr class="fate-dropped"><td>deduped</td>' in html
    image = client.get("/image/figures/0/0")
    assert image.headers["content-type"] == "image/png"
    missing = client.get("/record", params={"stage": "tagged", "key": "nope"})
    assert missing.status_code == 404


def test_ledger_reason_lists_its_records(client):
    ledger = client.get("/ledger").text
    link = "/losses?stage=figures&amp;table=dropped&amp;reason=image_unreadable"
    assert link in ledger and '<a href="/raw/tagged/stats.json">stats.json</a>' in ledger
    page = client.get(link.replace("&amp;", "&")).text
    assert "PMC3/F1" in page and "cannot identify image file" in page
    sampled = client.get("/losses?stage=balanced&table=dropped&reason=not_sampled").text
    assert 'src="/keythumb?stage=tagged&amp;key=PMC2/F1/p0"' in sampled
    assert 'href="/record?stage=tagged&amp;key=PMC2/F1/p0"' in sampled
    dups = client.get("/duplicates").text
    assert "PMC1/F1/p0" in dups and "PMC1/F1/p1" in dups and "phash" in dups
    kept = '<img class="dup" loading="lazy" src="/keythumb?stage=deduped&amp;key=PMC1/F1/p0"'
    removed = '<img class="dup" loading="lazy" src="/keythumb?stage=balanced&amp;key=PMC1/F1/p1"'
    assert kept in dups and removed in dups
    thumb = client.get("/keythumb", params={"stage": "balanced", "key": "PMC1/F1/p1"})
    assert Image.open(io.BytesIO(thumb.content)).size == (100, 120)
    assert client.get("/keythumb", params={"stage": "balanced", "key": "nope"}).status_code == 404
    assert "C0013687" in client.get("/balance").text


@pytest.mark.parametrize(
    "path",
    [
        "/raw/../../etc/passwd",
        "/raw/%2e%2e/%2e%2e/etc/passwd",
        "/raw/..%2f..%2fetc%2fpasswd",
        "/raw//etc/passwd",
        "/raw/tagged/../../../etc/passwd",
        "/raw/outside",
        "/thumb/tagged/7/0",
        "/thumb/tagged/0/99",
        "/thumb/..%2f..%2fetc/0/0",
        "/record?stage=../../etc&key=x",
        "/losses?stage=tagged&table=../../x&reason=y",
    ],
)
def test_paths_outside_the_run_are_404(client, run, path):
    outside = run.parent / "outside-secret"
    outside.write_text("secret")
    link = run / "outside"
    if not link.exists():
        link.symlink_to(outside)
    response = client.get(path)
    assert response.status_code == 404, path
    assert "root:" not in response.text and "secret" not in response.text


def test_files_under_the_run_are_served_and_nothing_is_written(client, run):
    before = {p: p.stat().st_mtime_ns for p in run.rglob("*")}
    assert client.get("/raw/tagged/stats.json").json()["in"] == 4
    for url in ("/", "/ledger", "/duplicates", "/balance", "/record?stage=tagged&key=PMC1/F1/p0"):
        assert client.get(url).status_code == 200
    assert {p: p.stat().st_mtime_ns for p in run.rglob("*")} == before


def test_a_remote_folder_is_read_through_fsspec(run):
    """memory:// stands in for gs:// and s3://: the same fsspec path DuckDB is given."""
    from starlette.testclient import TestClient

    from explorer.app import create_app

    memory = fsspec.filesystem("memory")
    for path in run.rglob("*"):
        if path.is_file() and not path.is_symlink():
            memory.pipe(f"/run19/{path.relative_to(run)}", path.read_bytes())
    remote = Explorer(OutFolder("memory://run19"))
    assert remote.out.protocol == "memory"
    assert [r["key"] for r in remote.grid(Filters(modality="radiology")).rows] == [
        "PMC1/F1/p0", "PMC1/F1/p1",
    ]  # fmt: skip
    client = TestClient(create_app("memory://run19"))
    assert client.get("/thumb/tagged/0/0").headers["content-type"] == "image/jpeg"
    assert client.get("/raw/../x").status_code == 404


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_cli_serves_over_http_on_localhost(run):
    port = free_port()
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    server = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "explore", str(run), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        assert server.stdout.readline().strip().endswith(f"http://127.0.0.1:{port}/")
        status = raw_get(port, "/", attempts=50)[0]
        assert status == 200
        # a raw request line, as a hostile client sends it (no client-side normalising)
        assert raw_get(port, "/raw/../../etc/passwd")[0] == 404
        assert raw_get(port, "/raw/%2e%2e/%2e%2e/etc/passwd")[0] == 404
    finally:
        server.terminate()
        server.wait(timeout=10)


def raw_get(port: int, path: str, attempts: int = 1) -> tuple[int, bytes]:
    for attempt in range(attempts):
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            connection.putrequest("GET", path, skip_host=False, skip_accept_encoding=True)
            connection.endheaders()
            response = connection.getresponse()
            return response.status, response.read()
        except ConnectionRefusedError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.2)
    raise AssertionError("unreachable")


def test_a_missing_folder_is_a_clear_error(tmp_path, capsys):
    from pipeline.cli import main

    assert main(["explore", str(tmp_path / "nope")]) == 2
    assert "no such output folder" in capsys.readouterr().err
