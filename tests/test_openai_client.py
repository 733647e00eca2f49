"""The OpenAI-compatible client's failures, against real loopback servers that answer badly on purpose.

Each failure must reach the caller as one ``GeneratorError`` line that names the server and never its key:
that line is what the chat and ``rag ask`` show.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from rag.core.config import Settings
from rag.models.generate import GeneratorError, OpenAICompatibleGenerator, complete
from rag.models.served_models import ServedModels

from tests.llama_server import free_port

KEY = "sk-very-secret-key"
MODELS = {"object": "list", "data": [{"id": "m", "object": "model", "meta": {"n_ctx_train": 4096}}]}


@dataclass
class Reply:
    status: int = 200
    content_type: str = "application/json"
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def stream_of(*chunks: object) -> Reply:
    """A server-sent event stream of ``chunks`` (JSON objects as events; text as it stands), then [DONE]."""
    events = "".join(c if isinstance(c, str) else f"data: {json.dumps(c)}\n\n" for c in chunks)
    return Reply(content_type="text/event-stream", body=(events + "data: [DONE]\n\n").encode())


@contextmanager
def serving(replies: dict[str, Reply]) -> Iterator[tuple[str, list[tuple[str, str, dict]]]]:
    """A loopback server answering each path with its reply (else 404); yields its /v1 URL and what it was asked."""
    asked: list[tuple[str, str, dict]] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def _answer(self) -> None:
            asked.append((self.command, self.path, dict(self.headers)))
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            reply = replies.get(self.path, Reply(404, body=b'{"error": "no such path"}'))
            body = reply.body.replace(b"{auth}", (self.headers.get("Authorization") or "").encode())
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/v1", asked
    finally:
        httpd.shutdown()
        httpd.server_close()


def listing_ok(**paths: Reply) -> dict[str, Reply]:
    return {"/v1/models": Reply(body=json.dumps(MODELS).encode()), **paths}


def one_line_error(call) -> str:
    with pytest.raises(GeneratorError) as info:
        call()
    message = str(info.value)
    assert "\n" not in message and KEY not in message, message
    return message


def test_a_good_server_streams_its_pieces_and_reports_its_window():
    replies = listing_ok(**{"/v1/completions": stream_of({"choices": [{"text": "Kaz"}]}, ": keep-alive\n\n",
                                                         {"choices": [{"text": "akhstan"}]})})
    with serving(replies) as (url, asked):
        generator = OpenAICompatibleGenerator(url, "m", api_key=KEY)
        assert generator.context_window == 4096
        assert list(generator.stream("Where?", max_tokens=4, stop=["\n"])) == ["Kaz", "akhstan"]
    (_, _, first), (_, path, second) = asked
    assert first["Authorization"] == second["Authorization"] == f"Bearer {KEY}"
    assert path == "/v1/completions"


def test_a_server_that_is_down_is_one_line_naming_it():
    url = f"http://127.0.0.1:{free_port()}/v1"
    message = one_line_error(lambda: OpenAICompatibleGenerator(url, "m", api_key=KEY, timeout=3))
    assert message.startswith(f"cannot reach the model server at {url}: ")


def test_http_500_is_one_line_with_the_servers_message():
    crash = Reply(500, body=json.dumps({"error": {"message": "model\ncrashed", "type": "server_error"}}).encode())
    with serving(listing_ok(**{"/v1/completions": crash})) as (url, _):
        generator = OpenAICompatibleGenerator(url, "m", api_key=KEY)
        message = one_line_error(lambda: complete(generator, "Where?", max_tokens=4))
    assert message == f"the model server at {url} answered HTTP 500 Internal Server Error: model crashed"


def test_a_plain_text_error_page_is_one_line_too():
    page = Reply(502, content_type="text/html", body=b"<html>\n<h1>Bad gateway</h1>\n</html>")
    with serving(listing_ok(**{"/v1/completions": page})) as (url, _):
        generator = OpenAICompatibleGenerator(url, "m")
        message = one_line_error(lambda: complete(generator, "Where?", max_tokens=4))
    assert message == f"the model server at {url} answered HTTP 502 Bad Gateway: <html> <h1>Bad gateway</h1> </html>"


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]"])
def test_a_model_list_that_is_no_json_object_is_one_line(body):
    with serving({"/v1/models": Reply(body=body)}) as (url, _):
        message = one_line_error(lambda: OpenAICompatibleGenerator(url, "m", api_key=KEY))
    assert message.startswith(f"the model server at {url} sent an unreadable reply (")


def test_bad_json_in_the_middle_of_a_stream_is_one_line_after_the_good_pieces():
    replies = listing_ok(**{"/v1/completions": stream_of({"choices": [{"text": "Kaz"}]}, "data: {broken\n\n")})
    with serving(replies) as (url, _):
        pieces = OpenAICompatibleGenerator(url, "m").stream("Where?", max_tokens=4)
        assert next(pieces) == "Kaz"
        message = one_line_error(lambda: next(pieces))
    assert message.startswith(f"the model server at {url} sent an unreadable reply (")


def test_an_error_reported_inside_a_stream_is_one_line():
    replies = listing_ok(**{"/v1/chat/completions": stream_of({"error": {"message": "context length exceeded"}})})
    with serving(replies) as (url, _):
        generator = OpenAICompatibleGenerator(url, "m", api="chat")
        message = one_line_error(lambda: complete(generator, "Where?", max_tokens=4))
    assert message == f"the model server at {url} reported an error: context length exceeded"


def test_the_key_is_not_shown_even_when_the_server_echoes_it():
    echo = Reply(401, body=b'{"error": {"message": "bad credentials: {auth}"}}')
    with serving(listing_ok(**{"/v1/completions": echo})) as (url, asked):
        generator = OpenAICompatibleGenerator(url, "m", api_key=KEY)
        message = one_line_error(lambda: complete(generator, "Where?", max_tokens=4))
    assert message == f"the model server at {url} answered HTTP 401 Unauthorized: bad credentials: Bearer [key]"
    assert asked[-1][2]["Authorization"] == f"Bearer {KEY}"


def test_a_password_in_the_address_is_not_shown():
    url = f"http://127.0.0.1:{free_port()}/v1"
    message = one_line_error(lambda: OpenAICompatibleGenerator(url.replace("//", "//user:hunter2@"), "m", timeout=3))
    assert message.startswith(f"cannot reach the model server at {url}: ") and "hunter2" not in message


def test_a_redirect_is_not_followed_so_the_key_goes_nowhere_else():
    with serving(listing_ok()) as (elsewhere, elsewhere_asked):
        moved = Reply(307, headers={"Location": elsewhere + "/models"})
        with serving({"/v1/models": moved}) as (url, _):
            message = one_line_error(lambda: OpenAICompatibleGenerator(url, "m", api_key=KEY))
    assert message == f"the model server at {url} answered HTTP 307 Temporary Redirect"
    assert elsewhere_asked == []


@contextmanager
def silent_server() -> Iterator[str]:
    """The /v1 URL of a socket that accepts connections and never answers."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        yield f"http://127.0.0.1:{silent.getsockname()[1]}/v1"


def test_a_server_that_never_answers_times_out_as_one_line():
    with silent_server() as url:
        started = time.monotonic()
        message = one_line_error(lambda: OpenAICompatibleGenerator(url, "m", timeout=1.0))
        took = time.monotonic() - started
    assert message == f"cannot reach the model server at {url}: no answer within the time limit"
    assert 0.9 < took < 3, took


def test_a_stream_that_stalls_after_its_first_piece_times_out_as_one_line():
    listing = json.dumps(MODELS).encode()
    with socket.socket() as stalling:
        stalling.bind(("127.0.0.1", 0))
        stalling.listen(2)
        url = f"http://127.0.0.1:{stalling.getsockname()[1]}/v1"

        def answer_the_list_then_stall_the_stream() -> None:
            for reply in (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                          b"Content-Length: %d\r\n\r\n%s" % (len(listing), listing),
                          b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n"
                          b'data: {"choices": [{"text": "Kaz"}]}\n\n'):
                connection, _ = stalling.accept()
                connection.recv(65536)
                connection.sendall(reply)
            time.sleep(3)  # the stream's connection stays open, silent

        threading.Thread(target=answer_the_list_then_stall_the_stream, daemon=True).start()
        pieces = OpenAICompatibleGenerator(url, "m", timeout=1.0).stream("Where?", max_tokens=4)
        assert next(pieces) == "Kaz"
        message = one_line_error(lambda: next(pieces))
    assert message == f"cannot reach the model server at {url}: no answer within the time limit"


def test_the_model_picker_reads_an_error_status_or_a_redirect_as_one_line_and_follows_nowhere():
    with serving(listing_ok()) as (elsewhere, elsewhere_asked):
        replies = {"/v1/models": Reply(307, headers={"Location": elsewhere + "/models"})}
        with serving(replies) as (moved, _), serving({"/v1/models": Reply(500, body=b"oops")}) as (broken, _):
            base = Settings(generator="openai", model="m", api_key=KEY)
            listing = ServedModels({"moved": base.replace(base_url=moved),
                                    "broken": base.replace(base_url=broken)}).listing()
    assert listing.problems == ("moved: its server's model list is unavailable (HTTP 307 Temporary Redirect)",
                                "broken: its server's model list is unavailable (HTTP 500 Internal Server Error)")
    assert elsewhere_asked == []
