"""The chat end to end in headless Chromium: ask, stream, click a citation, upload, export, evaluate.

Runs the real app (real index copy, real local model) on a free loopback
port in this process, and Debian's Chromium through Playwright. Screenshots
go to tests/artifacts/ for a human to look at.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from rag import Assistant, Settings
from tests.home_copy import copy_home

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
WAIT_MS = 90_000

ZORBLAT = """date 2031-04-01

Zorblat cooperative opens a geothermal mine in Iceland (a fictional note written for the tests)

The Zorblat mining cooperative, an invented company used only in this test, moved its machines to Husavik in Iceland.
The Zorblat cooperative mines the imaginary mineral glimmerite with geothermal power from the Krafla field.
Members of the Zorblat cooperative vote once a year on where the glimmerite profits go.
"""


@pytest.fixture(scope="module")
def chat_url(built_home, tmp_path_factory):
    """The app on a free loopback port over a private copy of the built index."""
    from ui.app import launch

    home = tmp_path_factory.mktemp("ui-browser") / "home"
    copy_home(built_home, home)
    assistant = Assistant(Settings(home=home))
    assistant.generator  # noqa: B018 - load the model before the clock starts
    app, url = launch(assistant, port=0, block=False, quiet=True)
    yield url
    app.close()
    assistant.close()


@pytest.fixture(scope="module")
def page(chat_url):
    if not CHROMIUM.exists():
        pytest.fail("Chromium is missing: run `make browser` (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        context = browser.new_context(viewport={"width": 1440, "height": 1000}, accept_downloads=True)
        page = context.new_page()
        page.set_default_timeout(WAIT_MS)
        page.goto(chat_url)
        page.wait_for_selector("#rag-question textarea")
        yield page
        context.close()
        browser.close()


def ask(page, question: str) -> None:
    """Type a question, send it, and wait until the streamed answer is finished."""
    answers = page.locator("#rag-transcript .rag-bot")
    before = answers.count()
    page.fill("#rag-question textarea", question)
    page.click("#rag-ask")
    page.wait_for_function(
        """n => { const bots = document.querySelectorAll('#rag-transcript .rag-bot');
                  return bots.length > n && !bots[bots.length - 1].querySelector('.rag-streaming'); }""",
        arg=before)


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_chat_in_browser(page, tmp_path):
    # 1. a streamed answer with numbered citations
    ask(page, "Where are Chinese miners moving their machines?")
    last = page.locator("#rag-transcript .rag-bot").last
    assert last.locator("button.rag-cite").count() >= 1, last.inner_text()
    assert "Kazakhstan" in last.inner_text() or "Russia" in last.inner_text()
    assert page.locator("#rag-hits .rag-hit").count() >= 1  # the sources panel lists what was retrieved
    shot(page, "1-answer")

    # 2. clicking a citation shows the passage highlighted inside its article
    last.locator("button.rag-cite").first.click()
    mark = page.locator("#rag-passage mark")
    mark.wait_for()
    assert len(mark.inner_text().strip()) > 20
    assert page.locator("#rag-passage .rag-passage-title").inner_text().strip()
    assert re.search(r"\.txt", page.locator("#rag-passage .rag-file").inner_text())
    shot(page, "2-citation")

    # 3. a follow-up uses the conversation; an off-topic question is a calm refusal, not an error
    ask(page, "Who won the football world cup in 1966?")
    assert page.locator("#rag-transcript .rag-bot").last.locator(".rag-refusal").count() == 1
    assert page.locator("#rag-transcript .rag-error").count() == 0
    shot(page, "3-refusal")

    # 4. export the last answered question as a download
    page.locator("#rag-export-format label", has_text="json").click()
    page.click("#rag-export-all")
    link = page.locator("#rag-export-file a").first
    link.wait_for()
    with page.expect_download() as info:
        link.click()
    saved = tmp_path / info.value.suggested_filename
    info.value.save_as(saved)
    assert saved.suffix == ".json"
    assert "Kazakhstan" in saved.read_text(encoding="utf-8") or "Russia" in saved.read_text(encoding="utf-8")
    shot(page, "4-export")

    # 5. upload a new document in the Library tab; it is searchable at once
    note = tmp_path / "zorblat_note.txt"
    note.write_text(ZORBLAT, encoding="utf-8")
    page.get_by_role("tab", name="Library").click()
    page.locator("#rag-upload input[type=file]").set_input_files(str(note))
    page.locator("#rag-upload", has_text="zorblat_note").wait_for()
    page.click("#rag-add")
    page.locator("#rag-ingest-message", has_text="Added zorblat_note.txt").wait_for()
    page.locator("#rag-documents", has_text="Zorblat").wait_for()
    shot(page, "5-library")

    page.get_by_role("tab", name="Chat").click()
    ask(page, "What mineral does the Zorblat cooperative mine in Iceland?")
    last = page.locator("#rag-transcript .rag-bot").last
    assert "glimmerite" in last.inner_text(), last.inner_text()
    last.locator("button.rag-source", has_text="glimmerite").first.click()
    page.locator("#rag-passage .rag-passage-title", has_text="Zorblat").wait_for()
    assert "glimmerite" in page.locator("#rag-passage mark").inner_text()
    shot(page, "6-new-document")


def test_evaluate_tab(page, tmp_path):
    questions = tmp_path / "questions.jsonl"
    rows = [{"id": "z1", "question": "What mineral does the Zorblat cooperative mine?", "answerable": True,
             "must_include": [["glimmerite"]]},
            {"id": "z2", "question": "Who won the football world cup in 1966?", "answerable": False}]
    questions.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    page.get_by_role("tab", name="Evaluate").click()
    page.locator("#rag-eval-file input[type=file]").set_input_files(str(questions))
    page.locator("#rag-eval-file", has_text="questions.jsonl").wait_for()
    page.click("#rag-eval-run")
    page.locator("#rag-eval-message", has_text="Done").wait_for()
    link = page.locator("#rag-eval-files a[download='report.html']")
    with page.expect_download() as info:
        link.click()
    assert info.value.suggested_filename == "report.html"
    shot(page, "7-evaluate")
