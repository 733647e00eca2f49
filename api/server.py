"""`rag serve` on one port: the API routes (``/v1``, ``/docs``) with the Gradio chat mounted beside them.

One process, one assistant per configured model (the chat's ``Models``), one
``Access`` and one ``LoginGuard``: a wrong API key and a wrong chat password
slow the same client down. The chat is built, queued and served with the options
``ui.app.launch`` uses (``served_app``, ``serving_options``), and the quiet error handling.
"""

from __future__ import annotations

import gradio as gr
import uvicorn
from fastapi import FastAPI

from api.access import ApiContext
from api.app import create_app
from api.errors import BodyLimit
from api.keys import ApiKeys
from rag import Assistant
from rag.core.auth import Access, LoginGuard, LoginThrottle, Users, is_loopback
from ui.app import free_port, served_app, serving_options
from ui.quiet import QuietStreams
from ui.state import Models

FORM_BYTES = 1_000_000  # room for the multipart wrapping of an upload


def build(assistant: Assistant, host: str, port: int, users: Users | None = None,
          models: Models | None = None) -> FastAPI:
    """The app ``serve`` runs: API routes first, the chat mounted at / for every other path."""
    models = models or Models(assistant)
    access = Access(users, loopback=is_loopback(host))
    guard = LoginGuard()
    app = create_app(ApiContext(models=models, access=access, keys=ApiKeys.for_home(assistant.settings.home),
                                guard=guard))
    app.add_middleware(LoginThrottle, guard=guard)
    app.add_middleware(QuietStreams)  # outermost, as in launch
    blocks = served_app(assistant, models, access)
    return gr.mount_gradio_app(app, blocks, path="/", server_name=host, server_port=port, **serving_options(users))


def serve(assistant: Assistant, host: str = "127.0.0.1", port: int = 7860, users: Users | None = None,
          models: Models | None = None) -> None:
    """Serve the chat and the API until Ctrl-C. Port 0 picks a free port."""
    port = port or free_port(host)
    app = build(assistant, host, port, users, models)
    upload_bytes = int(assistant.settings.max_file_mb * 1e6) + FORM_BYTES
    shown = f"[{host}]" if ":" in host else host
    server = Announcing(uvicorn.Config(BodyLimit(app, upload_bytes=upload_bytes), host=host, port=port,
                                       log_level="warning", access_log=False),
                        f"Chat running at http://{shown}:{port}/  (API: /v1, docs: /docs; Ctrl-C to stop)")
    server.run()


class Announcing(uvicorn.Server):
    """A uvicorn server that prints its line once it listens (tests and scripts wait for that line)."""

    def __init__(self, config: uvicorn.Config, line: str):
        super().__init__(config)
        self.line = line

    async def startup(self, sockets=None) -> None:
        await super().startup(sockets)
        if self.started:
            print(self.line, flush=True)
