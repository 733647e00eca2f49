"""Who may use the chat, in which role, and how fast wrong passwords may be tried.

Credentials come from ``RAG_AUTH`` or a file (``--auth-file``), one
``user:password[:role]`` per entry, so they never have to appear on a command
line (where ``ps`` shows them). Roles: ``reader`` asks, exports and keeps
conversations; ``admin`` also changes the library. An entry without a role is a
reader: the least privilege is the default.

``LoginThrottle`` is ASGI middleware in front of the login route: after each
failed login a client must wait twice as long as after the one before
(0.5 s, 1 s, 2 s, … up to a minute); until then its attempts are refused with
429 before any password is compared.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

ROLES = ("reader", "admin")
LOOPBACK_NAMES = {"localhost", "ip6-localhost", "ip6-loopback"}
ADMIN, READER = "admin", "reader"


class AuthError(ValueError):
    """Unusable credentials; the message says what is wrong in one line (never the password)."""


class Users:
    """User names with their password and role."""

    def __init__(self, entries: dict[str, tuple[str, str]]):
        if not entries:
            raise AuthError("no users given")
        self._entries = dict(entries)

    @classmethod
    def parse(cls, text: str, where: str = "RAG_AUTH", default_role: str = READER) -> "Users":
        """Entries separated by new lines or commas; ``#`` starts a comment line."""
        entries: dict[str, tuple[str, str]] = {}
        items = [item.strip() for line in text.splitlines() if not line.strip().startswith("#")
                 for item in line.split(",")]
        for number, item in enumerate((i for i in items if i), start=1):
            parts = item.split(":")
            role = default_role
            if len(parts) >= 3 and parts[-1] in ROLES:
                role = parts.pop()
            user, password = parts[0].strip(), ":".join(parts[1:])
            if len(parts) < 2 or not user or not password:
                raise AuthError(f"{where}: entry {number} must be user:password or user:password:role")
            if user in entries:
                raise AuthError(f"{where}: user {user!r} is given twice")
            entries[user] = (password, role)
        return cls(entries)

    @classmethod
    def from_file(cls, path: Path) -> "Users":
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise AuthError(f"cannot read the auth file {path}: {exc.__class__.__name__}") from None
        return cls.parse(text, where=str(path))

    def check(self, username: str, password: str) -> bool:
        """Constant-time comparison, so timing does not tell how much of a password was right."""
        stored = self._entries.get(str(username))
        expected = stored[0] if stored else "\0" * 16
        ok = hmac.compare_digest(str(password).encode("utf-8"), expected.encode("utf-8"))
        return bool(stored) and ok

    def role(self, username: str | None) -> str | None:
        stored = self._entries.get(str(username)) if username is not None else None
        return stored[1] if stored else None

    def __len__(self) -> int:
        return len(self._entries)


class Access:
    """The role of whoever sends a request, decided on the server only."""

    def __init__(self, users: Users | None, loopback: bool):
        self.users = users
        self.loopback = loopback

    def role(self, username: str | None) -> str | None:
        """Without auth the single local user is admin; on an open address without auth, a reader."""
        if self.users is None:
            return ADMIN if self.loopback else READER
        return self.users.role(username)

    def is_admin(self, username: str | None) -> bool:
        return self.role(username) == ADMIN


class LoginGuard:
    """Exponential backoff per client after failed logins (bounded memory)."""

    def __init__(self, base: float = 0.5, cap: float = 60.0, clients: int = 10_000,
                 clock: Callable[[], float] = time.monotonic):
        self.base, self.cap, self.clients, self.clock = base, cap, clients, clock
        self._state: OrderedDict[str, tuple[int, float]] = OrderedDict()  # client -> (failures, locked until)
        self._lock = threading.Lock()

    def wait(self, client: str) -> float:
        """Seconds this client must still wait before its next attempt is even looked at."""
        with self._lock:
            failures, until = self._state.get(client, (0, 0.0))
        return max(0.0, until - self.clock())

    def failed(self, client: str) -> float:
        """Record a failure; returns the new wait."""
        with self._lock:
            failures, _ = self._state.pop(client, (0, 0.0))
            failures += 1
            delay = min(self.cap, self.base * 2 ** (failures - 1))
            self._state[client] = (failures, self.clock() + delay)
            while len(self._state) > self.clients:
                self._state.popitem(last=False)
        return delay

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._state.pop(client, None)


class LoginThrottle:
    """ASGI middleware: refuse logins from a client that is still waiting; count failures and successes."""

    def __init__(self, app, guard: LoginGuard):
        self.app = app
        self.guard = guard

    async def __call__(self, scope, receive, send):
        is_login = scope.get("method") == "POST" and scope.get("path", "").rstrip("/").endswith("/login")
        if scope["type"] != "http" or not is_login:
            await self.app(scope, receive, send)
            return
        client = (scope.get("client") or ("unknown",))[0]
        wait = self.guard.wait(client)
        if wait > 0:
            seconds = math.ceil(wait)
            body = json.dumps({"detail": f"Too many failed logins: try again in {seconds} s."}).encode()
            await send({"type": "http.response.start", "status": 429,
                        "headers": [(b"content-type", b"application/json"), (b"retry-after", str(seconds).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        status: dict[str, int] = {}

        async def watch(message):
            if message["type"] == "http.response.start":
                status["code"] = int(message["status"])
            await send(message)

        await self.app(scope, receive, watch)
        code = status.get("code", 500)
        if code < 300:
            self.guard.succeeded(client)
        elif code < 500:
            self.guard.failed(client)


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this computer only: the chat then needs no users."""
    host = host.strip().strip("[]").lower()
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
