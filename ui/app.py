"""The browser chat: a Gradio app over ``rag.Assistant``, assembled from its tabs.

Shared objects are few and fixed at start (``ui.state.Shared``): one index, one
assistant per model the operator configured (``Models``), the saved conversations
and the access rules. Each tab is one module that builds its components and wires
its events over that state: ``ui.chat`` (with ``ui.conversations`` and
``ui.settings``), ``ui.check``, ``ui.library`` and ``ui.evaluate``; ``ui.api`` adds
the two endpoints for programs.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import gradio as gr  # noqa: E402
from starlette.middleware import Middleware  # noqa: E402

from rag import Assistant  # noqa: E402
from rag.core.auth import Access, LoginGuard, LoginThrottle, Users  # noqa: E402
from rag.models.local_llama import LLAMA_SEQUENCES  # noqa: E402
from rag.assistant.conversations import Conversations  # noqa: E402
from ui.api import add_api  # noqa: E402
from ui.chat import build_chat  # noqa: E402
from ui.check import build_check  # noqa: E402
from ui.common import Loader, status_line  # noqa: E402
from ui.evaluate import build_evaluate  # noqa: E402
from ui.exposure import is_loopback  # noqa: E402
from ui.library import build_library  # noqa: E402
from ui.quiet import QuietBlocks, QuietStreams  # noqa: E402
from ui.state import Models, Published as _Published, Shared  # noqa: E402, F401 - _Published: the tests' old name

CSS_PATH = Path(__file__).with_name("style.css")


def build_app(base: Assistant, models: Models | None = None, access: Access | None = None,
              conversations: Conversations | None = None) -> gr.Blocks:
    """The whole interface: Chat (with saved conversations), Check a text, Library and Evaluate over one library."""
    shared = Shared(base, models or Models(base), access or Access(None, loopback=True),
                    conversations or Conversations(base.settings.home / "conversations.sqlite"))
    with QuietBlocks(title="Cited answers", fill_width=True) as app:
        with gr.Row(elem_classes="rag-header"):
            gr.HTML('<div class="rag-brand"><span class="rag-logo">❝</span><div><h1>Cited answers</h1>'
                    '<p>Answers from your own documents. Every sentence is checked against its source.</p>'
                    '</div></div>')
        status = gr.HTML(status_line(base), elem_id="rag-status")
        with gr.Tabs():
            chat = build_chat(shared, status)
            build_check(shared)
            library = build_library(shared, status)
            build_evaluate(shared)
        page = Loader.join([chat, library])
        app.load(page.views, None, page.outputs, api_visibility="private")
        add_api(base)
    return app


def launch(assistant: Assistant, host: str = "127.0.0.1", port: int = 7860,
           auth: tuple[str, str] | None = None, block: bool = True, quiet: bool = True,
           users: Users | None = None, models: Models | None = None,
           login_guard: LoginGuard | None = None) -> tuple[gr.Blocks, str]:
    """Build and start the app; returns it and its local URL (blocking until Ctrl-C when ``block``).

    ``auth`` (one user, an admin) is kept for compatibility; ``users`` gives several with roles.
    Port 0 picks a free port, so tests and side-by-side instances never collide.
    """
    if auth is not None and users is None:
        users = Users({auth[0]: (auth[1], "admin")})
    if port == 0:
        port = free_port(host)
    access = Access(users, loopback=is_loopback(host))
    app = served_app(assistant, models, access)
    guard = login_guard or LoginGuard()
    _, url, _ = app.launch(
        server_name=host, server_port=port, share=False, prevent_thread_lock=True, quiet=quiet,
        app_kwargs={"middleware": [Middleware(QuietStreams), Middleware(LoginThrottle, guard=guard)]},
        **serving_options(users),
    )
    if block:
        print(f"Chat running at {url}  (Ctrl-C to stop)", flush=True)
        try:
            app.block_thread()
        except KeyboardInterrupt:
            pass
    return app, url


def served_app(assistant: Assistant, models: Models | None, access: Access) -> gr.Blocks:
    """The chat as it is served, alone (``launch``) or mounted beside the open API: built and queued."""
    app = build_app(assistant, models=models, access=access)
    # As many events at once as the local model decodes together: each retrieves beside the others' answers.
    app.queue(default_concurrency_limit=LLAMA_SEQUENCES)
    return app


def serving_options(users: Users | None) -> dict:
    """How Gradio serves the chat, whoever starts it: login, no tracebacks, no SSR, the theme and stylesheet."""
    return {"auth": users.check if users else None, "show_error": False, "ssr_mode": False, "footer_links": ["api"],
            "theme": gr.themes.Soft(primary_hue="indigo"), "css": CSS_PATH.read_text(encoding="utf-8")}


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]
