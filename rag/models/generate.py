"""Text generators behind one small interface: llama.cpp, transformers, or an OpenAI-compatible server.

Prompts are plain completions (no chat template), which suits the packaged
base model and works the same on every backend. Every backend streams.
Instruct/chat models are reached through ``chat_stream`` (a list of
messages, rendered by the model's own chat template or the server's chat
API); ``has_chat`` says whether the model is one, which is what
``answer_mode="auto"`` reads.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import httpx
from httpx_sse import SSEError, connect_sse

from rag.core.config import Settings
from rag.core.errors import GeneratorError
from rag.models.local_llama import LlamaCppGenerator, default_gguf_path, gguf_is_chat_model  # noqa: F401 (re-exported)


class Generator(Protocol):
    name: str  # the model, as shown to users and recorded in exports
    backend: str  # "llama" | "transformers" | "openai"
    context_window: int  # tokens

    def count_tokens(self, text: str) -> int: ...

    def stream(self, prompt: str, *, max_tokens: int, temperature: float = 0.0, stop: list[str] | None = None) -> Iterator[str]: ...


Message = dict[str, str]  # {"role": "system" | "user" | "assistant", "content": ...}

MAX_ERROR_BYTES = 4096  # read of a model server's error reply, for its message


def has_chat(generator: Generator | None) -> bool:
    """Whether ``generator`` is an instruct/chat model reachable through ``chat_stream``."""
    return bool(generator is not None and getattr(generator, "has_chat", False)
                and callable(getattr(generator, "chat_stream", None)))


def complete(generator: Generator, prompt: str, **kwargs: object) -> str:
    """The whole completion as one string."""
    return "".join(generator.stream(prompt, **kwargs))  # type: ignore[arg-type]


def fit_prompt(generator: Generator, parts: list[str], reserve: int) -> list[str]:
    """Drop trailing optional parts until the prompt fits the context window.

    ``parts[0]`` is required; later parts are evidence in order of importance.
    Raises ``GeneratorError`` if even the required part does not fit.
    """
    budget = generator.context_window - reserve
    kept = list(parts)
    while kept and generator.count_tokens("".join(kept)) > budget:
        if len(kept) == 1:
            raise GeneratorError(
                f"the prompt needs more than the model's {generator.context_window}-token context window"
            )
        kept.pop()
    return kept


class TransformersGenerator:
    """Any causal language model that transformers can load: a local folder, a hub id, or a .gguf file.

    A .gguf file is de-quantised on load (needs the ``gguf`` and ``accelerate`` packages).
    """

    backend = "transformers"

    def __init__(self, model: str, n_ctx: int = 2048):
        try:
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError as exc:
            raise GeneratorError("the transformers backend needs: pip install transformers") from exc
        source, extra = model, {}
        if model.endswith(".gguf"):
            source, extra = str(Path(model).parent), {"gguf_file": Path(model).name}
        try:
            self._tokenizer = AutoTokenizer.from_pretrained(source, **extra)
            self._model = AutoModelForCausalLM.from_pretrained(source, **extra)
        except (OSError, ValueError, ImportError) as exc:
            raise GeneratorError(f"cannot load transformers model {model!r}: {exc}") from None
        self._model.eval()
        self.name = model
        limit = getattr(self._model.config, "max_position_embeddings", None) or n_ctx
        self.context_window = int(min(limit, n_ctx))
        # Hub instruct models ship a chat template; base ones usually do not.
        self.has_chat = bool(getattr(self._tokenizer, "chat_template", None)) and not model.endswith(".gguf")
        self._lock = threading.Lock()

    def count_tokens(self, text: str) -> int:
        return len(self._tokenizer(text)["input_ids"])

    def stream(self, prompt: str, *, max_tokens: int, temperature: float = 0.0, stop: list[str] | None = None) -> Iterator[str]:
        from transformers import TextIteratorStreamer

        inputs = self._tokenizer(prompt, return_tensors="pt")
        streamer = TextIteratorStreamer(self._tokenizer, skip_prompt=True, skip_special_tokens=True)
        kwargs = dict(inputs, max_new_tokens=max_tokens, streamer=streamer, do_sample=temperature > 0,
                      pad_token_id=self._tokenizer.pad_token_id or self._tokenizer.eos_token_id)
        if temperature > 0:
            kwargs["temperature"] = temperature
        with self._lock:
            worker = threading.Thread(target=self._model.generate, kwargs=kwargs, daemon=True)
            worker.start()
            yield from _stop_at(streamer, stop or [])
            worker.join()

    def chat_stream(self, messages: list[Message], *, max_tokens: int, temperature: float = 0.0,
                    stop: list[str] | None = None) -> Iterator[str]:
        prompt = self._tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return self.stream(prompt, max_tokens=max_tokens, temperature=temperature, stop=stop)


class OpenAICompatibleGenerator:
    """A model served over the OpenAI API: Ollama, llama-server, vLLM, LM Studio.

    ``api="completions"`` sends plain prompts to ``/completions``; ``api="chat"`` talks to
    ``/chat/completions`` (the server applies the model's chat template), and a plain prompt
    then goes as one user message. HTTP is httpx, the event stream is read by httpx-sse. Requests
    go only to ``base_url`` (redirects are not followed, so the key goes nowhere else), and every
    failure is one ``GeneratorError`` line that names the server without its key.
    """

    backend = "openai"

    def __init__(self, base_url: str, model: str, api_key: str = "", n_ctx: int = 2048, timeout: float = 120.0,
                 api: str = "completions"):
        if api not in ("completions", "chat"):
            raise GeneratorError(f"unknown OpenAI API {api!r} (use completions or chat)")
        self.api = api
        self.has_chat = api == "chat"
        self.base_url = base_url.rstrip("/")
        self.name = model
        self._api_key = api_key
        self._shown = _shown_address(self.base_url)
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        # one timeout for connecting and for each read, as a socket timeout; no retries: the caller decides
        self._client = httpx.Client(headers=headers, timeout=timeout, follow_redirects=False)
        self.context_window = self._server_context(model) or n_ctx

    def _server_context(self, model: str) -> int | None:
        """The context window the server reports for ``model``, where it says."""
        listing = self._get("/models")
        entries = listing.get("data")
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, dict) and entry.get("id") == model:
                meta = entry.get("meta") or {}
                for key in ("n_ctx_train", "n_ctx", "context_length", "max_model_len"):
                    if isinstance(meta.get(key) or entry.get(key), int):
                        return int(meta.get(key) or entry.get(key))
        return None

    def _get(self, path: str) -> dict:
        """The server's JSON answer at ``path``."""
        with self._errors():
            response = self._client.get(self.base_url + path)
            self._check(response)
            return self._reply(response.content or b"{}")

    def count_tokens(self, text: str) -> int:
        return max(1, len(text) // 3)  # servers differ in tokenizer endpoints; over-estimate instead

    def stream(self, prompt: str, *, max_tokens: int, temperature: float = 0.0, stop: list[str] | None = None) -> Iterator[str]:
        if self.api == "chat":
            yield from self.chat_stream([{"role": "user", "content": prompt}], max_tokens=max_tokens,
                                        temperature=temperature, stop=stop)
            return
        body = {"model": self.name, "prompt": prompt, "max_tokens": max_tokens, "temperature": temperature,
                "stream": True}
        yield from self._events("/completions", body, stop, lambda choice: choice.get("text"))

    def chat_stream(self, messages: list[Message], *, max_tokens: int, temperature: float = 0.0,
                    stop: list[str] | None = None) -> Iterator[str]:
        """The reply to ``messages`` from ``/chat/completions``, streamed."""
        body = {"model": self.name, "messages": messages, "max_tokens": max_tokens, "temperature": temperature,
                "stream": True}
        yield from self._events("/chat/completions", body, stop,
                                lambda choice: (choice.get("delta") or choice.get("message") or {}).get("content"))

    def _events(self, path: str, body: dict, stop: list[str] | None, text_of) -> Iterator[str]:
        """The text pieces of a streamed (server-sent events) reply; a non-streamed JSON reply is one piece.

        Closing the iterator early (a Stop) closes the connection, so the server stops generating.
        """
        if stop:
            body["stop"] = stop
        with self._errors(), connect_sse(self._client, "POST", self.base_url + path, json=body) as source:
            self._check(source.response)
            if "json" in source.response.headers.get("Content-Type", ""):  # a server that ignores "stream"
                text = _text(self._reply(source.response.read() or b"{}"), text_of)
                if text:
                    yield text
                return
            for event in source.iter_sse():
                if event.data.strip() == "[DONE]":
                    break
                if not event.data.strip():
                    continue
                text = _text(self._reply(event.data), text_of)
                if text:
                    yield text

    def _reply(self, data: str | bytes) -> dict:
        """One JSON object of the server's; an error the server reports (even inside a stream) is raised."""
        value = json.loads(data)
        if not isinstance(value, dict):
            raise ValueError(f"expected a JSON object, got {type(value).__name__}")
        if value.get("error"):
            raise GeneratorError(f"the model server at {self._shown} reported an error: {self._detail(value)}")
        return value

    def _check(self, response: httpx.Response) -> None:
        """An HTTP error status as one line, with the server's own message if it gave one."""
        if response.is_success:
            return
        raw = b""
        for part in response.iter_bytes():  # an error page may be large: its start is enough
            raw += part
            if len(raw) >= MAX_ERROR_BYTES:
                break
        raw = raw[:MAX_ERROR_BYTES]
        try:
            detail = self._detail(json.loads(raw))
        except ValueError:
            detail = self._detail(raw.decode("utf-8", "replace"))
        raise GeneratorError(f"the model server at {self._shown} answered HTTP {response.status_code} "
                             f"{response.reason_phrase}" + (f": {detail}" if detail else ""))

    def _detail(self, reply: object) -> str:
        """The message of an error reply, on one line, short, without the key."""
        error = reply.get("error") if isinstance(reply, dict) else reply
        if isinstance(error, dict):
            error = error.get("message") or error
        text = " ".join(str(error or "").split())[:200]
        return text.replace(self._api_key, "[key]") if self._api_key else text

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """Transport failures, time-outs and unreadable replies, as ``GeneratorError`` lines."""
        try:
            yield
        except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError, SSEError) as exc:
            reason = "no answer within the time limit" if isinstance(exc, httpx.TimeoutException) else str(exc)
            raise GeneratorError(f"cannot reach the model server at {self._shown}: "
                                 f"{self._detail(reason) or type(exc).__name__}") from None
        except ValueError as exc:  # json.JSONDecodeError, or JSON that is no object
            raise GeneratorError(f"the model server at {self._shown} sent an unreadable reply "
                                 f"({self._detail(str(exc))})") from None


def _text(reply: dict, text_of) -> str:
    """The text of a reply's first choice ("" when it has none)."""
    choices = reply.get("choices")
    first = choices[0] if isinstance(choices, list) and choices else None
    return (text_of(first) if isinstance(first, dict) else "") or ""


def _shown_address(base_url: str) -> str:
    """The server's address for messages: no user name, password or query (where secrets sometimes sit)."""
    try:
        return str(httpx.URL(base_url).copy_with(username=None, password=None, query=None))
    except (httpx.InvalidURL, TypeError, ValueError):
        return "(an invalid address)"


def _stop_at(pieces: Iterator[str], stop: list[str]) -> Iterator[str]:
    """Pass pieces through until a stop string appears (for backends without native stops)."""
    emitted = ""
    for piece in pieces:
        emitted += piece
        cut = min((emitted.find(s) for s in stop if s in emitted), default=-1)
        if cut >= 0:
            already = len(emitted) - len(piece)
            if cut > already:
                yield emitted[already:cut]
            return
        yield piece


@lru_cache(maxsize=4)
def _load(backend: str, model: str, base_url: str, api_key: str, n_ctx: int, threads: int = 0,
          openai_api: str = "completions") -> Generator:
    if backend == "llama":
        path = str(default_gguf_path()) if model in ("", "default") else model
        return LlamaCppGenerator(path, n_ctx=n_ctx, threads=threads)
    if backend == "transformers":
        if model in ("", "default"):
            raise GeneratorError("the transformers backend needs a model: --model NAME_OR_PATH")
        return TransformersGenerator(model, n_ctx=n_ctx)
    if backend == "openai":
        if model in ("", "default"):
            raise GeneratorError("the openai backend needs a model name: --model NAME (as the server knows it)")
        return OpenAICompatibleGenerator(base_url, model, api_key=api_key, n_ctx=n_ctx, api=openai_api)
    raise GeneratorError(f"unknown generator backend {backend!r} (use llama, transformers, openai or none)")


def load_generator(settings: Settings) -> Generator | None:
    """The configured generator, loaded once per process; None for ``generator="none"``."""
    if settings.generator == "none":
        return None
    return _load(settings.generator, settings.model, settings.base_url, settings.api_key, settings.n_ctx,
                 settings.threads, settings.openai_api)

