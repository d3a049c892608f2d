"""The explorer in a real browser: Debian's chromium driven by Playwright, against the real
server (`python -m pipeline explore`) on the demo output and on a planted hostile folder.

Without chromium or Playwright the tests skip with the reason, except under CI=true.
EXPLORER_DEMO_OUT=out/demo reuses a `make demo` output instead of running the chain here;
EXPLORER_SCREENSHOTS=docs writes the README's screenshots there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from explorer_run import make_run
from test_explorer import free_port, raw_get

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def browser_missing() -> str | None:
    if not shutil.which(CHROMIUM):
        return f"{CHROMIUM} not installed (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright not installed (pip install -e '.[dev]')"
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    reason = browser_missing()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but the browser tests cannot run: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


def serve(out: Path) -> Iterator[str]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "explore", str(out), "--port", str(port)],
        stdout=subprocess.PIPE,
        env=os.environ | {"PYTHONPATH": str(ROOT)},
        text=True,
    )
    try:
        server.stdout.readline()
        raw_get(port, "/static/explorer.css", attempts=100)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture(scope="module")
def demo_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if os.environ.get("EXPLORER_DEMO_OUT"):
        return Path(os.environ["EXPLORER_DEMO_OUT"])
    from demo.writer import generate
    from pipeline.cli import main

    root = tmp_path_factory.mktemp("explore-demo")
    generate(root / "corpus", seed=0)
    assert main(["all", "--input", str(root / "corpus"), "--output", str(root / "out")]) == 0
    return root / "out"


@pytest.fixture(scope="module")
def demo_url(demo_out: Path) -> Iterator[str]:
    yield from serve(demo_out)


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield context.new_page()
    context.close()


def shoot(page, name: str) -> None:
    folder = os.environ.get("EXPLORER_SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / f"explorer-{name}.png"), full_page=False)


def wait_until(condition, seconds: float = 15.0) -> None:
    """Poll from Python: the page's CSP forbids the eval that wait_for_function uses."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def loaded_images(page, selector: str) -> int:
    return page.eval_on_selector_all(
        selector, "imgs => imgs.filter(i => i.complete && i.naturalWidth > 0).length"
    )


@pytest.mark.beam
def test_grid_shows_thumbnails_and_a_modality_filter_narrows_it(page, demo_url):
    page.goto(demo_url + "/")
    total = int(page.inner_text("#total"))
    tiles = page.locator("#grid img")
    assert tiles.count() == min(total, 48) > 0
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")  # lazy tiles load too
    wait_until(lambda: loaded_images(page, "#grid img") == tiles.count())
    page.evaluate("window.scrollTo(0, 0)")
    shoot(page, "grid")
    wait_until(lambda: page.reload() and page.locator("select[name=modality]").count() == 1)
    page.select_option("select[name=modality]", "radiology/ct")  # the script submits it
    page.wait_for_url("**modality=radiology%2Fct**")
    narrowed = int(page.inner_text("#total"))
    assert 0 < narrowed < total and page.locator("#grid img").count() == narrowed


@pytest.mark.beam
def test_record_page_draws_bboxes_and_highlights_concepts(page, demo_url, demo_out):
    shards = sorted((demo_out / "panels").glob("data-*.parquet"))
    panels = pq.read_table(shards, columns=["key", "parent_key"]).to_pylist()
    parents = [p["parent_key"] for p in panels]
    compound = next(p for p in panels if parents.count(p["parent_key"]) >= 3)
    page.goto(f"{demo_url}/record?stage=tagged&key={compound['key']}")
    wait_until(lambda: loaded_images(page, "#parent-image") == 1)
    boxes = page.locator("#bboxes rect")
    assert boxes.count() == parents.count(compound["parent_key"])
    for i in range(boxes.count()):
        box = boxes.nth(i).bounding_box()
        assert box and box["width"] > 10 and box["height"] > 10
    assert page.locator("#bboxes .bbox.current").count() == 1
    concepts = page.locator("#caption mark.concept")
    assert concepts.count() > 0
    colour = concepts.first.evaluate("m => getComputedStyle(m).backgroundColor")
    assert colour not in ("rgba(0, 0, 0, 0)", "transparent")
    shoot(page, "record")


@pytest.mark.beam
def test_ledger_drop_reason_lists_the_dropped_records(page, demo_url, demo_out):
    expected = pq.read_table(
        next((demo_out / "figures").glob("dropped-*.parquet")), columns=["key", "reason"]
    ).to_pylist()
    page.goto(demo_url + "/ledger")
    shoot(page, "ledger")
    reason = expected[0]["reason"]
    page.click(f"#stage-figures a.reason:text-is('{reason}')")
    page.wait_for_url("**/losses?**")
    listed = page.inner_text("#losses")
    assert all(row["key"] in listed for row in expected if row["reason"] == reason)


@pytest.fixture(scope="module")
def hostile_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from serve(make_run(tmp_path_factory.mktemp("explore-hostile") / "out"))


def test_a_planted_script_caption_does_not_run(page, hostile_url):
    for url in ("/?text=script", "/record?stage=tagged&key=PMC2/F1/p0"):
        page.goto(hostile_url + url)
        assert page.evaluate("window.__pwned === undefined"), url
        assert "<script>window.__pwned = 1</script>" in page.inner_text("main"), url


def test_a_traversal_path_is_404(page, hostile_url):
    for path in ("/raw/%2e%2e/%2e%2e/etc/passwd", "/raw/..%2f..%2fetc%2fpasswd"):
        response = page.request.get(hostile_url + path)
        assert response.status == 404 and "root:" not in response.text(), path
    response = page.goto(hostile_url + "/raw/../../etc/passwd")  # the browser folds the dots
    assert response.status == 404
