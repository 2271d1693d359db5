"""The web chat in a real browser: `llmrec serve` (Chainlit) over the real agent (the default SmolLM2-135M, the real
Scientific catalog, real BM25 and embedded Qdrant), driven by Playwright through Debian's Chromium.

A request: tool calls and the streaming rationale show as Steps, then item cards with "That's wrong" buttons. A click
on one disputes that item: a revision note, and the item is gone from the new cards. Reopening `/?thread=<id>` shows
the conversation again. Screenshots go to reports/screenshots/; with LLMREC_UPDATE_DOCS_SCREENSHOT=1 the last one
also replaces docs/chainlit.png (the README's picture). About 1.5-3 minutes on 2 cores (a cold index build included).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.vllm_server import free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "reports" / "screenshots"
DOCS_SCREENSHOT = ROOT / "docs" / "chainlit.png"
# A cold start builds the Scientific indexes (4,385 items, about 40 s here), trains the sequential model (2 epochs
# under the tests' LLMREC_SEQREC_EPOCHS) and fits the prior on validation users before the first page can answer:
# about 4 minutes on 2 busy cores.
READY_S = 600
TURN_MS = 180_000
CHECKED = "Rationale checked against its links"


@pytest.fixture(scope="module")
def chromium() -> str:
    found = shutil.which("chromium")
    if found is None:  # under CI a failure (tests/ci_skips.py): .ci/system-deps.sh installs it
        pytest.skip("no Chromium: apt-get install chromium (or make system-deps) to run the browser test")
    return found


@pytest.fixture(scope="module")
def server(smollm2_dir: Path, session_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`llmrec serve` on a free port, its state in temporary folders, run from an empty folder that it must not
    litter; yields the base URL once the page answers; stops the whole process group afterwards."""
    work = tmp_path_factory.mktemp("web")
    cwd = work / "cwd"
    cwd.mkdir()
    env = {
        **os.environ,
        "LLMREC_DATA_DIR": str(session_data_dir),
        "LLMREC_CHECKPOINT_URL": str(work / "checkpoints.sqlite"),
        "CHAINLIT_APP_ROOT": str(work / "chainlit"),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }
    for name in ("LLMREC_UI_USERS", "LLMREC_UI_USERS_FILE", "CHAINLIT_AUTH_SECRET"):
        env.pop(name, None)
    port = free_port()
    log_path = work / "server.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ui.cli", "serve", "--headless", "--port", str(port)],
            cwd=cwd,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + READY_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"llmrec serve exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"llmrec serve did not answer in {READY_S} s:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.5)
        yield url
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=20)
    assert list(cwd.iterdir()) == [], "Chainlit wrote into the working directory"


@pytest.fixture
def page(chromium: str) -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the [dev] extra")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        try:
            yield browser.new_page(viewport={"width": 1280, "height": 1600})
        finally:
            browser.close()


def _shot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"chainlit-{name}.png"
    page.screenshot(path=str(path))
    return path


def _cards(page: Any) -> list[tuple[str, str]]:
    """(item id, title) of every item card on the page, oldest first."""
    cards = []
    for text in page.locator("[data-step-type=assistant_message]").all_inner_texts():
        found = re.match(r"\s*\d+\. (.+)\n\s*([A-Z0-9]{10})\b", text)
        if found:
            cards.append((found.group(2), found.group(1).strip()))
    return cards


def test_request_cards_and_a_dispute_by_button(server: str, page: Any) -> None:
    page.goto(server)
    page.get_by_text("New conversation").wait_for(timeout=READY_S * 1000)
    thread = re.search(r"thread=(web-[0-9a-f]{12})", page.content())
    assert thread, "the welcome message names the conversation's URL"

    page.fill("#chat-input", "I need a digital caliper for a beginner")
    page.keyboard.press("Enter")
    # The rationale Step appears with the first token, before the cards: it streams while it is written.
    page.locator("#step-Rationale").wait_for(timeout=TURN_MS)
    assert page.get_by_text(CHECKED).count() == 0
    page.locator("#step-search_catalog").first.wait_for()
    _shot(page, "1-streaming")

    page.get_by_text(CHECKED).wait_for(timeout=TURN_MS)
    first = _cards(page)
    assert len(first) == 3, first
    buttons = page.get_by_role("button", name="That's wrong")
    assert buttons.count() == len(first) + 1  # one per item and one on the rationale
    assert page.get_by_text(re.compile(r"grounding \d+%")).count() >= 1
    _shot(page, "2-answer")

    disputed_id, disputed_title = first[0]
    buttons.first.click()
    page.get_by_text(f"That's wrong: {disputed_title}").wait_for(timeout=30_000)
    page.get_by_text("Revised.").wait_for(timeout=TURN_MS)
    page.get_by_text(CHECKED).nth(1).wait_for(timeout=TURN_MS)
    revised = _cards(page)[len(first) :]
    assert revised and disputed_id not in [item_id for item_id, _ in revised]
    note = page.locator("[data-step-type=assistant_message]").filter(has_text="Revised.").inner_text()
    assert "rejected" in note or disputed_title[:20] in note, note
    page.get_by_text("Revised.").scroll_into_view_if_needed()
    final = _shot(page, "3-revised")
    if os.environ.get("LLMREC_UPDATE_DOCS_SCREENSHOT") == "1":
        DOCS_SCREENSHOT.parent.mkdir(exist_ok=True)
        shutil.copyfile(final, DOCS_SCREENSHOT)

    # A reload of the conversation's URL shows it again, from the checkpointer.
    page.goto(f"{server}?thread={thread.group(1)}")
    page.get_by_text(f"Reopened conversation {thread.group(1)}").wait_for(timeout=60_000)
    assert page.get_by_text("I need a digital caliper for a beginner").count() >= 1
    _shot(page, "4-reopened")
