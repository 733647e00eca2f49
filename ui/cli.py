"""`rag serve`: start the browser chat.

Gradio is imported only inside ``run`` so `rag --help` stays fast. The chat
binds to loopback; anything wider needs a password (``--auth``) or an
explicit ``--no-auth``, because the chat can read and change the library.
"""

from __future__ import annotations

import argparse
import ipaddress
import sys

LOOPBACK_NAMES = {"localhost", "ip6-localhost", "ip6-loopback"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("server")
    group.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default 127.0.0.1; others need --auth or --no-auth)")
    group.add_argument("--port", type=int, default=7860, help="port to listen on (default 7860; 0 picks a free one)")
    group.add_argument("--auth", metavar="USER:PASS", help="require this user name and password")
    group.add_argument("--no-auth", action="store_true", help="allow a non-loopback --host without a password")


def is_loopback(host: str) -> bool:
    host = host.strip().strip("[]").lower()
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def exposure_error(host: str, auth: str | None, no_auth: bool) -> str:
    """Why these server flags are refused ("" when they are fine)."""
    if auth is not None and (":" not in auth or not auth.split(":", 1)[0] or not auth.split(":", 1)[1]):
        return "--auth must be USER:PASS with both parts non-empty"
    if auth and no_auth:
        return "use either --auth or --no-auth, not both"
    if not is_loopback(host) and not auth and not no_auth:
        return (f"--host {host} exposes the chat beyond this computer: add --auth USER:PASS, "
                "or --no-auth if that is really intended")
    return ""


def run(args: argparse.Namespace, settings) -> int:
    """Check the exposure rule, build the index if missing, then serve until Ctrl-C."""
    host, port = getattr(args, "host", "127.0.0.1"), getattr(args, "port", 7860)
    auth_flag, no_auth = getattr(args, "auth", None), getattr(args, "no_auth", False)
    problem = exposure_error(host, auth_flag, no_auth)
    if problem:
        print(f"rag serve: {problem}", file=sys.stderr)
        return 2
    auth = tuple(auth_flag.split(":", 1)) if auth_flag else None

    from rag import Assistant

    assistant = Assistant(settings)
    if not assistant.documents():
        print(f"Building the index in {settings.index} (first start only)…", flush=True)
    report = assistant.ensure_index(progress=_print_progress)
    if report is not None:
        print(f"Indexed {len(report.added)} documents, {report.chunks} passages.", flush=True)
    print("Loading the models…", flush=True)
    assistant.warm_up()  # load every model once now, so the first question is quick

    from ui.app import launch

    launch(assistant, host=host, port=port, auth=auth, block=True)  # type: ignore[arg-type]
    return 0


def _print_progress(done: int, total: int, doc_id: str) -> None:
    if doc_id:
        print(f"  [{done + 1}/{total}] {doc_id}", flush=True)
