"""Small records for work that streams and can be stopped: quotes sent early, cancel tokens, one job at a time.

An answer takes most of its time in the model; the evidence is known before
that. ``Quotes`` carries it to the reader first. ``CancelToken`` lets whoever
started a stream (a Stop button) end it: the pipeline checks the token
between steps and between the tokens a model writes, so a stopped answer
does not keep the model busy. ``Cancelled`` is what a stopped stream raises.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Hashable, TypeVar

if TYPE_CHECKING:
    from rag.core.records import Citation

T = TypeVar("T")


@dataclass(frozen=True)
class Quotes:
    """The evidence an answer will cite, yielded by ``Assistant.stream`` before the answer text.

    The citations are numbered as the finished ``Answer`` numbers them; a
    non-English quote's ``translation`` may still be missing (it is made later).
    """

    question: str
    citations: tuple["Citation", ...]


class Cancelled(Exception):
    """The stream was stopped through its ``CancelToken``."""

    def __init__(self, message: str = "stopped before the answer was finished"):
        super().__init__(message)


class CancelToken:
    """A flag one thread sets and the worker checks; cheap to check, safe across threads."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        """Raise ``Cancelled`` if the token was cancelled; a no-op otherwise."""
        if self._event.is_set():
            raise Cancelled()


def cancellable(items: Iterator[T], token: CancelToken | None) -> Iterator[T]:
    """``items`` until ``token`` is cancelled; then the source is closed and ``Cancelled`` raised.

    Closing matters: a model's token stream holds the model's lock and a
    server connection, which ``close`` releases at once.
    """
    if token is None:
        yield from items
        return
    try:
        token.check()
        for item in items:
            token.check()
            yield item
        token.check()
    finally:
        close = getattr(items, "close", None)
        if close is not None:
            close()


class CancellableGenerator:
    """A text generator whose token streams stop when ``token`` is cancelled (everything else passes through)."""

    def __init__(self, generator, token: CancelToken):
        self._generator = generator
        self._token = token

    def stream(self, prompt: str, **kwargs) -> Iterator[str]:
        self._token.check()
        return cancellable(self._generator.stream(prompt, **kwargs), self._token)

    def __getattr__(self, name: str):
        return getattr(self._generator, name)


class Running:
    """The cancel tokens of the jobs each key (a browser session) is running, so its Stop button reaches them."""

    def __init__(self, limit: int = 10_000):
        self._tokens: dict[Hashable, list[CancelToken]] = {}
        self._lock = threading.Lock()
        self._limit = limit

    def start(self, key: Hashable) -> CancelToken:
        """A fresh token for a job of ``key``; the key's other jobs go on."""
        token = CancelToken()
        with self._lock:
            if key not in self._tokens and len(self._tokens) >= self._limit:
                # bounded whatever the clients do: the longest-running key's jobs are stopped
                for old in self._tokens.pop(next(iter(self._tokens))):
                    old.cancel()
            self._tokens.setdefault(key, []).append(token)
        return token

    def stop(self, key: Hashable) -> int:
        """Cancel every job of ``key``; how many there were."""
        with self._lock:
            tokens = self._tokens.pop(key, [])
        for token in tokens:
            token.cancel()
        return len(tokens)

    def finish(self, key: Hashable, token: CancelToken) -> None:
        """Forget a job's token once the job ended."""
        with self._lock:
            tokens = self._tokens.get(key)
            if tokens and token in tokens:
                tokens.remove(token)
                if not tokens:
                    del self._tokens[key]

    def __len__(self) -> int:
        with self._lock:
            return sum(len(t) for t in self._tokens.values())


class Slot:
    """Room for one job at a time per server: a second caller is told so at once instead of waiting."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._holder: CancelToken | None = None

    def claim(self, token: CancelToken) -> bool:
        with self._lock:
            if self._holder is not None and not self._holder.cancelled:
                return False
            self._holder = token
            return True

    def release(self, token: CancelToken) -> None:
        with self._lock:
            if self._holder is token:
                self._holder = None

    @property
    def busy(self) -> bool:
        with self._lock:
            return self._holder is not None and not self._holder.cancelled
