"""What a hostile chat client can and cannot do, over raw HTTP against a real server.

- no request, to any handler the page has, makes the server contact a URL, load a
  file as a model, or change the operator's settings or model list;
- 50 answers with 50 different per-user settings leave open files and memory flat;
- a reader's raw ``queue/join`` to the removal, restore and upload handlers changes
  nothing, while an admin's same request works (so the test hits the right handler);
- wrong passwords are slowed down per client (exponential backoff, 429 meanwhile).
"""

from __future__ import annotations

import gc
import http.server
import json
import re
import threading
import time
from pathlib import Path

import psutil
import pytest

from rag import Assistant, Settings
from rag.core.auth import LoginGuard, Users
from tests.ui_http import Browserless
from tests.home_copy import copy_home

pytestmark = pytest.mark.timeout(900)  # the shared index is built inside the first test's setup

DOC = "002_73a215b6f4d68b6c.txt"


class Sink(http.server.BaseHTTPRequestHandler):
    """Records every request: the server must never send one here."""

    seen: list[str] = []

    def _record(self) -> None:
        Sink.seen.append(f"{self.command} {self.path} {self.headers.get('Authorization')}")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"data": [{"id": "m", "context_length": 2048}]}')

    do_GET = do_POST = _record

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def sink():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def _home(built_home: Path, tmp_path_factory, name: str) -> Path:
    home = tmp_path_factory.mktemp(name) / "home"
    copy_home(built_home, home)
    return home


@pytest.fixture(scope="module")
def open_server(built_home, tmp_path_factory):
    """No auth, loopback: the single local user is admin. The operator set an API key."""
    from ui.app import Models, launch

    settings = Settings(home=_home(built_home, tmp_path_factory, "ui-open"), api_key="operator-secret")
    assistant = Assistant(settings)
    models = Models(assistant)
    app, url = launch(assistant, port=0, block=False, models=models)
    yield url, assistant, models
    app.close()
    assistant.close()


@pytest.fixture(scope="module")
def auth_server(built_home, tmp_path_factory):
    from ui.app import launch

    assistant = Assistant(Settings(home=_home(built_home, tmp_path_factory, "ui-auth"), generator="none"))
    users = Users.parse("ann:admin-pw:admin\nbob:reader-pw:reader")
    app, url = launch(assistant, port=0, block=False, users=users, login_guard=LoginGuard(base=0.4, cap=5))
    yield url, assistant
    app.close()
    assistant.close()


def _text(message: dict) -> str:
    return json.dumps(message.get("output", message), ensure_ascii=False)


def test_public_api_takes_no_url_model_or_key(open_server):
    from gradio_client import Client

    url, _, _ = open_server
    api = Client(url, verbose=False).view_api(return_format="dict", print_info=False)
    assert set(api["named_endpoints"]) == {"/ask", "/search"}
    names = [p["parameter_name"] for e in api["named_endpoints"].values() for p in e["parameters"]]
    assert names == ["question", "question", "k"]


@pytest.mark.slow  # the real model answers
def test_no_handler_reaches_a_url_or_loads_a_file(open_server, sink):
    url, assistant, models = open_server
    library = assistant.index.library()
    files_before = sorted(p.name for p in library.iterdir())
    settings_before = assistant.settings
    client = Browserless(url)
    dependencies = client.config()["dependencies"]
    assert len(dependencies) > 20
    for hostile in (sink, "/etc/passwd"):
        for dependency in dependencies:
            client.call(dependency["id"], [hostile] * len(dependency["inputs"]), timeout=90)
    assert Sink.seen == [], Sink.seen  # no GET /v1/models, no completion, no Bearer operator-secret
    assert assistant.settings == settings_before and models.names == ["llama · default"]
    assert sorted(p.name for p in library.iterdir()) == files_before

    # the chat itself, with the model field set to a file or a URL: one line, nothing loaded
    fn = client.fn_index("rag-ask")
    for model in ("/etc/passwd", sink, "llama · /etc/passwd"):
        out = _text(client.call(fn, ["Where do the miners go?", None, None, model, 5, 0.0, True, []]))
        # refused by the dropdown's own check, or by Models.get behind it; never "not found"/"failed to load"
        assert "not in the list of choices" in out or "Choose one of the models in the list." in out
        assert "found" not in out and "load" not in out.lower() and "Traceback" not in out
    for k, t in ((0, 0.0), (99, 0.0), (5, 7.5), (5, -1)):
        out = _text(client.call(fn, ["Where do the miners go?", None, None, None, k, t, True, []]))
        # the slider's own bounds check, or AskOptions behind it
        assert re.search(r"must be between|less than minimum|greater than maximum", out), out
        assert "rag-bot" not in out or "rag-error" in out


@pytest.mark.slow  # the real model answers
def test_fifty_different_settings_leave_files_and_memory_flat(open_server):
    url, assistant, models = open_server
    client = Browserless(url)
    fn = client.fn_index("rag-ask")
    process = psutil.Process()
    questions = ["Where are Chinese miners moving their machines?", "What did Inner Mongolia do about mining?"]

    def ask(i: int) -> None:
        data = [questions[i % 2], None, None, models.names[0], 1 + i % 15, round((i % 31) * 0.05, 2), i % 2 == 0, []]
        out = _text(client.call(fn, data))
        assert "rag-bot" in out and "rag-error" not in out, out[-500:]

    for i in range(15):  # warm up on every top-k once: model, index, buffers sized by the longest prompt
        ask(i)
    gc.collect()  # servers of earlier tests in this process may still be letting go of their files
    fds, rss = process.num_fds(), process.memory_info().rss
    for i in range(50):
        ask(100 + i)
    fds_after, rss_after = process.num_fds(), process.memory_info().rss
    print(f"open files {fds} -> {fds_after}, RSS {rss / 2**20:.0f} -> {rss_after / 2**20:.0f} MiB")
    # no growth beyond 10% (old code: +4 files per new settings combination); shrinking is not a leak
    assert fds_after - fds <= max(2, 0.1 * fds)
    assert rss_after - rss <= 0.1 * rss


def test_reader_cannot_change_the_library_even_by_raw_queue(auth_server, tmp_path):
    url, assistant = auth_server
    library = assistant.index.library()
    reader = Browserless(url)
    assert reader.login("bob", "reader-pw") == 200
    before = sorted(p.name for p in library.iterdir())
    count = len(assistant.documents())

    out = _text(reader.call(reader.fn_index("rag-remove-confirm"), [DOC]))
    assert "Only an admin can change the library." in out
    out = _text(reader.call(reader.fn_index("rag-restore"), [DOC]))
    assert "Only an admin" in out
    note = tmp_path / "note.txt"
    note.write_text("A note a reader tries to add.\n", encoding="utf-8")
    reader.call(reader.fn_index("rag-add"), [[{"path": str(note), "meta": {"_type": "gradio.FileData"}}]])
    assert sorted(p.name for p in library.iterdir()) == before and len(assistant.documents()) == count
    assert assistant.trash() == []

    # the reader's page hides the library controls
    load = next(d for d in reader.config()["dependencies"] if d["targets"] and d["targets"][0][1] == "load")
    assert '"visible": false' in _text(reader.call(load["id"], [])).replace("False", "false")

    # without logging in, the queue does not even take the request
    assert Browserless(url).call(load["id"], []).get("status") in {401, 403}

    # the admin's identical request does remove (to the trash), and restore brings it back
    admin = Browserless(url)
    assert admin.login("ann", "admin-pw") == 200
    out = _text(admin.call(admin.fn_index("rag-remove-confirm"), [DOC]))
    assert f"Moved {DOC} to the trash." in out
    assert DOC not in {p.name for p in library.iterdir()} and [t["doc_id"] for t in assistant.trash()] == [DOC]
    out = _text(admin.call(admin.fn_index("rag-restore"), [DOC]))
    assert f"Restored {DOC}" in out and DOC in {p.name for p in library.iterdir()}
    assert len(assistant.documents()) == count


def test_wrong_logins_are_slowed_down(auth_server):
    url, _ = auth_server
    client = Browserless(url)
    assert client.login("bob", "wrong") == 400
    assert client.login("bob", "reader-pw") == 429  # locked for 0.4 s: not even the right password is looked at
    time.sleep(0.5)
    assert client.login("bob", "wrong again") == 400
    time.sleep(0.5)
    assert client.login("bob", "reader-pw") == 429  # now 0.8 s
    started, checked = time.monotonic(), 0
    while time.monotonic() - started < 2.0:  # a tight loop of guesses gets almost all refused unread
        checked += client.login("bob", f"guess{checked}") != 429
    assert checked <= 2
    time.sleep(5.2)  # the cap in this test
    assert client.login("bob", "reader-pw") == 200
    assert client.login("bob", "wrong") == 400  # success reset the count: back to the shortest wait
    time.sleep(0.5)
    assert client.login("bob", "reader-pw") == 200  # and leaves this client unlocked for the next test


def test_expected_user_errors_print_no_traceback(auth_server, capfd):
    from gradio_client import Client

    url, _ = auth_server
    client = Client(url, auth=("bob", "reader-pw"), verbose=False)
    for bad in ("  ?  ", "x" * 2001):
        with pytest.raises(Exception, match="empty|too long"):
            client.predict(bad, api_name="/ask")
    with pytest.raises(Exception, match="top_k"):
        client.predict("miners", 99, api_name="/search")
    assert "Traceback" not in capfd.readouterr().err


def test_chat_exports_name_no_server_paths_and_no_empty_headings(auth_server, tmp_path):
    from rag.export.write import export_to_file
    from ui.app import _Published

    _, assistant = auth_server
    published = _Published(assistant)
    assert published.info()["library"] == "library" and published.info()["index"] == "index"
    refused = assistant.ask("Who won the football world cup in 1966?")
    assert refused.refused
    for fmt in ("md", "html", "json"):
        text = export_to_file([refused], fmt, published, tmp_path).read_text(encoding="utf-8")
        assert str(assistant.settings.home) not in text and "Cited documents" not in text
