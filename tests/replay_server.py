"""A small real HTTP server speaking the OpenAI chat completions API, replaying scripted replies.

STAND-IN FOR A CAPABLE MODEL. No capable instruct model can be downloaded
here, so the tests put this server where one would be: the pipeline talks to
it over real HTTP through ``OpenAICompatibleGenerator(api="chat")`` exactly as
it would to vLLM or Ollama. Its replies are written the way a capable model
writes them, but from the prompt it is actually sent: a ``Script`` reads the
numbered passages [1]..[n] of the request and builds its reply from their
sentences (a correct answer copied from them; the same with a number changed;
a true sentence cited under a passage number it was not given). So the
pipeline's verification is tested against the real retrieved passages, never
against answers that pass by construction.

Streams as server-sent events (``"stream": true``) or answers with one JSON
body; ``ignore_stream=True`` makes it answer JSON even when asked to stream
(some servers do).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from rag.ingest.sentences import sentences
from rag.verify.overlap import content_words

PASSAGE = re.compile(r"^\[(\d+)\](?: \((?P<title>[^)]*)\))? (?P<text>.+)$", re.MULTILINE)


@dataclass(frozen=True)
class Request:
    """What the pipeline sent: the numbered passages and the question (or document) line."""

    passages: dict[int, str]
    question: str  # the "Question: ..." line's text, "" for a summary or another prompt
    document: str  # the "Document: ..." line's text, "" otherwise
    messages: list[dict]

    @classmethod
    def parse(cls, messages: list[dict]) -> "Request":
        user = "\n".join(m.get("content", "") for m in messages if m.get("role") == "user")
        passages = {int(m.group(1)): m.group("text") for m in PASSAGE.finditer(user)}
        question = re.search(r"^Question: (.+)$", user, re.MULTILINE)
        document = re.search(r"^Document: (.+)$", user, re.MULTILINE)
        return cls(passages, question.group(1).strip() if question else "",
                   document.group(1).strip() if document else "", messages)

    def best_sentence(self, n: int, want_number: bool = False) -> str:
        """The sentence of passage ``n`` sharing most words with the question (one holding a number if asked)."""
        wanted = set(content_words(self.question))
        found = [s for s in sentences(self.passages[n]) if len(content_words(s)) >= 4]
        if want_number:
            found = [s for s in found if re.search(r"\d", s)]
        if not found:
            return ""
        return max(found, key=lambda s: len(wanted & set(content_words(s))))


Script = Callable[[Request], str]


def answer_from(*numbers: int) -> Script:
    """A correct answer: the most relevant sentence of each passage in ``numbers``, each citing it."""
    def script(request: Request) -> str:
        if not request.passages:
            return ""  # a translation or lead prompt: say nothing, the pipeline keeps its original
        return " ".join(f"{cleaned(request.best_sentence(n))} [{n}]" for n in numbers if n in request.passages)
    return script


def planted_number(correct: int | None = None) -> Script:
    """A sentence with a number, from the passage that best answers, with that number changed; optionally
    preceded by a correct sentence of passage ``correct``."""
    def script(request: Request) -> str:
        if not request.passages:
            return ""
        candidates = [(n, request.best_sentence(n, want_number=True)) for n in request.passages]
        n, sentence = next((n, s) for n, s in candidates if s)
        wrong = wrong_number(sentence, request.passages[n])
        lead = f"{cleaned(request.best_sentence(correct))} [{correct}] " if correct else ""
        return f"{lead}{cleaned(wrong)} [{n}]"
    return script


def swapped_numbers() -> Script:
    """The best sentence holding two different numbers, with the two numbers swapped (each then sits beside
    the other's name: every word and number is still in the passage)."""
    def script(request: Request) -> str:
        if not request.passages:
            return ""
        for n in request.passages:
            for sentence in sorted(sentences(request.passages[n]), key=lambda s: -len(
                    set(content_words(request.question)) & set(content_words(s)))):
                found = list(dict.fromkeys(re.findall(r"\d+", sentence)))
                if len(found) >= 2:
                    a, b = found[:2]
                    swapped = re.sub(r"\d+", lambda m: {a: b, b: a}.get(m.group(), m.group()), sentence)
                    return f"{cleaned(swapped)} [{n}]"
        return ""
    return script


def unknown_citation(true_from: int) -> Script:
    """A correct sentence of passage 1, then a true sentence of passage ``true_from`` cited under a number
    beyond the passages given."""
    def script(request: Request) -> str:
        if not request.passages:
            return ""
        beyond = max(request.passages) + 3
        return (f"{cleaned(request.best_sentence(1))} [1] "
                f"{cleaned(request.best_sentence(true_from))} [{beyond}]")
    return script


def summary_of(count: int) -> Script:
    """A summary: the first sentence of each of the first ``count`` passages, each citing its passage."""
    def script(request: Request) -> str:
        if not request.passages:
            return ""
        return " ".join(f"{cleaned(sentences(request.passages[n])[0])} [{n}]"
                        for n in sorted(request.passages)[:count])
    return script


def cleaned(sentence: str) -> str:
    """A sentence as a model writes it in an answer: quotation marks gone, one full stop at the end."""
    text = " ".join(sentence.replace('"', "").replace("“", "").replace("”", "").split())
    return text.rstrip(".!?") + "."


def wrong_number(sentence: str, passage: str) -> str:
    """``sentence`` with its first number replaced by one the passage does not contain."""
    match = re.search(r"\d+", sentence)
    assert match, sentence
    value = int(match.group())
    wrong = value + 17
    while str(wrong) in passage:
        wrong += 17
    return sentence[:match.start()] + str(wrong) + sentence[match.end():]


@dataclass
class ReplayServer:
    """The server, on 127.0.0.1 and a free port, in a daemon thread; ``requests`` records what was asked."""

    script: Script
    model: str = "replay-capable-model"
    ignore_stream: bool = False
    delay: float = 0.0  # seconds between streamed words, to watch a reply arrive
    requests: list[Request] = field(default_factory=list)

    def __post_init__(self) -> None:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                if self.path.rstrip("/").endswith("/models"):
                    self._json({"object": "list", "data": [{"id": server.model, "object": "model"}]})
                else:
                    self.send_error(404)

            def do_POST(self) -> None:
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    self.send_error(404, "only the chat completions API is replayed")
                    return
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                request = Request.parse(body.get("messages") or [])
                server.requests.append(request)
                reply = server.script(request)
                if body.get("stream") and not server.ignore_stream:
                    self._events(reply)
                else:
                    self._json({"object": "chat.completion", "model": server.model, "choices": [
                        {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": reply}}]})

            def _json(self, data: dict) -> None:
                raw = json.dumps(data).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def _events(self, reply: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                for piece in re.findall(r"\S+\s*|\s+", reply):  # word by word, as tokens arrive
                    chunk = {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": piece}}]}
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                    self.wfile.flush()
                    time.sleep(server.delay)
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
