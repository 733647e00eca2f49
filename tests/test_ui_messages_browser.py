"""What a new user sees in Chromium (issue 29): the cited passage on a phone, and a message for every mishap.

One server for the module (quotes only), shared with the chat browser tests' fixtures.
Each test reproduces one report of the issue: a phone tap on [1] that showed nothing,
an empty question with no feedback, markup taken for search terms, a refusal under a
document scope that did not say the search was limited, and an Evaluate tab that hid
skipped lines, showed a codec error and a server path, and kept its plots in the download.
"""

from __future__ import annotations

import json

import pytest

from tests.test_ui_browser import ARTIFACTS
from tests.test_ui_chat_browser import (  # noqa: F401 - browser and server are the shared fixtures
    Q_MOVE, SCOPE_DOC, WAIT_MS, ask, browser, open_page, open_tab, server)
from ui.chat import EMPTY_QUESTION

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]
PHONE = {"width": 390, "height": 844}


def test_a_phone_tap_on_a_citation_shows_the_passage_on_screen(browser, server):
    page = browser.new_page(viewport=PHONE, has_touch=True, is_mobile=True)
    page.set_default_timeout(WAIT_MS)
    page.goto(server.url)
    page.locator("#rag-conv-list input[type=radio]").first.wait_for()
    page.click("#rag-new-conv")
    page.locator("#rag-transcript .rag-empty").wait_for()
    ask(page, Q_MOVE)
    cite = page.locator("#rag-transcript .rag-bot button.rag-cite").first
    cite.scroll_into_view_if_needed()
    cite.tap()
    mark = page.locator("#rag-passage mark")
    mark.wait_for()
    page.wait_for_timeout(300)  # the passage panel's script runs once its new value is drawn
    box = mark.bounding_box()
    page.screenshot(path=str(ARTIFACTS / "m1-phone-citation.png"))
    assert box is not None and 0 <= box["y"] and box["y"] + box["height"] <= PHONE["height"], box
    article = page.locator("#rag-passage .rag-article").bounding_box()  # and not cut off by the article's own scroll
    assert article["y"] <= box["y"] and box["y"] + box["height"] <= article["y"] + article["height"], (box, article)
    page.close()


def test_chat_messages_empty_question_markup_and_a_limited_search(browser, server):
    page = open_page(browser, server.url)
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.click("#rag-new-conv")
    page.locator("#rag-transcript .rag-empty").wait_for()

    page.fill("#rag-question textarea", "   ")
    page.click("#rag-ask")
    page.get_by_text(EMPTY_QUESTION).first.wait_for()  # measured: the empty question is answered with what to do
    assert page.locator("#rag-transcript .rag-user").count() == 0

    markup = "<script>alert(1)</script> Why are miners leaving China?"
    ask(page, markup)  # the tags are text to show, not terms to look for
    last = page.locator("#rag-transcript .rag-bot").last
    assert last.locator(".rag-refusal").count() == 0 and last.locator("button.rag-cite").count() >= 1, last.inner_text()
    assert markup in page.locator("#rag-transcript .rag-user").last.inner_text() and dialogs == []

    page.click("#rag-new-conv")
    page.locator("#rag-transcript .rag-empty").wait_for()
    page.locator("#rag-scope-box").get_by_text("Documents to search").click()
    page.locator("#rag-scope label", has_text=SCOPE_DOC).click()
    ask(page, "Where are miners moving to Russia?")  # answered from the whole library; not in the ticked document
    refusal = page.locator("#rag-transcript .rag-bot").last.locator(".rag-refusal")
    assert "only the document ticked under Documents to search was searched" in refusal.inner_text(), \
        refusal.inner_text()
    page.close()


def test_evaluate_lists_skipped_lines_shows_plots_and_refuses_a_binary_file(browser, server, tmp_path):
    questions = tmp_path / "questions.jsonl"
    questions.write_text(json.dumps({"id": "z1", "question": Q_MOVE}) + "\n"
                         + '{"id": "z2", "question": \n'
                         + json.dumps({"id": "z3", "answerable": False}) + "\n", encoding="utf-8")
    binary = tmp_path / "photo.csv"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xdb\xff" * 50)
    page = open_page(browser, server.url)
    open_tab(page, "Evaluate")
    page.locator("#rag-eval-file input[type=file]").set_input_files(str(questions))
    page.locator("#rag-eval-file", has_text="questions.jsonl").wait_for()
    page.click("#rag-eval-run")
    note = page.locator("#rag-eval-message")
    note.get_by_text("Done: 1 question of questions.jsonl").wait_for()
    text = note.inner_text()
    assert "Skipped 2 lines" in text and "Line 2: not valid JSON" in text and "Line 3: missing question" in text
    assert page.locator("#rag-eval-metrics .rag-eval-plots svg").count() == 3  # the plots, in the page
    page.screenshot(path=str(ARTIFACTS / "m2-evaluate.png"), full_page=True)
    assert str(tmp_path) not in text and "/tmp" not in page.locator("#rag-eval-metrics").inner_text()

    page.locator("#rag-eval-file button[aria-label='Clear']").first.click()
    page.locator("#rag-eval-file input[type=file]").set_input_files(str(binary))
    page.locator("#rag-eval-file", has_text="photo.csv").wait_for()
    page.click("#rag-eval-run")
    note.get_by_text("photo.csv is not a text file").wait_for()
    assert "codec" not in note.inner_text() and len(note.inner_text().splitlines()) == 1
    page.close()
