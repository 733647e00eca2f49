"""Two real ``rag serve`` processes on one PostgreSQL store and one library, driven over HTTP.

A document added through the first server must be found through the second
within 2 s, and a removal through the first must disappear from the second as
quickly, with neither server restarted: each checks the store's generation
before every query.
"""

from __future__ import annotations

import json
import mimetypes
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from rag.core.config import BUNDLED_CORPUS
from scale_support import ROOT, free_port, rag_env, start_pg
from ui_http import Browserless

NEW_DOC = "orchard_report.txt"
NEW_TEXT = ("Orchard report 2024\n\nThe Vlinderhof orchard near Utrecht harvested 41 tonnes of Elstar apples in "
            "September. Frost in April had destroyed most of the pear blossom, so the pear crop was small.\n")
QUESTION = "How many tonnes of Elstar apples did the Vlinderhof orchard harvest?"


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    pg = start_pg(tmp_path_factory)
    url = pg.database("shared")
    base = tmp_path_factory.mktemp("shared")
    library = base / "library"
    library.mkdir()
    for path in sorted(BUNDLED_CORPUS.glob("*.txt")):
        (library / path.name).write_bytes(path.read_bytes())
    procs, urls = [], []
    for i in range(2):
        port = free_port()
        log = open(base / f"serve{i}.log", "w")
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "rag", "serve", "--port", str(port), "--home", str(base / f"home{i}"),
             "--library", str(library)],
            stdout=log, stderr=subprocess.STDOUT, env=rag_env(RAG_STORE=url), cwd=ROOT, start_new_session=True))
        urls.append(f"http://127.0.0.1:{port}/")
    try:
        for proc, server_url, i in zip(procs, urls, range(2)):
            _wait_ready(proc, server_url, base / f"serve{i}.log")
        yield urls, library
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


def _wait_ready(proc: subprocess.Popen, url: str, log: Path, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"rag serve exited with {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url + "config", timeout=5):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.5)
    pytest.fail(f"rag serve did not answer within {timeout} s: {log.read_text()[-2000:]}")


def _upload(url: str, path: Path) -> str:
    """POST a file to the app's upload endpoint, as the browser does; the server-side path."""
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{path.name}\"\r\n"
            f"Content-Type: {mimetypes.guess_type(path.name)[0] or 'text/plain'}\r\n\r\n").encode()
    body += path.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(url + "gradio_api/upload", data=body,
                                     headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())[0]


def _search(client, question: str) -> list[str]:
    return [hit["doc_id"] for hit in client.predict(question, 5, api_name="/search")]


def _within(seconds: float, condition) -> float | None:
    """Seconds until ``condition()`` held, or None if it did not within ``seconds``."""
    started = time.monotonic()
    while True:
        if condition():
            return time.monotonic() - started
        if time.monotonic() - started > seconds:
            return None
        time.sleep(0.1)


def test_upload_and_removal_on_one_server_reach_the_other(servers, tmp_path):
    from gradio_client import Client

    (first, second), library = servers
    reader = Client(second, verbose=False)
    assert NEW_DOC not in _search(reader, QUESTION)

    note = tmp_path / NEW_DOC
    note.write_text(NEW_TEXT, encoding="utf-8")
    admin = Browserless(first)
    server_path = _upload(first, note)
    out = json.dumps(admin.call(admin.fn_index("rag-add"),
                                [[{"path": server_path, "orig_name": NEW_DOC, "meta": {"_type": "gradio.FileData"}}]]))
    assert "Added" in out and NEW_DOC in out, out[-1500:]
    seen_after = _within(2.0, lambda: NEW_DOC in _search(reader, QUESTION)[:1])
    assert seen_after is not None, "the second server did not find the upload within 2 s"

    out = json.dumps(admin.call(admin.fn_index("rag-remove-confirm"), [NEW_DOC]))
    assert f"Moved {NEW_DOC} to the trash." in out, out[-1500:]
    gone_after = _within(2.0, lambda: NEW_DOC not in _search(reader, QUESTION))
    assert gone_after is not None, "the second server still found the removed document after 2 s"
    assert not (library / NEW_DOC).exists()
