"""Who may reach the chat: loopback or not, the rule for exposing it, and the users it admits.

Both ``rag serve`` (``ui.cli``, checking its flags) and ``ui.app.launch`` (deciding a
request's role) need these; they live here so neither imports the other.
"""

from __future__ import annotations

import argparse
import os

from rag.core.auth import Users, is_loopback


def exposure_error(host: str, auth: str | None, no_auth: bool, users: bool = False) -> str:
    """Why these server flags are refused ("" when they are fine)."""
    if auth is not None and (":" not in auth or not auth.split(":", 1)[0] or not auth.split(":", 1)[1]):
        return "--auth must be USER:PASS with both parts non-empty"
    if (auth or users) and no_auth:
        return "use either users (--auth, --auth-file, RAG_AUTH) or --no-auth, not both"
    if not is_loopback(host) and not (auth or users) and not no_auth:
        return (f"--host {host} exposes the chat beyond this computer: add users (RAG_AUTH, --auth-file FILE "
                "or --auth USER:PASS), or --no-auth if that is really intended")
    return ""


def load_users(args: argparse.Namespace, environ: dict[str, str] | None = None) -> Users | None:
    """Users from --auth-file, RAG_AUTH or --auth (one of them); None when none is given."""
    environ = dict(os.environ if environ is None else environ)
    auth_file, auth_flag = getattr(args, "auth_file", None), getattr(args, "auth", None)
    given = [name for name, value in (("--auth-file", auth_file), ("RAG_AUTH", environ.get("RAG_AUTH")),
                                      ("--auth", auth_flag)) if value]
    if len(given) > 1:
        raise ValueError(f"give users one way only, not {' and '.join(given)}")
    if auth_file:
        return Users.from_file(auth_file)
    if environ.get("RAG_AUTH"):
        return Users.parse(environ["RAG_AUTH"], where="RAG_AUTH")
    if auth_flag:
        user, password = auth_flag.split(":", 1)
        return Users({user: (password, "admin")})
    return None
