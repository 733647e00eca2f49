"""`rag serve`: start the browser chat.

The chat binds to loopback; anything wider needs users (``RAG_AUTH``, ``--auth-file``
or ``--auth``) or an explicit ``--no-auth``, because the chat can read the library
and its admins can change it (``ui.exposure``). Everything a chat user cannot choose
(backend, model files, server URL, API key, the list of models) comes from here:
flags, environment and the ``--config`` file.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

from rag import Assistant, Settings
from rag.cli import settings_from_args
from rag.core.config import configured_models
from ui.exposure import exposure_error, is_loopback, load_users
from ui.state import Models

__all__ = ["add_arguments", "exposure_error", "is_loopback", "load_users", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("server")
    group.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default 127.0.0.1; others need users or --no-auth)")
    group.add_argument("--port", type=int, default=7860, help="port to listen on (default 7860; 0 picks a free one)")
    group.add_argument("--config", type=Path, metavar="FILE",
                       help="operator settings and the models offered in the chat (TOML; also RAG_CONFIG)")
    group.add_argument("--auth-file", type=Path, metavar="FILE",
                       help="users, one user:password[:admin|reader] per line (also RAG_AUTH=entries)")
    group.add_argument("--auth", metavar="USER:PASS",
                       help="one admin user (visible in ps: prefer RAG_AUTH or --auth-file)")
    group.add_argument("--no-auth", action="store_true", help="allow a non-loopback --host without users")


def run(args: argparse.Namespace, settings: Settings, serve: Callable[..., object] | None = None) -> int:
    """Check the exposure rule, build the index if missing, then serve until Ctrl-C."""
    host, port = getattr(args, "host", "127.0.0.1"), getattr(args, "port", 7860)
    auth_flag, no_auth = getattr(args, "auth", None), getattr(args, "no_auth", False)
    problem = exposure_error(host, auth_flag, no_auth)
    if problem:
        print(f"rag serve: {problem}", file=sys.stderr)
        return 2
    try:
        users = load_users(args)
        if getattr(args, "config", None):
            os.environ["RAG_CONFIG"] = str(args.config)
            settings = settings_from_args(args)  # the file sits below environment and flags
        configured = configured_models(settings)
    except ValueError as exc:
        print(f"rag serve: {exc}", file=sys.stderr)
        return 2
    problem = exposure_error(host, auth_flag, no_auth, users=users is not None)
    if problem:
        print(f"rag serve: {problem}", file=sys.stderr)
        return 2

    assistant = Assistant(settings)
    if not assistant.documents():
        print(f"Building the index in {settings.index} (first start only)…", flush=True)
    report = assistant.ensure_index(progress=_print_progress)
    if report is not None:
        print(f"Indexed {len(report.added)} documents, {report.chunks} passages.", flush=True)
    print("Loading the models…", flush=True)
    assistant.warm_up()  # load every model once now, so the first question is quick

    models = Models(assistant, configured)
    if serve is not None:  # another front (the open API's server) mounts the chat beside its routes
        serve(assistant, host=host, port=port, users=users, models=models)
        return 0
    # Gradio takes ~3 s to import and every `rag` command imports this module to build its parser:
    # the server (ui.app, all Gradio) is imported only when it is started.
    from ui.app import launch

    launch(assistant, host=host, port=port, users=users, models=models, block=True)
    return 0


def _print_progress(done: int, total: int, doc_id: str) -> None:
    if doc_id:
        print(f"  [{done + 1}/{total}] {doc_id}", flush=True)
