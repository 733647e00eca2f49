"""Who is calling, in which role, and what every route shares.

Access is decided exactly as in the chat (``rag.auth.Access``): without users on
loopback the one local caller is an admin; an open address with ``--no-auth``
makes everyone a reader; with users, a program sends ``Authorization: Bearer
KEY`` and acts as the key's user, in that user's role. Wrong keys are slowed
down by the same ``LoginGuard`` as wrong passwords at the chat's login.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import anyio
from anyio import to_thread
from fastapi import Depends, Request

from api.errors import ApiError
from api.keys import ApiKeys
from rag import Assistant
from rag.core.auth import ADMIN, Access, LoginGuard
from rag.core.progress import Slot
from rag.models.served_models import Listing

T = TypeVar("T")
ANSWERS_AT_ONCE = 2  # like the chat's queue: more would only share the same two cores


class ModelChoice(Protocol):
    """The operator's models by name (the chat's ``Models``): a request can pick a name, nothing else."""

    base: Assistant

    def listing(self) -> Listing: ...

    def get(self, name: str | None) -> Assistant: ...


@dataclass
class ApiContext:
    """What every route shares: fixed when the server starts."""

    models: ModelChoice
    access: Access
    keys: ApiKeys
    guard: LoginGuard = field(default_factory=LoginGuard)
    check_slot: Slot = field(default_factory=Slot)  # one fact-check at a time, as in the chat
    _limiter: anyio.CapacityLimiter | None = None

    async def run(self, work: Callable[..., T], *args: Any) -> T:
        """Run blocking model work in a worker thread, at most ``ANSWERS_AT_ONCE`` at a time."""
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(ANSWERS_AT_ONCE)  # made inside the event loop
        return await to_thread.run_sync(work, *args, limiter=self._limiter)


@dataclass(frozen=True)
class Caller:
    """Who sent a request (None without users) and the role the server gives them."""

    user: str | None
    role: str

    @property
    def admin(self) -> bool:
        return self.role == ADMIN


def context(request: Request) -> ApiContext:
    return request.app.state.rag


def caller(request: Request) -> Caller:
    """The caller's role, from the server's users and the key sent; 401/429 otherwise."""
    ctx = context(request)
    if ctx.access.users is None:
        return Caller(None, ctx.access.role(None) or "reader")
    client = request.client.host if request.client else "unknown"
    wait = ctx.guard.wait(client)
    if wait > 0:
        seconds = math.ceil(wait)
        raise ApiError(429, f"too many wrong keys or passwords: try again in {seconds} s", "rate_limited",
                       {"Retry-After": str(seconds)})
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise ApiError(401, "this server needs an API key: send Authorization: Bearer KEY "
                            "(an admin makes one with `rag users key create USER`)", "missing_api_key",
                       {"WWW-Authenticate": "Bearer"})
    user = ctx.keys.user_for(key.strip())
    role = ctx.access.role(user) if user is not None else None
    if role is None:
        ctx.guard.failed(client)
        raise ApiError(401, "the API key is not valid", "invalid_api_key", {"WWW-Authenticate": "Bearer"})
    ctx.guard.succeeded(client)
    return Caller(user, role)


def admin(who: Caller = Depends(caller)) -> Caller:
    """Only an admin changes the library, as in the chat."""
    if not who.admin:
        raise ApiError(403, "only an admin can change the library", "admin_only")
    return who
