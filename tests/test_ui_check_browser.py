"""Check a text, quotes before the answer, and Stop that ends the model's generation, in Chromium.

The Check tab runs on the quotes-only backend (the check needs no model). The
answer tests use a real OpenAI-compatible HTTP server that streams its reply
slowly (tests/model_server.py), so "quotes come first" and "Stop stops the
generation" are measured on the wire: when the first quote showed, when the
answer finished, and how many tokens the server could still send after Stop.
"""

from __future__ import annotations

import json
import re
import time

import pytest

from rag import Assistant, Settings
from rag.assistant.check import check_text
from tests.model_server import ModelServer
from tests.test_ui_browser import ARTIFACTS
from tests.test_ui_chat_browser import Q_MOVE, Server, ask, browser, open_page  # noqa: F401 - browser is a fixture
from tests.home_copy import copy_home

pytestmark = [pytest.mark.browser, pytest.mark.timeout(900)]

SUPPORTED = "Canaan is going to open its first after-sales service centre abroad in Kazakhstan."
ALTERED = "Guangzhou Customs says 30,000 kilograms of mining machines are being cleared for shipment overseas."
SUPPORTED_DOC, ALTERED_DOC = "003_dba489deda596f31.txt", "004_47c41b848a0edef2.txt"


@pytest.fixture(scope="module")
def check_server(built_home, tmp_path_factory):
    home = tmp_path_factory.mktemp("ui-check") / "home"
    copy_home(built_home, home)
    server = Server(home)
    check_text(server.assistant, SUPPORTED)  # load the verifier's encoders before the clock starts
    yield server
    server.stop()


def open_check_tab(browser, url: str):  # noqa: F811 - the fixture's value
    page = open_page(browser, url)
    page.get_by_role("tab", name="Check a text").click()
    page.locator("#rag-check-text textarea").wait_for()
    return page


def test_check_a_text_shows_verdicts_with_exact_quotes_and_exports(browser, check_server, tmp_path):  # noqa: F811
    page = open_check_tab(browser, check_server.url)
    page.fill("#rag-check-text textarea", f"{SUPPORTED} {ALTERED}")
    page.click("#rag-check-run")
    page.locator("#rag-check-message", has_text="2 sentences").wait_for()
    items = page.locator("#rag-check-results .rag-check-item")
    assert [items.nth(i).get_attribute("data-verdict") for i in range(items.count())] == ["supported", "contradicted"]
    assert "3,000 kilograms" in items.nth(1).locator(".rag-check-reason").inner_text()
    for item, doc_id in ((items.nth(0), SUPPORTED_DOC), (items.nth(1), ALTERED_DOC)):
        where = item.locator(".rag-source-where").first.inner_text()
        assert doc_id in where, where
        start, end = (int(x) for x in where.rsplit("[", 1)[1].rstrip("]").split(":"))
        shown = item.locator(".rag-check-quote").first.inner_text()
        # measured: the quote on the page is the document's text at the cited span
        assert " ".join(shown.split()) == " ".join(check_server.assistant.document(doc_id).text[start:end].split())
    items.nth(1).locator(".rag-check-open").first.click()  # the cited sentence, highlighted in its article
    mark = page.locator("#rag-check-passage mark")
    mark.wait_for()
    assert "3,000 kilograms" in mark.inner_text() and ALTERED_DOC in page.locator("#rag-check-passage").inner_text()
    page.screenshot(path=str(ARTIFACTS / "k1-check.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})  # on a phone: the verdicts fit, no sideways scroll
    page.wait_for_timeout(300)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(ARTIFACTS / "k2-check-phone.png"), full_page=True)
    page.set_viewport_size({"width": 1440, "height": 1000})

    for fmt in ("json", "md"):
        page.locator("#rag-check-format label", has_text=fmt).click()
        page.click("#rag-check-export")
        page.locator("#rag-check-message", has_text=f"Exported the check as {fmt.upper()}").wait_for()
        link = page.locator("#rag-check-file a").first
        with page.expect_download() as info:
            link.click()
        saved = tmp_path / info.value.suggested_filename
        info.value.save_as(saved)
        text = saved.read_text(encoding="utf-8")
        assert saved.suffix == f".{fmt}" and str(check_server.home) not in text  # no server paths
        if fmt == "json":
            record = json.loads(text)
            assert record["library"] == "library"  # every doc_id is relative to it
            assert [r["verdict"] for r in record["results"]] == ["supported", "contradicted"]
            assert record["results"][1]["citations"][0]["doc_id"] == ALTERED_DOC
        else:
            assert "**supported**" in text and "**contradicted**" in text and f"`{SUPPORTED_DOC}`" in text

    page.fill("#rag-check-text textarea", "x" * 20_001)  # past the limit: one line, nothing run
    page.click("#rag-check-run")
    page.locator("#rag-check-message", has_text="too long to check").wait_for()
    assert "20,001 characters" in page.locator("#rag-check-message").inner_text()
    assert page.locator("#rag-check-results .rag-check-item").count() == 2  # the last result stays
    page.close()


def test_one_check_at_a_time_and_stop_ends_it(browser, check_server):  # noqa: F811
    first = open_check_tab(browser, check_server.url)
    second = open_check_tab(browser, check_server.url)
    first.fill("#rag-check-text textarea", " ".join([SUPPORTED, ALTERED] * 10))
    first.click("#rag-check-run")
    first.locator("#rag-check-message", has_text="Check").wait_for()  # "Checking…" or "Checked n sentences…"
    second.fill("#rag-check-text textarea", SUPPORTED)
    second.click("#rag-check-run")
    second.locator("#rag-check-message", has_text="Another text is being checked").wait_for()
    first.locator("#rag-check-results .rag-check-item").first.wait_for()
    first.click("#rag-check-stop")
    first.locator("#rag-check-message", has_text="Stopped").wait_for()
    # the slot is free again at once: the second page's check runs now
    second.click("#rag-check-run")
    second.locator("#rag-check-message", has_text="1 sentence: 1 supported").wait_for()
    assert first.locator("#rag-check-results .rag-check-item").count() < 20
    first.close()
    second.close()


# -- quotes first, and Stop, against a slow model server --------------------------------------


@pytest.fixture(scope="module")
def slow_model():
    server = ModelServer(["slow"], reply="Kazakhstan.")
    yield server
    server.close()


@pytest.fixture(scope="module")
def slow_chat(built_home, tmp_path_factory, slow_model):
    from ui.app import launch

    home = tmp_path_factory.mktemp("ui-slow") / "home"
    copy_home(built_home, home)
    settings = Settings(home=home, generator="openai", base_url=slow_model.url, model="slow", translate=False)
    assistant = Assistant(settings)
    assistant.search("warm up")
    app, url = launch(assistant, port=0, block=False, quiet=True)
    yield url
    app.close()
    assistant.close()


TIMES_JS = """() => {
  window.ragTimes = {start: performance.now()};
  new MutationObserver(() => {
    const t = window.ragTimes, now = performance.now();
    if (!t.quote && document.querySelector('#rag-transcript .rag-early-quote')) t.quote = now;
    const bots = document.querySelectorAll('#rag-transcript .rag-bot');
    if (!t.done && bots.length && bots[bots.length - 1].querySelector('.rag-cite[data-turn]')) t.done = now;
  }).observe(document.querySelector('#rag-transcript'), {subtree: true, childList: true, characterData: true});
}"""


def test_quotes_show_before_the_answer_is_written(browser, slow_chat, slow_model):  # noqa: F811
    slow_model.delay = 0.08  # 48 tokens: about 4 s of writing after the evidence is known
    page = open_page(browser, slow_chat)
    page.evaluate(TIMES_JS)
    ask(page, Q_MOVE)
    times = page.evaluate("window.ragTimes")
    assert "quote" in times and "done" in times, times
    early = times["quote"] - times["start"]
    print(f"first quote after {early:.0f} ms, answer finished after {times['done'] - times['start']:.0f} ms")
    assert times["done"] - times["quote"] > 2000  # measured: the quotes were on screen while the model wrote
    assert slow_model.finished >= 1  # the model really wrote the answer (it was not skipped)
    final = page.locator("#rag-transcript .rag-bot").last
    assert final.locator("button.rag-cite").count() >= 1 and final.locator(".rag-early").count() == 0
    page.screenshot(path=str(ARTIFACTS / "k3-quotes-first.png"), full_page=True)
    page.close()


def test_stop_ends_a_long_generation(browser, slow_chat, slow_model):  # noqa: F811
    slow_model.delay = 0.25  # 48 tokens: 12 s if nobody stops it
    hung_up, finished = slow_model.hung_up, slow_model.finished
    page = open_page(browser, slow_chat)
    page.click("#rag-new-conv")
    page.locator("#rag-transcript .rag-empty").wait_for()
    page.fill("#rag-question textarea", Q_MOVE)
    page.click("#rag-ask")
    page.locator("#rag-transcript .rag-early-quote").first.wait_for()
    started = slow_model.sent
    deadline = time.monotonic() + 30
    while slow_model.sent < started + 2 and time.monotonic() < deadline:  # the model is writing
        time.sleep(0.05)
    page.click("#rag-stop")
    page.locator("#rag-transcript .rag-error", has_text="Stopped").wait_for()
    time.sleep(1.5)  # the client hangs up at the next token; the server's next write fails
    after_stop = slow_model.sent
    time.sleep(1.5)
    assert slow_model.sent == after_stop, "the model kept writing after Stop"
    assert slow_model.hung_up == hung_up + 1 and slow_model.finished == finished
    assert after_stop - started < 20  # far short of the 48 tokens it would have written
    assert page.locator("#rag-transcript .rag-bot").last.locator("button.rag-cite").count() == 0
    page.close()


# -- a generative answer streamed from a chat model's stand-in ----------------------------------


STREAM_JS = """prefix => {
  window.ragStream = {start: performance.now(), seen: null, done: null};
  new MutationObserver(() => {
    const t = window.ragStream, now = performance.now();
    const live = document.querySelector('#rag-transcript .rag-streaming');
    if (live && t.seen === null) {
      const copy = live.cloneNode(true);
      copy.querySelectorAll('.rag-early').forEach(e => e.remove());
      if (copy.textContent.includes(prefix)) t.seen = now;
    }
    const bots = document.querySelectorAll('#rag-transcript .rag-bot');
    if (t.done === null && bots.length && bots[bots.length - 1].querySelector('.rag-cite[data-turn]')) t.done = now;
  }).observe(document.querySelector('#rag-transcript'), {subtree: true, childList: true, characterData: true});
}"""


def test_a_generative_answer_streams_its_verified_sentence_and_never_shows_the_planted_one(
        browser, built_home, tmp_path):  # noqa: F811
    """STAND-IN FOR A CAPABLE MODEL (tests/replay_server.py): its reply is a correct sentence of passage [2],
    then a sentence of the best passage with its number changed, streamed word by word."""
    from tests.replay_server import ReplayServer, planted_number
    from tests.test_generative import QUESTION
    from ui.app import launch

    home = tmp_path / "home"
    copy_home(built_home, home)
    script = planted_number(correct=2)
    model = ReplayServer(script, delay=0.1)
    assistant = Assistant(Settings(home=home, generator="openai", openai_api="chat", base_url=model.url,
                                   model=model.model, strict=True, translate=False))
    assistant.search("warm up")
    app, url = launch(assistant, port=0, block=False, quiet=True)
    try:
        reference = assistant.ask(QUESTION)  # what the pipeline makes of the same reply, outside the browser
        reply = script(model.requests[-1])
        correct, wrong = (part.rsplit(" [", 1)[0] for part in re.split(r"(?<=\]) ", reply, maxsplit=1))
        assert [s.text for s in reference.statements if s.role == "lead"] == [correct]

        page = open_page(browser, url)
        page.evaluate(STREAM_JS, correct[:30])
        ask(page, QUESTION)
        times = page.evaluate("window.ragStream")
        final = page.locator("#rag-transcript .rag-bot").last
        shown = final.locator(".rag-answer").inner_text()
        assert correct[:30] in shown and wrong not in shown
        assert final.locator("button.rag-cite").count() >= 1
        # the verified sentence was on screen while the model still wrote the sentence that was then dropped
        assert times["seen"] is not None and times["done"] is not None, times
        assert times["done"] - times["seen"] > 1000, times
        page.screenshot(path=str(ARTIFACTS / "k3-generative-stream.png"), full_page=True)
        page.close()
    finally:
        app.close()
        assistant.close()
        model.close()
