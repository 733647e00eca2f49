"""Saved conversations, document scope, safe removal, live library, phone layout and Stop, in Chromium.

The app runs in this process on a copy of the built index, with the quotes-only
backend (fast and deterministic) except for Stop, which needs a model to stop; the
conversations test hands the home to a real `rag serve` process and kills it (SIGKILL).
Each test says what it measures; screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from rag import Assistant, Settings
from tests.test_ui_browser import ARGS, ARTIFACTS, CHROMIUM, ZORBLAT
from tests.home_copy import copy_home

pytestmark = [pytest.mark.browser, pytest.mark.timeout(900)]
WAIT_MS = 60_000
Q_MOVE = "Where are Chinese miners moving their machines?"
Q_MONGOLIA = "What did Inner Mongolia do about mining?"
SCOPE_DOC = "004_47c41b848a0edef2.txt"
ROOT = Path(__file__).resolve().parents[1]


class Server:
    """The chat over one home folder, in this process; ``stop`` and ``start`` hand the home to another server."""

    def __init__(self, home: Path, generator: str = "none"):
        self.home, self.generator = home, generator
        self.app = self.assistant = None
        self.url = ""
        self.start()

    def start(self) -> None:
        from ui.app import launch

        self.assistant = Assistant(Settings(home=self.home, generator=self.generator))
        self.app, self.url = launch(self.assistant, port=0, block=False, quiet=True)

    def stop(self) -> None:
        self.app.close()
        self.assistant.close()


@pytest.fixture(scope="module")
def server(built_home, tmp_path_factory):
    home = tmp_path_factory.mktemp("ui-chat") / "home"
    copy_home(built_home, home)
    server = Server(home)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.fail("Chromium is missing: run `make browser` (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


def open_page(browser, url: str, width: int = 1440, height: int = 1000):
    page = browser.new_page(viewport={"width": width, "height": height})
    page.set_default_timeout(WAIT_MS)
    page.goto(url)
    page.wait_for_selector("#rag-question textarea")
    page.locator("#rag-conv-list input[type=radio]").first.wait_for()  # the page load filled the sidebar
    return page


def ask(page, question: str) -> None:
    answers = page.locator("#rag-transcript .rag-bot")
    before = answers.count()
    page.fill("#rag-question textarea", question)
    page.click("#rag-ask")
    page.wait_for_function(
        """n => { const bots = document.querySelectorAll('#rag-transcript .rag-bot');
                  return bots.length > n && !bots[bots.length - 1].querySelector('.rag-streaming'); }""",
        arg=before)


def conversation_titles(page) -> list[str]:
    return [t.strip() for t in page.locator("#rag-conv-list label").all_inner_texts()]


def open_tab(page, name: str) -> None:
    """Click a tab, through the overflow menu ("...") a narrow screen puts the last tabs in."""
    tab = page.get_by_role("tab", name=name)
    if not tab.is_visible():
        page.locator(".overflow-menu > button").first.click()
        tab = page.locator(".overflow-dropdown button", has_text=name).first
    tab.click()


def assert_answer_kept(page) -> None:
    """The saved answer came back whole: its text and its citation buttons, not just the question."""
    bot = page.locator("#rag-transcript .rag-bot").first
    bot.wait_for()
    assert "Kazakhstan" in bot.inner_text() and bot.locator("button.rag-cite").count() >= 1, bot.inner_text()


def cited_files(page) -> set[str]:
    text = " ".join(page.locator("#rag-transcript .rag-bot").last.locator(".rag-source-where").all_inner_texts())
    return set(re.findall(r"[\w.-]+\.txt", text))


def test_conversations_survive_reload_and_a_new_server_process_and_can_be_renamed_switched_deleted(browser, server):
    page = open_page(browser, server.url)
    ask(page, Q_MOVE)
    assert "Kazakhstan" in page.locator("#rag-transcript").inner_text()
    page.locator("#rag-conv-list label", has_text=Q_MOVE).wait_for()

    page.reload()  # measured: the conversation, answer and citations included, is still there after a reload
    page.locator("#rag-transcript .rag-user", has_text=Q_MOVE).wait_for()
    assert_answer_kept(page)

    page.click("#rag-new-conv")  # a second conversation, then switch back to the first
    page.locator("#rag-transcript .rag-empty").wait_for()
    ask(page, Q_MONGOLIA)
    page.locator("#rag-conv-list label", has_text=Q_MONGOLIA).wait_for()
    page.locator("#rag-conv-list label", has_text=Q_MOVE).click()
    page.locator("#rag-transcript .rag-user", has_text=Q_MOVE).wait_for()
    assert Q_MONGOLIA not in page.locator("#rag-transcript").inner_text()

    page.locator("#rag-conv-manage").get_by_text("Rename or delete").click()
    title_box = page.locator("#rag-rename-text textarea, #rag-rename-text input").first
    title_box.wait_for()
    page.wait_for_timeout(500)  # the accordion renders its contents (and their values) as it opens
    title_box.fill("Where the machines go")
    assert title_box.input_value() == "Where the machines go"
    page.click("#rag-rename")
    page.locator("#rag-conv-list label", has_text="Where the machines go").wait_for()
    page.close()

    server.stop()  # measured: a new `rag serve` process shows both conversations, with the new title
    try:
        with served_process(server.home) as url:
            page = open_page(browser, url)
            page.locator("#rag-conv-list label", has_text="Where the machines go").wait_for()
            assert len(conversation_titles(page)) == 2, conversation_titles(page)
            page.locator("#rag-transcript .rag-user", has_text=Q_MOVE).wait_for()  # the most recently used one is open
            assert_answer_kept(page)
            page.screenshot(path=str(ARTIFACTS / "c1-conversations.png"), full_page=True)

            page.locator("#rag-conv-manage").get_by_text("Rename or delete").click()
            page.click("#rag-delete-conv")
            page.click("#rag-delete-conv-yes")
            page.wait_for_function("() => document.querySelectorAll('#rag-conv-list label').length === 1")
            assert not any("machines go" in t for t in conversation_titles(page))
            page.close()
    finally:  # that process was killed (SIGKILL, no shutdown): the deletion must have been on disk already
        server.start()
    page = open_page(browser, server.url)
    page.locator("#rag-conv-list label").first.wait_for()
    assert len(conversation_titles(page)) == 1 and not any("machines go" in t for t in conversation_titles(page))
    page.close()


@contextmanager
def served_process(home: Path) -> Iterator[str]:
    """`rag serve` over ``home`` in its own process (quotes only); killed with SIGKILL on exit."""
    from ui.app import free_port

    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "rag", "serve", "--home", str(home), "--generator", "none", "--port", str(port)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        started, seen = time.monotonic(), []
        for line in process.stdout:  # "Chat running at URL" once it listens
            seen.append(line)
            if "Chat running at" in line or time.monotonic() - started > 120:
                break
        assert any("Chat running at" in line for line in seen), "".join(seen)[-2000:]
        yield f"http://127.0.0.1:{port}/"
    finally:
        process.kill()
        process.wait(30)


def test_document_scope_changes_the_citations(browser, server):
    page = open_page(browser, server.url)
    page.click("#rag-new-conv")
    page.locator("#rag-transcript .rag-empty").wait_for()
    ask(page, Q_MOVE)
    everywhere = cited_files(page)
    assert everywhere and everywhere != {SCOPE_DOC}

    page.click("#rag-new-conv")
    page.locator("#rag-transcript .rag-empty").wait_for()
    page.locator("#rag-scope-box").get_by_text("Documents to search").click()
    page.locator("#rag-scope label", has_text=SCOPE_DOC).click()
    ask(page, Q_MOVE)
    assert cited_files(page) == {SCOPE_DOC}  # measured: every citation comes from the chosen document
    hits = page.locator("#rag-hits .rag-hit-where").all_inner_texts()
    assert hits and all(SCOPE_DOC in h for h in hits)

    page.reload()  # the scope is kept with the conversation
    page.locator("#rag-transcript .rag-user", has_text=Q_MOVE).wait_for()
    page.locator("#rag-scope-box").get_by_text("Documents to search").click()
    assert page.locator("#rag-scope label", has_text=SCOPE_DOC).locator("input").is_checked()
    page.close()


def test_removal_asks_first_goes_to_trash_and_restores_and_other_tabs_see_uploads(browser, server, tmp_path):
    library = server.assistant.index.library()
    first = open_page(browser, server.url)
    second = open_page(browser, server.url)  # opened before the upload

    note = tmp_path / "zorblat_note.txt"
    note.write_text(ZORBLAT, encoding="utf-8")
    first.get_by_role("tab", name="Library").click()
    assert first.locator("#rag-remove-choice input").input_value() == ""  # nothing preselected
    first.locator("#rag-upload input[type=file]").set_input_files(str(note))
    first.locator("#rag-upload", has_text="zorblat_note").wait_for()
    first.click("#rag-add")
    first.locator("#rag-ingest-message", has_text="Added zorblat_note.txt").wait_for()

    second.get_by_role("tab", name="Library").click()  # measured: the other tab sees the upload
    second.locator("#rag-documents", has_text="Zorblat").wait_for()
    choice = second.locator("#rag-remove-choice input")
    choice.fill("zorblat_note.txt")
    choice.press("Enter")
    second.click("#rag-remove")
    question = second.locator("#rag-remove-question")
    question.get_by_text("zorblat_note.txt").wait_for()  # the confirmation names the document
    assert "Zorblat cooperative" in question.inner_text()
    assert (library / "zorblat_note.txt").exists()  # asking changed nothing
    second.screenshot(path=str(ARTIFACTS / "c3-remove-confirm.png"), full_page=True)
    second.click("#rag-remove-confirm")
    second.locator("#rag-ingest-message", has_text="Moved zorblat_note.txt to the trash.").wait_for()
    assert not (library / "zorblat_note.txt").exists()
    assert "Zorblat" not in second.locator("#rag-documents").inner_text()

    restore = second.locator("#rag-restore-choice input")
    restore.fill("zorblat_note.txt")
    restore.press("Enter")
    second.click("#rag-restore")
    second.locator("#rag-ingest-message", has_text="Restored zorblat_note.txt").wait_for()
    second.locator("#rag-documents", has_text="Zorblat").wait_for()
    assert (library / "zorblat_note.txt").read_text(encoding="utf-8") == ZORBLAT
    first.close()
    second.close()


def test_phone_has_no_horizontal_scroll_after_three_answers(browser, server):
    page = open_page(browser, server.url, width=390, height=844)
    page.click("#rag-new-conv")
    page.locator("#rag-transcript .rag-empty").wait_for()
    widths = []
    for question in (Q_MOVE, Q_MONGOLIA, "Why did the government crack down on bitcoin mining?"):
        ask(page, question)
        widths.append(page.evaluate("document.documentElement.scrollWidth"))
    assert max(widths) <= 390, widths
    page.locator("#rag-transcript .rag-bot button.rag-cite").first.click()
    page.locator("#rag-passage mark").wait_for()
    width = page.evaluate("document.documentElement.scrollWidth")
    page.screenshot(path=str(ARTIFACTS / "c4-phone.png"), full_page=True)
    assert width <= 390, width

    # a question that is one unbroken 300-character word, as a bubble and as a sidebar title, with the
    # chat's accordions open; then every other tab
    ask(page, "Where did " + "Zorblatmining" * 23 + " go?")
    for accordion, title in (("#rag-settings", "Settings"), ("#rag-scope-box", "Documents to search"),
                             ("#rag-conv-manage", "Rename or delete")):
        page.locator(accordion).get_by_text(title).first.click()
    page.wait_for_timeout(300)
    widths = {"chat": page.evaluate("document.documentElement.scrollWidth")}
    for tab in ("Check a text", "Library", "Evaluate"):
        open_tab(page, tab)
        page.wait_for_timeout(500)
        widths[tab] = page.evaluate("document.documentElement.scrollWidth")
    page.screenshot(path=str(ARTIFACTS / "c5-phone-library.png"), full_page=True)
    assert max(widths.values()) <= 390, widths
    page.close()


def test_stop_cancels_an_answer(browser, built_home, tmp_path):
    home = tmp_path / "home"
    copy_home(built_home, home)
    server = Server(home, generator="llama")
    try:
        server.assistant.generator  # noqa: B018 - loaded before the clock starts
        page = open_page(browser, server.url)
        page.fill("#rag-question textarea", Q_MOVE)
        page.click("#rag-ask")
        page.locator("#rag-transcript .rag-streaming").wait_for()  # the answer is under way
        page.click("#rag-stop")
        page.locator("#rag-transcript .rag-error", has_text="Stopped").wait_for()
        page.wait_for_timeout(1500)  # a cancelled answer must not arrive later
        assert page.locator("#rag-transcript .rag-bot button.rag-cite").count() == 0
        # and the chat goes on (a question refused before any generation, so a busy machine cannot time it out)
        ask(page, "Who won the football world cup in 1966?")
        assert page.locator("#rag-transcript .rag-bot").last.locator(".rag-refusal").count() == 1
        page.close()
    finally:
        server.stop()


# From inside a logged-in page: find the handler behind a button by its elem_id, join the queue with it
# (the browser adds the session cookie), and return the raw event stream it answers with.
RAW_REMOVE_JS = """async ({elem, doc}) => {
  const config = await (await fetch('config')).json();
  const button = config.components.find((c) => c.props && c.props.elem_id === elem).id;
  const fn = config.dependencies.find((d) => d.targets.some((t) => t[0] === button && t[1] === 'click')).id;
  const session = Math.random().toString(36).slice(2);
  const join = await fetch('gradio_api/queue/join', {method: 'POST', headers: {'Content-Type': 'application/json'},
    body: JSON.stringify({data: [doc], fn_index: fn, session_hash: session, event_data: null, trigger_id: null})});
  if (!join.ok) return `refused with HTTP ${join.status}`;
  return await (await fetch(`gradio_api/queue/data?session_hash=${session}`)).text();
}"""


def test_reader_page_has_no_library_controls_and_admin_page_has(browser, built_home, tmp_path):
    from rag.core.auth import Users
    from ui.app import launch

    home = tmp_path / "home"
    copy_home(built_home, home)
    assistant = Assistant(Settings(home=home, generator="none"))
    app, url = launch(assistant, port=0, block=False, users=Users.parse("ann:admin-pw:admin\nbob:reader-pw:reader"))
    try:
        seen = {}
        for user, password in (("bob", "reader-pw"), ("ann", "admin-pw")):
            page = browser.new_page()
            page.set_default_timeout(WAIT_MS)
            page.goto(url)
            page.fill("input[type=text]", user)
            page.fill("input[type=password]", password)
            page.get_by_role("button", name="Login").click()
            page.locator("#rag-conv-list input[type=radio]").first.wait_for()
            page.get_by_role("tab", name="Library").click()
            page.locator("#rag-documents table").wait_for()
            if user == "ann":
                page.locator("#rag-upload").wait_for()
            else:
                page.locator("#rag-reader-note").get_by_text("only an admin").wait_for()
            seen[user] = {elem: page.locator(f"#{elem}").is_visible()
                          for elem in ("rag-upload", "rag-remove", "rag-restore")}
            if user == "bob":  # the reader's own session, its cookie, sends what the hidden button would
                reply = page.evaluate(RAW_REMOVE_JS, {"elem": "rag-remove-confirm", "doc": SCOPE_DOC})
                assert "Only an admin can change the library." in reply, reply[-500:]
                assert (assistant.index.library() / SCOPE_DOC).exists() and assistant.trash() == []
                assert SCOPE_DOC in {d["doc_id"] for d in assistant.documents()}
            page.screenshot(path=str(ARTIFACTS / f"c6-{user}-library.png"), full_page=True)
            page.close()
        assert seen == {"bob": dict.fromkeys(seen["bob"], False), "ann": dict.fromkeys(seen["ann"], True)}
    finally:
        app.close()
        assistant.close()
