"""Raw ``queue/join`` requests no page would send: malformed inputs, and Stop from another tab.

- every handler the page has, sent wrong types, None, nested junk, megabyte strings,
  too few or too many values, a file outside the uploads, or a body that is not a
  request at all, answers with one line (or an HTTP refusal): the server's stderr
  shows no traceback and the library, trash and settings are unchanged;
- without auth, Stop is keyed by the browser session: one tab's Stop ends its own
  answer and never another tab's (the control run shows the same Stop does stop
  its own tab, so the test hits the right handler).
"""

from __future__ import annotations

import threading
import time
import urllib.error
import uuid

import pytest

from rag import Assistant, Settings
from tests.model_server import ModelServer
from tests.ui_http import Browserless
from tests.home_copy import copy_home

pytestmark = pytest.mark.timeout(600)

Q_MOVE = "Where are Chinese miners moving their machines?"
HUGE = "x" * 1_000_000
MARKUP = "<img src=x onerror=alert(1)>\x1b[2J\r\nforged log line"
OUTSIDE = {"path": "/etc/passwd", "orig_name": "passwd.txt", "meta": {"_type": "gradio.FileData"}}


def _copy(built_home, tmp_path_factory, name: str):
    home = tmp_path_factory.mktemp(name) / "home"
    copy_home(built_home, home)
    return home


@pytest.fixture(scope="module")
def quotes_server(built_home, tmp_path_factory):
    """No auth on loopback (the caller is admin, so the library handlers really run), quotes-only answers."""
    from ui.app import launch

    assistant = Assistant(Settings(home=_copy(built_home, tmp_path_factory, "ui-raw"), generator="none"))
    app, url = launch(assistant, port=0, block=False, quiet=True)
    yield url, assistant
    app.close()
    assistant.close()


def _payloads(n: int) -> list[object]:
    """Input lists of the wrong shape and type for a handler with ``n`` inputs."""
    return [[], [None] * n, [0] * n, [-1e308] * n, [True] * n, [{"x": [1, {"y": None}]}] * n, [[None, 3]] * n,
            [HUGE] * n, [MARKUP] * n, [OUTSIDE] * n, [[OUTSIDE]] * n, [None] * (n + 4), "not a list", None]


def _library_state(assistant: Assistant) -> tuple:
    library = assistant.index.library()
    return (sorted(p.name for p in library.iterdir()), [d["doc_id"] for d in assistant.documents()],
            [t["doc_id"] for t in assistant.trash()], assistant.settings)


def test_malformed_inputs_to_every_handler_print_no_traceback_and_change_nothing(quotes_server, capfd, caplog):
    url, assistant = quotes_server
    client = Browserless(url)
    dependencies = client.config()["dependencies"]
    assert len(dependencies) > 20
    before = _library_state(assistant)
    capfd.readouterr()
    answers: list[dict] = []
    for dependency in dependencies:
        for data in _payloads(len(dependency["inputs"])):
            answers.append(client.call(dependency["id"], data, timeout=60))
        # the citation click handlers read the event's data: junk there too, and a trigger that does not exist
        for event_data in ({"turn": "x", "n": [1], "item": HUGE, "cite": None}, "junk", [1, 2]):
            answers.append(client.send({"data": [None] * len(dependency["inputs"]), "fn_index": dependency["id"],
                                        "session_hash": uuid.uuid4().hex, "event_data": event_data,
                                        "trigger_id": 10**12}, timeout=60))
    for body in ({"data": [], "fn_index": 10**9, "session_hash": uuid.uuid4().hex},
                 {"data": [], "fn_index": -1, "session_hash": uuid.uuid4().hex},
                 {"data": [], "fn_index": "0", "session_hash": uuid.uuid4().hex},
                 {"data": [], "fn_index": 0, "session_hash": {"nested": True}},
                 {"fn_index": 0, "session_hash": uuid.uuid4().hex},
                 {"data": [None], "fn_index": None, "session_hash": uuid.uuid4().hex}):
        answers.append(client.send(body, timeout=30))
    for query in (f"session_hash={uuid.uuid4().hex}", "", "session_hash=" + "x" * 5000):  # streams nobody opened
        try:
            with client.opener.open(f"{url.rstrip('/')}/gradio_api/queue/data?{query}", timeout=30) as stream:
                assert b"session_not_found" in stream.read() or not query
        except urllib.error.HTTPError as exc:
            assert exc.code in {404, 422}, exc.code
    err = capfd.readouterr().err
    assert "Traceback" not in err, err[-3000:]
    logged = [r for r in caplog.records if r.name == "rag.ui"]  # the operator sees one line per refusal
    assert logged and all(r.exc_info is None and len(r.getMessage()) < 500
                          and all(ch.isprintable() for ch in r.getMessage()) for r in logged if r.levelno >= 30)
    # every malformed request got an answer: a finished event (error or not) or an HTTP refusal, never silence
    assert all(a.get("msg") in {"process_completed", "rejected", "joined without a session to read from"}
               or a.get("success") is False for a in answers), [a for a in answers if not a.get("msg")][:3]
    errors = [a["output"].get("error") or "" for a in answers
              if a.get("msg") == "process_completed" and not a.get("success")]
    assert all("\n" not in e and len(e) <= 400 for e in errors), [e for e in errors if "\n" in e or len(e) > 400][:3]
    assert not [e for e in errors if "<img" in e or "\x1b" in e]  # a value quoted back is escaped text
    assert _library_state(assistant) == before

    # and the page still works for a well-formed question afterwards
    fn = client.fn_index("rag-ask")
    out = client.call(fn, [Q_MOVE, None, None, None, 5, 0.0, True, []])
    assert out.get("success") and "Kazakhstan" in str(out["output"]), str(out)[-500:]


# -- Stop is per browser session ------------------------------------------------------------


@pytest.fixture(scope="module")
def slow_server(built_home, tmp_path_factory):
    """A model server that writes one token every 0.1 s (about 5 s an answer), and the chat over it."""
    from ui.app import launch

    model = ModelServer(["slow"], reply="Kazakhstan.", delay=0.1)
    settings = Settings(home=_copy(built_home, tmp_path_factory, "ui-stop"), generator="openai",
                        base_url=model.url, model="slow", translate=False)
    assistant = Assistant(settings)
    assistant.search("warm up")
    app, url = launch(assistant, port=0, block=False, quiet=True)
    yield url, model
    app.close()
    assistant.close()
    model.close()


def _ask_in_background(client: Browserless, fn: int, session: str, out: dict) -> threading.Thread:
    def run() -> None:
        out[session] = client.call(fn, [Q_MOVE, [], None, None, 5, 0.0, True, []], session_hash=session)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _wait_until_writing(model: ModelServer, tokens: int) -> None:
    deadline = time.monotonic() + 60
    while model.sent < tokens and time.monotonic() < deadline:
        time.sleep(0.05)
    assert model.sent >= tokens, "the model never started writing"


def test_stop_in_one_tab_does_not_stop_another_tabs_answer(slow_server):
    url, model = slow_server
    client = Browserless(url)
    ask_fn, stop_fn = client.fn_index("rag-ask"), client.fn_index("rag-stop")
    results: dict[str, dict] = {}

    # tab A asks; tab B, idle, presses Stop while A's model is writing
    a, b = uuid.uuid4().hex, uuid.uuid4().hex
    finished = model.finished
    thread = _ask_in_background(client, ask_fn, a, results)
    _wait_until_writing(model, model.sent + 3)
    assert client.call(stop_fn, [[], ""], session_hash=b).get("success")  # B's Stop ran, on B's session
    thread.join(90)
    text = str(results[a].get("output"))
    assert results[a].get("success") and "rag-cite" in text and "Stopped" not in text, text[-500:]
    assert model.finished == finished + 1  # A's answer was written to its end

    # control: the same Stop from the asking tab's own session ends its answer (a fresh tab C, so the
    # transcript holds this answer only; the Stop is sent on C's session and read on C's stream)
    c = uuid.uuid4().hex
    hung_up = model.hung_up
    thread = _ask_in_background(client, ask_fn, c, results)
    _wait_until_writing(model, model.sent + 3)
    assert "event_id" in client.join({"data": [[], ""], "fn_index": stop_fn, "session_hash": c,
                                      "event_data": None, "trigger_id": None})
    thread.join(90)
    assert "rag-cite" not in str(results[c]), str(results[c])[-500:]
    deadline = time.monotonic() + 10
    while model.hung_up == hung_up and time.monotonic() < deadline:
        time.sleep(0.1)
    assert model.hung_up == hung_up + 1 and model.finished == finished + 1  # the generation really ended
