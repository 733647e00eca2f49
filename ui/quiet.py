"""The server's manners with bad requests: one line for the caller and the log, never a traceback.

A raw ``queue/join`` can send any handler anything, and a raw GET can read a stream
that does not exist; both are the caller's errors, not the server's.
"""

from __future__ import annotations

import logging
from typing import Any

import gradio as gr

from ui.common import one_line
from ui.render import esc

LOG = logging.getLogger("rag.ui")


class QuietBlocks(gr.Blocks):
    """Blocks whose handlers answer any bad request with one line and print no traceback.

    Gradio prints a stack trace for every exception but a ``gr.Error(print_exception=False)``,
    and a raw ``queue/join`` can send any handler wrong types, None, megabyte strings or too
    many values, failing in Gradio's own preprocessing before our code runs. Those are the
    caller's errors, not the server's: the caller gets one line, the log one line (the
    trace only at DEBUG level, for a developer who asks for it).
    """

    async def process_api(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        try:
            return await super().process_api(*args, **kwargs)
        except gr.Error as exc:
            if not exc.print_exception and len(str(exc.message)) <= 300 and "\n" not in str(exc.message):
                raise
            LOG.warning("rag serve: refused a request: %s", one_line(exc.message))
            # Gradio shows an error's message as HTML, and this one may quote the request's value
            raise gr.Error(esc(one_line(exc.message)), title=exc.title, print_exception=False) from None
        except Exception as exc:  # noqa: BLE001 - whatever a request's data broke, one line
            LOG.warning("rag serve: refused a request: %s: %s", type(exc).__name__, one_line(exc))
            LOG.debug("the refused request's trace", exc_info=True)
            raise gr.Error(f"This request could not be handled ({esc(one_line(exc, 200))}).",
                           print_exception=False) from None


class QuietStreams:
    """ASGI middleware: an error raised after a response has started is one log line and a closed response.

    Gradio's event stream raises once its headers are sent when a client reads the
    stream of a session that does not exist (any raw GET can); uvicorn would print
    a traceback for it. The response is ended cleanly instead.
    """

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = {"started": False, "ended": False}

        async def tracked(message: dict) -> None:
            if message["type"] == "http.response.start":
                state["started"] = True
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                state["ended"] = True
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:  # noqa: BLE001 - only once the response is under way; otherwise re-raised
            if not state["started"]:
                raise
            LOG.warning("rag serve: %s %s ended early: %s", scope.get("method"), scope.get("path"), one_line(exc))
            if not state["ended"]:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
