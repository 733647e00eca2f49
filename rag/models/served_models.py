"""The models a chat user may pick: those the operator configured, plus what their model servers list.

A user sends only a *name*; the name is looked up here and mapped to the
operator's ``Settings``. Nothing in a request can become a URL, a file path or
an API key. For a configured OpenAI-compatible server (Ollama, llama-server,
vLLM) the models its ``/v1/models`` lists are offered too, as
``"NAME · model-id"``: asked with a short timeout, kept for five minutes, and
an unreachable server costs one line in the picker, never a traceback.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from rag.core.config import Settings

LIST_TIMEOUT = 3.0  # seconds to wait for a server's model list
CACHE_SECONDS = 300.0  # a list is asked for at most every five minutes
RETRY_SECONDS = 30.0  # an unreachable server is asked again after this
MAX_PER_SERVER = 50  # a server listing thousands of models gets the first 50 (bounded assistants)
MAX_LIST_BYTES = 1_000_000
MAX_ID_CHARS = 200
SEPARATOR = " · "
UNKNOWN = "choose one of the models in the list"


@dataclass(frozen=True)
class Listing:
    """What the picker offers now: names in order, and one line per server that could not be asked."""

    names: tuple[str, ...]
    problems: tuple[str, ...] = ()


Fetch = Callable[[str, str, float], list[str]]  # (base_url, api_key, timeout) -> model ids; raises httpx/ValueError


def fetch_model_ids(base_url: str, api_key: str, timeout: float = LIST_TIMEOUT) -> list[str]:
    """The model ids an OpenAI-compatible server lists at ``base_url/models`` (the key goes only there).

    Redirects are not followed, and at most ``MAX_LIST_BYTES`` of the answer are read.
    """
    headers = {"Accept": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    with httpx.stream("GET", base_url.rstrip("/") + "/models", headers=headers, timeout=timeout,
                      follow_redirects=False) as response:
        if not response.is_success:
            raise ValueError(f"HTTP {response.status_code} {response.reason_phrase}")
        body = bytearray()
        for part in response.iter_bytes():
            body += part
            if len(body) > MAX_LIST_BYTES:
                raise ValueError("the model list is too large")
    data = json.loads(bytes(body) or b"{}")
    entries = data.get("data") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise ValueError("the answer is not a model list")
    return [e["id"] for e in entries if isinstance(e, dict) and _usable_id(e.get("id"))]


class ServedModels:
    """The operator's models by name, with the models their servers serve, looked up safely and cached.

    ``configured`` is ``rag.core.config.configured_models(...)``: the first entry is the default.
    """

    def __init__(self, configured: dict[str, Settings], fetch: Fetch = fetch_model_ids,
                 ttl: float = CACHE_SECONDS, timeout: float = LIST_TIMEOUT,
                 clock: Callable[[], float] = time.monotonic):
        if not configured:
            raise ValueError("no models configured")
        self._configured = dict(configured)
        self._fetch, self._ttl, self._timeout, self._clock = fetch, ttl, timeout, clock
        self._cache: dict[tuple[str, str], tuple[float, tuple[str, ...] | None, str]] = {}
        self._lock = threading.Lock()

    @property
    def default(self) -> str:
        return next(iter(self._configured))

    def listing(self) -> Listing:
        """Every name a user may pick now (configured first), and why a server's models are missing."""
        names = list(self._configured)
        problems = []
        for name, settings in self._configured.items():
            if settings.generator != "openai":
                continue
            ids, problem = self._served(settings)
            if problem:
                problems.append(f"{name}: {problem}")
            names += [served_name(name, i) for i in ids if i != settings.model]
        return Listing(tuple(dict.fromkeys(names)), tuple(problems))

    def names(self) -> list[str]:
        return list(self.listing().names)

    def settings_for(self, name: object) -> Settings:
        """The operator's settings behind a picked name; ValueError (one line) for any other value."""
        if name is None or name == "":
            return self._configured[self.default]
        if not isinstance(name, str) or len(name) > 2 * MAX_ID_CHARS:
            raise ValueError(UNKNOWN)
        if name in self._configured:
            return self._configured[name]
        parent, _, model_id = name.partition(SEPARATOR)
        settings = self._configured.get(parent)
        if settings is None or settings.generator != "openai" or not model_id:
            raise ValueError(UNKNOWN)
        ids, _problem = self._served(settings)
        if model_id not in ids:
            raise ValueError(UNKNOWN)
        return settings.replace(model=model_id)

    def _served(self, settings: Settings) -> tuple[tuple[str, ...], str]:
        """The server's model ids (cached) and "" — or no ids and a one-line reason."""
        key = (settings.base_url, settings.api_key)
        now = self._clock()
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                at, ids, problem = cached
                if now - at < (self._ttl if ids is not None else min(self._ttl, RETRY_SECONDS)):
                    return ids or (), problem
        try:  # outside the lock: a slow server must not hold up picks of other models
            fetched = tuple(dict.fromkeys(self._fetch(settings.base_url, settings.api_key, self._timeout)))
            ids, problem = fetched[:MAX_PER_SERVER], ""
        except (httpx.HTTPError, httpx.InvalidURL, OSError, ValueError) as exc:  # refused, timed out, bad JSON
            ids, problem = None, f"its server's model list is unavailable ({_reason(exc)})"
        with self._lock:
            self._cache[key] = (now, ids, problem)
        return ids or (), problem


def served_name(configured: str, model_id: str) -> str:
    """How a served model appears in the picker: the operator's name for the server, then the model id."""
    return f"{configured}{SEPARATOR}{model_id}"


def _usable_id(value: object) -> bool:
    return (isinstance(value, str) and 0 < len(value) <= MAX_ID_CHARS and value.isprintable()
            and value == value.strip() and SEPARATOR not in value)


def _reason(exc: BaseException) -> str:
    """A short reason without the server's address (users see it; the address is the operator's)."""
    if isinstance(exc, (httpx.TimeoutException, TimeoutError)):
        return "no answer within the time limit"
    return (" ".join(str(exc).split()) or type(exc).__name__)[:120]
