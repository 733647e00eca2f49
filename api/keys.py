"""API keys for programs: one or more per user, kept only as hashes, created and revoked with `rag users key`.

A key is ``rag-<id>-<secret>``: the id names it in listings and revocations, the
secret (32 random bytes) makes it unguessable. Only the SHA-256 of the whole key
is stored (a slow salted hash buys nothing against 256 random bits), in
``HOME/api_keys.sqlite``, which the server reads on every request: a revoked key
stops working at once. A key carries no role of its own: it stands for its user,
whose role comes from the server's users (``RAG_AUTH``, ``--auth-file``), as in
the chat; a key whose user is gone opens nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import secrets
import sqlite3
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from rag.core.auth import Users

PREFIX = "rag"
SCHEMA = """CREATE TABLE IF NOT EXISTS api_keys (
    key_id TEXT PRIMARY KEY, user TEXT NOT NULL, sha256 TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL, revoked_at TEXT)"""


@dataclass(frozen=True)
class KeyEntry:
    """A key as listed: never the key itself."""

    key_id: str
    user: str
    created_at: str
    revoked_at: str | None = None


class ApiKeys:
    """The key table of one home folder."""

    def __init__(self, path: Path):
        self.path = Path(path)

    @classmethod
    def for_home(cls, home: Path) -> "ApiKeys":
        return cls(Path(home) / "api_keys.sqlite")

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=10)
        connection.execute(SCHEMA)
        return connection

    def create(self, user: str) -> str:
        """A new key for ``user``; the only time the key exists in clear is this return value."""
        if not user or not user.strip() or ":" in user:
            raise ValueError("give the user name the key is for (as in RAG_AUTH or the auth file)")
        key_id = secrets.token_hex(4)
        key = f"{PREFIX}-{key_id}-{secrets.token_urlsafe(32)}"
        with self._connect() as db:
            db.execute("INSERT INTO api_keys VALUES (?, ?, ?, ?, NULL)", (key_id, user, _digest(key), _now()))
        if os.name == "posix":
            self.path.chmod(0o600)
        return key

    def revoke(self, key_id: str) -> bool:
        """Revoke by id; False when no live key has that id."""
        with self._connect() as db:
            done = db.execute("UPDATE api_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL",
                              (_now(), key_id)).rowcount
        return bool(done)

    def entries(self) -> list[KeyEntry]:
        if not self.path.exists():
            return []
        with self._connect() as db:
            rows = db.execute("SELECT key_id, user, created_at, revoked_at FROM api_keys ORDER BY created_at").fetchall()
        return [KeyEntry(*row) for row in rows]

    def user_for(self, key: str) -> str | None:
        """The user a live key stands for; None for any other string (without opening a file that is not there)."""
        if not key.startswith(PREFIX + "-") or len(key) > 200 or not self.path.exists():
            return None
        with self._connect() as db:
            row = db.execute("SELECT user FROM api_keys WHERE sha256 = ? AND revoked_at IS NULL",
                             (_digest(key),)).fetchone()
        return row[0] if row else None


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# -- `rag users key create|list|revoke` ------------------------------------------------------

HELP = "API keys for programs: key create USER, key list, key revoke KEY_ID"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("what", choices=["key"], help="what to manage: API keys for programs")
    parser.add_argument("action", choices=["create", "list", "revoke"],
                        help="create USER (prints the key once), list, or revoke KEY_ID")
    parser.add_argument("name", nargs="?", help="the user (create) or the key id (revoke)")
    parser.add_argument("--auth-file", type=Path, metavar="FILE",
                        help="the server's users (also RAG_AUTH): create then refuses a user not among them")


def run(args: argparse.Namespace, settings) -> int:
    keys = ApiKeys.for_home(settings.home)
    if args.action == "list":
        for entry in keys.entries():
            state = f"revoked {entry.revoked_at}" if entry.revoked_at else "live"
            print(f"{entry.key_id}  {entry.user:20} created {entry.created_at}  {state}")
        return 0
    if not args.name:
        print(f"rag users: key {args.action} needs a {'user' if args.action == 'create' else 'key id'}",
              file=sys.stderr)
        return 2
    if args.action == "revoke":
        if not keys.revoke(args.name):
            print(f"rag users: no live key with id {args.name}", file=sys.stderr)
            return 1
        print(f"revoked {args.name}")
        return 0
    users = _users(args)
    if users is not None and users.role(args.name) is None:
        print(f"rag users: {args.name} is not one of the server's users", file=sys.stderr)
        return 2
    key = keys.create(args.name)
    print(key)
    role = users.role(args.name) if users is not None else "the role the server gives this user"
    print(f"API key for {args.name} ({role}): shown once, keep it now (only its hash is stored)", file=sys.stderr)
    return 0


def _users(args: argparse.Namespace) -> Users | None:
    """The server's users when given here (an unreadable file is an ``AuthError``: one line from ``rag``)."""
    if args.auth_file:
        return Users.from_file(args.auth_file)
    if os.environ.get("RAG_AUTH"):
        return Users.parse(os.environ["RAG_AUTH"])
    return None
