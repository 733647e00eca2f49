"""`rag serve`: the browser chat with the open API (``/v1``, ``/docs``) beside it, on one port.

The chat's own command (``ui.cli``) reads the flags, checks who may reach the
server and loads the models; this one hands it the server that mounts the chat
beside the API routes, so ``ui`` never imports the API above it.
"""

from __future__ import annotations

import argparse

from rag import Settings
from ui.cli import add_arguments
from ui.cli import run as run_chat

HELP = "start the browser chat and the open API (/v1) on one port"

__all__ = ["HELP", "add_arguments", "run"]


def run(args: argparse.Namespace, settings: Settings) -> int:
    # FastAPI, uvicorn and Gradio (~3 s) load only when the server starts, not for every `rag` command.
    from api.server import serve

    return run_chat(args, settings, serve=serve)
