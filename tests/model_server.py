"""A small OpenAI-compatible model server over real HTTP, for tests that need a slow or listing server.

It lists models at ``/v1/models`` and streams completions at ``/v1/completions``
one token at a time with a set delay, the way llama-server or Ollama stream. It
counts every token it managed to send, so a test can tell whether a stopped
answer really stopped the generation (the client hangs up; sending fails).
"""

from __future__ import annotations

import http.server
import json
import threading
import time


class ModelServer:
    """Serve ``ids`` and stream ``reply`` (word by word, ``delay`` seconds apart, up to max_tokens)."""

    def __init__(self, ids: list[str], reply: str = "Kazakhstan.", delay: float = 0.0, filler: str = " and"):
        self.ids, self.reply, self.delay, self.filler = list(ids), reply, delay, filler
        self.requests: list[str] = []
        self.sent = 0  # tokens written to clients
        self.hung_up = 0  # completions the client stopped reading
        self.finished = 0  # completions streamed to the end
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                server.requests.append(f"GET {self.path}")
                body = json.dumps({"object": "list", "data": [{"id": i, "object": "model"} for i in server.ids]})
                self._send(200, body.encode())

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                request = json.loads(self.rfile.read(length) or b"{}")
                server.requests.append(f"POST {self.path} {request.get('model')}")
                if not self.path.endswith("/completions"):
                    self._send(404, b"{}")
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                tokens = server.reply.split(" ")
                tokens = [t if i == 0 else " " + t for i, t in enumerate(tokens)]
                tokens += [server.filler] * max(0, int(request.get("max_tokens") or 16) - len(tokens))
                try:
                    for token in tokens[: int(request.get("max_tokens") or 16)]:
                        time.sleep(server.delay)
                        chunk = {"choices": [{"text": token, "index": 0}]}
                        self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                        self.wfile.flush()
                        server.sent += 1
                    self.wfile.write(b"data: [DONE]\n\n")
                    self.wfile.flush()
                    server.finished += 1
                except (BrokenPipeError, ConnectionResetError):
                    server.hung_up += 1
                self.close_connection = True

            def _send(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
