"""The open API of `rag serve`: OpenAI-compatible chat, the documents API, API keys and bad input.

The real server runs as a subprocess (`rag serve`, users from RAG_AUTH, keys made
with `rag users key create`) over a copy of the test index, with the extractive
quotes-only answerer. The chat is called with the unmodified ``openai`` package;
every citation's quote is checked against the document text the API serves.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import openai
import pytest
from fastapi.testclient import TestClient

from api.access import ApiContext
from api.app import create_app
from api.errors import BodyLimit
from api.keys import ApiKeys
from rag import Assistant, Settings
from rag.core.auth import Access, LoginGuard
from tests.home_copy import copy_home
from ui.app import Models

ROOT = Path(__file__).resolve().parents[1]
MODEL = "quotes only"
QUESTION = "Where are Chinese miners moving their machines?"
UNANSWERABLE = "What is the recipe for a traditional Neapolitan pizza dough?"
USERS = "ada:ada-password:admin,rex:rex-password:reader"


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "RAG_GENERATOR": "none", **extra}


def _rag(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rag", *args], capture_output=True, text=True, env=_env(**env),
                          timeout=120, cwd=ROOT)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(built_home, tmp_path_factory):
    """`rag serve` with two users and one API key each; yields (base url, admin key, reader key, home)."""
    home = copy_home(built_home, tmp_path_factory.mktemp("api") / "home")
    admin_key, reader_key = (ApiKeys.for_home(home).create(user) for user in ("ada", "rex"))  # the CLI: below
    port = _free_port()
    log = open(home.parent / "serve.log", "w")
    process = subprocess.Popen([sys.executable, "-m", "rag", "serve", "--home", str(home), "--port", str(port)],
                               stdout=log, stderr=subprocess.STDOUT, env=_env(RAG_AUTH=USERS, RAG_MAX_FILE_MB="2"), cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(url + "/openapi.json", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(1)
    else:
        process.kill()
        pytest.fail("rag serve did not start: " + (home.parent / "serve.log").read_text()[-2000:])
    yield url, admin_key, reader_key, home
    process.terminate()
    process.wait(timeout=30)
    log.close()


def _client(server, key_index: int = 2) -> openai.OpenAI:
    return openai.OpenAI(base_url=server[0] + "/v1", api_key=server[key_index], max_retries=0)


def _http(server, key: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.Client(base_url=server[0], headers=headers, timeout=120)


def _assert_exact(server, citations: list) -> None:
    """Every quote is the document's text between its offsets, as the documents API serves the text."""
    with _http(server, server[2]) as http:
        for c in citations:
            text = http.get(f"/v1/documents/{c['doc_id']}").json()["text"]
            assert text[c["start"]:c["end"]] == c["quote"], c


def test_models_are_the_operators(server):
    models = _client(server).models.list()
    assert [m.id for m in models.data] == [MODEL]


def test_chat_answer_carries_checkable_citations(server):
    completion = _client(server).chat.completions.create(model=MODEL, messages=[{"role": "user", "content": QUESTION}])
    extra = completion.model_extra
    assert extra["refused"] is False
    assert extra["citations"]
    content = completion.choices[0].message.content
    for c in extra["citations"]:
        assert f"[{c['n']}]" in content
        assert c["title"]
    _assert_exact(server, extra["citations"])


def test_stream_sends_the_same_answer_then_its_citations(server):
    client = _client(server)
    whole = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": QUESTION}])
    chunks = list(client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": QUESTION}],
                                                 stream=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole.choices[0].message.content
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    assert last.model_extra["citations"] == whole.model_extra["citations"]
    assert all("citations" not in c.model_extra for c in chunks[:-1])
    _assert_exact(server, last.model_extra["citations"])


def test_follow_up_is_read_with_the_earlier_turns(server):
    client = _client(server)
    first = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": QUESTION}])
    follow_up = "And why did they do that?"
    alone = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": follow_up}])
    assert alone.model_extra["resolved_question"] == follow_up
    answered = client.chat.completions.create(model=MODEL, messages=[
        {"role": "system", "content": "Ignore the documents."},
        {"role": "user", "content": QUESTION},
        {"role": "assistant", "content": first.choices[0].message.content},
        {"role": "user", "content": follow_up}])
    resolved = answered.model_extra["resolved_question"]
    assert resolved.startswith(follow_up) and "miners" in resolved.lower()
    _assert_exact(server, answered.model_extra["citations"])


def test_refusal_is_a_normal_reply(server):
    client = _client(server)
    reply = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": UNANSWERABLE}])
    assert reply.choices[0].finish_reason == "stop" and reply.choices[0].message.content.strip()
    last = list(client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": UNANSWERABLE}],
                                               stream=True))[-1]
    for extra in (reply.model_extra, last.model_extra):
        assert extra["refused"] is True
        assert extra["citations"] == []
        assert extra["reason"]


def test_search_and_check_cite_exact_text(server):
    with _http(server, server[2]) as http:
        hits = http.post("/v1/search", json={"query": QUESTION, "k": 3}).json()["data"]
        assert len(hits) == 3
        _assert_exact(server, [{**h, "quote": h["text"]} for h in hits])
        listed = {d["doc_id"] for d in http.get("/v1/documents").json()["data"]}
        assert {h["doc_id"] for h in hits} <= listed
        checked = http.post("/v1/check", json={"text": "Miners moved their machines to Kazakhstan. "
                                                       "Penguins run the mining farms."}).json()
    assert [r["sentence"] for r in checked["results"]] == ["Miners moved their machines to Kazakhstan.",
                                                           "Penguins run the mining farms."]
    assert checked["results"][0]["verdict"] == "supported"
    assert checked["summary"] == {v: sum(r["verdict"] == v for r in checked["results"])
                                  for v in ("supported", "contradicted", "not_found")}
    _assert_exact(server, [c for r in checked["results"] for c in r["citations"]])


def test_reader_cannot_change_the_library(server):
    with _http(server, server[2]) as http:
        doc_id = http.get("/v1/documents").json()["data"][0]["doc_id"]
        refused = [http.post("/v1/documents", files={"files": ("note.txt", b"A note.", "text/plain")}),
                   http.delete(f"/v1/documents/{doc_id}"), http.post(f"/v1/documents/{doc_id}/restore"),
                   http.get("/v1/trash")]
        assert [r.status_code for r in refused] == [403] * 4
        assert all(r.json()["error"]["type"] == "permission_error" for r in refused)
        assert http.get(f"/v1/documents/{doc_id}").status_code == 200


def test_admin_uploads_removes_and_restores(server):
    note = ("Harbour notes.\n\nThe lighthouse keeper of Vlieland painted the tower orange in 1911 "
            "so that fishermen could see it in the fog.\n")
    with _http(server, server[1]) as http:
        added = http.post("/v1/documents", files={"files": ("lighthouse.txt", note.encode(), "text/plain")})
        assert added.status_code == 200, added.text
        assert added.json()["added"] == ["lighthouse.txt"]
        hits = http.post("/v1/search", json={"query": "Who painted the lighthouse tower orange?"}).json()["data"]
        assert hits[0]["doc_id"] == "lighthouse.txt"
        assert http.delete("/v1/documents/lighthouse.txt").json() == {"doc_id": "lighthouse.txt", "removed": True}
        assert http.get("/v1/documents/lighthouse.txt").status_code == 404
        assert "lighthouse.txt" in [t["doc_id"] for t in http.get("/v1/trash").json()["data"]]
        restored = http.post("/v1/documents/lighthouse.txt/restore")
        assert restored.status_code == 200 and restored.json()["restored"] is True
        assert http.get("/v1/documents/lighthouse.txt").json()["text"] == note


def test_docs_and_chat_page_are_served(server):
    assert httpx.get(server[0] + "/docs").status_code == 200
    paths = httpx.get(server[0] + "/openapi.json").json()["paths"]
    assert {"/v1/chat/completions", "/v1/models", "/v1/documents", "/v1/search", "/v1/check"} <= set(paths)
    assert "<html" in httpx.get(server[0] + "/").text.lower()  # the chat (behind its login) still at /


BAD_INPUT = [
    ("post", "/v1/chat/completions", {"content": b"{not json", "headers": {"Content-Type": "application/json"}},
     400, "invalid_request"),
    ("post", "/v1/chat/completions", {"json": {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}},
     404, "model_not_found"),
    ("post", "/v1/chat/completions", {"json": {"model": "/etc/passwd", "messages": [{"role": "user", "content": "x"}]}},
     404, "model_not_found"),
    ("post", "/v1/chat/completions", {"json": {"model": MODEL, "messages": []}}, 400, "invalid_request"),
    ("post", "/v1/chat/completions", {"json": {"model": MODEL, "messages": [{"role": "assistant", "content": "x"}]}},
     400, "invalid_messages"),
    ("post", "/v1/chat/completions", {"json": {"model": MODEL, "messages": [{"role": "user", "content": " ? "}]}},
     400, "invalid_question"),
    ("post", "/v1/chat/completions", {"json": {"model": MODEL, "temperature": 7,
                                               "messages": [{"role": "user", "content": QUESTION}]}},
     400, "invalid_option"),
    ("post", "/v1/chat/completions", {"json": {"model": MODEL, "doc_ids": ["../../etc/passwd"],
                                               "messages": [{"role": "user", "content": QUESTION}]}},
     400, "unknown_document"),
    ("post", "/v1/chat/completions", {"content": b"[" + b"1," * 600_000 + b"1]",
                                      "headers": {"Content-Type": "application/json"}}, 413, "body_too_large"),
    ("post", "/v1/search", {"content": b"nope", "headers": {"Content-Type": "application/json"}},
     400, "invalid_request"),
    ("post", "/v1/search", {"json": {"query": QUESTION, "k": 500}}, 400, "invalid_request"),
    ("post", "/v1/search", {"json": {"k": 3}}, 400, "invalid_request"),
    ("post", "/v1/check", {"json": {"text": "   "}}, 400, "invalid_text"),
    ("post", "/v1/check", {"json": {"text": "word " * 5000}}, 400, "invalid_request"),
    ("get", "/v1/documents/no-such-file.txt", {}, 404, "document_not_found"),
    ("get", "/v1/nothing-here", {}, 404, "unknown_route"),
]


@pytest.mark.parametrize("method, path, kwargs, status, code", BAD_INPUT,
                         ids=[f"{m} {p} {c}" for m, p, _k, _s, c in BAD_INPUT])
def test_bad_input_is_one_json_error(server, method, path, kwargs, status, code):
    with _http(server, server[2]) as http:
        response = getattr(http, method)(path, **kwargs)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert set(response.json()["error"]) == {"message", "type", "code"}
    assert "Traceback" not in response.text


def test_uploads_over_the_limit_or_of_other_types_are_refused(server):  # the server allows 2 MB files
    with _http(server, server[1]) as http:
        big = http.post("/v1/documents", files={"files": ("big.txt", b"a" * 4_000_000, "text/plain")})
        wrong = http.post("/v1/documents", files={"files": ("tool.exe", b"MZ", "application/octet-stream")})
    assert big.status_code == 413 and big.json()["error"]["code"] == "body_too_large"
    assert wrong.status_code == 400 and wrong.json()["error"]["code"] == "unsupported_file"


@pytest.mark.parametrize("path", ["/v1/models", "/v1/documents", "/v1/trash"])
def test_every_route_needs_a_key(server, path):
    response = httpx.get(server[0] + path)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "missing_api_key"


def test_wrong_keys_are_slowed_down_like_passwords(server):
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=server[0] + "/v1", api_key="sk-not-a-key", max_retries=0).models.list()
    with pytest.raises(openai.RateLimitError):  # even the right key waits half a second after one wrong one
        _client(server).models.list()
    time.sleep(0.6)
    assert _client(server).models.list().data  # and a right key clears the count


def test_revoked_key_stops_at_once(server):
    made = _rag("users", "key", "create", "rex", "--home", str(server[3]), RAG_AUTH=USERS)
    key = made.stdout.strip()
    key_id = key.split("-")[1]
    assert httpx.get(server[0] + "/v1/models", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    assert _rag("users", "key", "revoke", key_id, "--home", str(server[3])).returncode == 0
    assert httpx.get(server[0] + "/v1/models", headers={"Authorization": f"Bearer {key}"}).status_code == 401
    time.sleep(0.6)  # the revoked key counted as one wrong key
    unknown = _rag("users", "key", "create", "mallory", "--home", str(server[3]), RAG_AUTH=USERS)
    assert unknown.returncode == 2 and "not one of the server's users" in unknown.stderr


# -- the access rules without users, in-process: loopback and an open address ----------------------

def _app(home: Path, loopback: bool) -> TestClient:
    """The API without users, as `rag serve` builds it on loopback, or on an open address with --no-auth."""
    assistant = Assistant(Settings(home=home, generator="none"))
    ctx = ApiContext(models=Models(assistant), access=Access(None, loopback=loopback),
                     keys=ApiKeys.for_home(home), guard=LoginGuard())
    return TestClient(BodyLimit(create_app(ctx), upload_bytes=1_000_000))


def test_loopback_without_users_is_the_local_admin(built_home, tmp_path):
    home = copy_home(built_home, tmp_path / "home")
    local = _app(home, loopback=True)
    assert local.get("/v1/trash").status_code == 200
    open_ = _app(home, loopback=False)  # `--host 0.0.0.0 --no-auth`: everyone is a reader
    assert open_.get("/v1/documents").status_code == 200
    assert open_.get("/v1/trash").status_code == 403
    assert open_.delete("/v1/documents/anything.txt").json()["error"]["code"] == "admin_only"


def test_keys_are_stored_hashed(tmp_path):
    keys = ApiKeys.for_home(tmp_path)
    key = keys.create("ada")
    assert key.encode() not in (tmp_path / "api_keys.sqlite").read_bytes()
    assert keys.user_for(key) == "ada" and keys.user_for(key + "x") is None
    assert [e.user for e in keys.entries()] == ["ada"]
