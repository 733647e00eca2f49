"""The chat's program API (gradio_client), HTML escaping, and the `rag serve` exposure rule."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from rag import Assistant, Document, Settings
from ui.cli import exposure_error, is_loopback, run
from ui.render import Exchange, esc, passage_html, transcript_html
from tests.home_copy import copy_home

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def server(built_home, tmp_path_factory):
    """The app on a free loopback port, over a copy of the built index."""
    from ui.app import launch

    home = tmp_path_factory.mktemp("ui-api") / "home"
    copy_home(built_home, home)
    assistant = Assistant(Settings(home=home))
    app, url = launch(assistant, port=0, block=False, quiet=True)
    yield url, assistant
    app.close()
    assistant.close()


def test_client_gets_answer_with_citations(server):
    from gradio_client import Client

    url, assistant = server
    result = Client(url, verbose=False).predict("Where are Chinese miners moving their machines?", api_name="/ask")
    assert isinstance(result, dict)
    assert not result["refused"]
    assert result["citations"], result
    assert "[1]" in result["answer"]
    for c in result["citations"]:
        assert assistant.document(c["doc_id"]).text[c["start"]:c["end"]] == c["quote"]


def test_client_bad_question_is_an_error_not_a_crash(server):
    from gradio_client import Client

    url, _ = server
    with pytest.raises(Exception, match="empty"):
        Client(url, verbose=False).predict("  ?  ", api_name="/ask")


def test_document_text_is_escaped_in_passage(fresh_assistant, tmp_path):
    note = tmp_path / "scripted.txt"
    note.write_text(f"A note about markup.\n\nThis sentence carries {SCRIPT} and <b>bold</b> tags inside it.\n",
                    encoding="utf-8")
    report = fresh_assistant.ingest([note])
    assert report.added == ["scripted.txt"]
    doc = fresh_assistant.document("scripted.txt")
    start = doc.text.index(SCRIPT)
    html = passage_html(doc, start, start + len(SCRIPT), n=1)
    assert "<script" not in html and "<b>" not in html
    assert f'<mark class="rag-mark">{esc(SCRIPT)}</mark>' in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html


def test_titles_questions_and_answers_are_escaped():
    doc = Document(doc_id="x<y>.txt", sha256="0", title=f"Title {SCRIPT}", date="2021", lang="en", text=SCRIPT)
    assert "<script" not in passage_html(doc, 0, 8)
    assert "<script" not in transcript_html([Exchange(question=SCRIPT, partial=f"half {SCRIPT} [1]")])
    assert "<script" not in transcript_html([Exchange(question="q", error=SCRIPT)])


@pytest.mark.parametrize("host, auth, no_auth, ok", [
    ("127.0.0.1", None, False, True),
    ("localhost", None, False, True),
    ("::1", None, False, True),
    ("0.0.0.0", None, False, False),
    ("192.168.1.5", None, False, False),
    ("0.0.0.0", "ann:secret", False, True),
    ("0.0.0.0", None, True, True),
    ("0.0.0.0", "nopassword", False, False),
    ("0.0.0.0", "ann:", False, False),
])
def test_exposure_rule(host, auth, no_auth, ok):
    assert (exposure_error(host, auth, no_auth) == "") is ok


def test_loopback_names():
    assert is_loopback("127.0.0.2") and is_loopback("[::1]") and not is_loopback("example.org")


def test_serve_refuses_open_host_without_auth(capsys):
    args = argparse.Namespace(host="0.0.0.0", port=7860, auth=None, no_auth=False)
    assert run(args, Settings()) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--auth" in err and "--no-auth" in err


def test_rag_serve_command_exits_2_without_auth():
    done = subprocess.run([sys.executable, "-m", "rag", "serve", "--host", "0.0.0.0"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "--auth USER:PASS" in done.stderr and "Traceback" not in done.stderr
