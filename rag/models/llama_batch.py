"""Many completions decoded together: one llama.cpp context, one sequence per request, one decode per step.

Concurrent requests share each decoding step instead of queueing for a context
of their own: where memory bandwidth is what a step costs, the weights are read
once for every sequence in it (on the contended 2-core machine measured in
docs/scaling.md compute was the limit, and a step cost about the same per token).
One scheduler thread owns the context: between steps it admits waiting requests
(continuous batching), prefills each prompt into its own sequence, then decodes
one token per active sequence. Each sequence has a KV stream of its own (not one
unified cell pool), so attention sums over the same cells whatever else is in the
batch. A finished sequence keeps its cells as a prompt cache: a new prompt starts
from the longest prefix any sequence holds (the answer prompts share their
instruction and examples), as ``Llama`` did for its one context. Sampling and the
text rules (stop strings, ``max_tokens``, whole UTF-8 characters) are those of
``Llama.create_completion``.
"""

from __future__ import annotations

import ctypes
import queue
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import llama_cpp
from llama_cpp._internals import LlamaModel
from llama_cpp._logger import set_verbose
from llama_cpp.llama_chat_format import Jinja2ChatFormatter

from rag.core.errors import GeneratorError

REPEAT_PENALTY = 1.1  # what the answers have always been generated with
PENALTY_LAST_N = 64  # llama-cpp-python's ``last_n_tokens_size``: the tokens the repeat penalty looks back on
# llama-cpp-python's sampling defaults for temperature > 0 (top_k, typical_p, top_p, min_p)
TOP_K, TYPICAL_P, TOP_P, MIN_P = 40, 1.0, 0.95, 0.05
# Weights are repacked as llama.cpp does by default, for the same numbers as ``Llama``: without repacking every
# row's sums are the same whatever the batch, but leads and translations changed wording, and a dev question
# (tests/test_answers.py, the Siberian city) was refused. With it a row's kernel depends on where it falls in
# the batch (groups of 4), so a prompt whose last token is replayed from the cache alone can differ (as it
# can in ``Llama``'s own prompt cache); concurrent distinct prompts gave their one-at-a-time text in the tests.
_DONE = object()  # the end of a request's pieces


@dataclass(eq=False)
class _Request:
    """One completion: its prompt, limits and sampler, where it stands, and the queue its caller reads."""

    prompt: list[int]
    max_tokens: int
    stops: list[bytes]
    sampler: object  # a llama_sampler chain, freed when the request ends
    pieces: queue.Queue = field(default_factory=queue.Queue)
    cancelled: threading.Event = field(default_factory=threading.Event)
    seq: int = -1
    pending: list[int] = field(default_factory=list)  # tokens to decode at the next step
    generated: list[int] = field(default_factory=list)
    text: bytes = b""
    sent: int = 0  # bytes of ``text`` already given to the caller

    def emit(self, end: int) -> None:
        if end > self.sent:
            self.pieces.put(self.text[self.sent:end].decode("utf-8", errors="ignore"))
            self.sent = end

    def take(self, token: int, piece: bytes, end_of_generation: bool) -> bool:
        """Add a sampled token; queue the text that is safe to show; True when the completion is over."""
        if not end_of_generation:
            self.generated.append(token)
            self.text += piece
            if _incomplete_utf8(self.text):
                return False  # as llama-cpp-python: wait for the character's last byte before any check
        found = [stop for stop in self.stops if stop in self.text]
        if found:  # the first stop listed that appears, as llama-cpp-python picks it
            self.emit(self.text.index(found[0]))
            return True
        if end_of_generation or len(self.generated) >= self.max_tokens:
            self.emit(len(self.text))
            return True
        held = max((_partial_stop(self.text, stop) for stop in self.stops), default=0)
        end = len(self.text) - held
        while self.sent < end < len(self.text) and self.text[end] & 0xC0 == 0x80:
            end -= 1  # never cut inside a character
        self.emit(end)
        return False


def _incomplete_utf8(text: bytes) -> bool:
    """Whether ``text`` ends in the middle of a multi-byte UTF-8 character."""
    for back in range(1, min(4, len(text)) + 1):
        byte = text[-back]
        if byte & 0xC0 != 0x80:  # the character's first byte: how long it should be
            length = 4 if byte >= 0xF0 else 3 if byte >= 0xE0 else 2 if byte >= 0xC0 else 1
            return length > back
    return False


def _partial_stop(text: bytes, stop: bytes) -> int:
    """Length of the longest end of ``text`` that begins ``stop`` (held back until it is one or is not)."""
    for size in range(min(len(stop), len(text)), 0, -1):
        if text.endswith(stop[:size]):
            return size
    return 0


def load_model(path) -> LlamaModel:
    """The GGUF's weights and tokenizer; no context of its own (the engine makes the one it decodes in)."""
    set_verbose(False)  # llama.cpp's log: errors only, as ``Llama(verbose=False)`` sets it
    params = llama_cpp.llama_model_default_params()
    try:
        return LlamaModel(path_model=str(path), params=params, verbose=False)
    except (ValueError, RuntimeError) as exc:
        raise GeneratorError(f"cannot load GGUF model {path.name}: {exc}") from None


def chat_formatter(model: LlamaModel, metadata: dict[str, str]) -> Jinja2ChatFormatter | None:
    """The GGUF's own chat template, set up as ``Llama`` sets it up for ``create_chat_completion``."""
    template = metadata.get("tokenizer.chat_template")
    if not template:
        return None
    text = lambda token: model.token_get_text(token) if token != -1 else ""  # noqa: E731
    return Jinja2ChatFormatter(template=template, eos_token=text(model.token_eos()),
                               bos_token=text(model.token_bos()), stop_token_ids=[model.token_eos()])


def _common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


class BatchEngine:
    """Completions of one loaded model, ``sequences`` of them decoded at once."""

    def __init__(self, model: LlamaModel, n_ctx: int, sequences: int, threads: int, close_wait: float):
        self.n_ctx = n_ctx  # per sequence: what one request may use, as with a context of its own
        self.sequences = max(1, sequences)
        self._close_wait = close_wait
        self._vocab = model.vocab
        self._n_vocab = model.n_vocab()
        self._seed = llama_cpp.LLAMA_DEFAULT_SEED  # what ``Llama(seed=0)`` starts from
        params = llama_cpp.llama_context_default_params()
        params.n_ctx = n_ctx * self.sequences  # a whole window for each sequence's stream
        params.n_batch = n_ctx + self.sequences  # a whole prompt plus every other sequence's next token
        params.n_ubatch = min(512, params.n_batch)
        params.n_seq_max = self.sequences
        params.kv_unified = False  # a stream per sequence: the same sums alone or batched (see above)
        params.swa_full = True  # sliding-window layers keep every cell, so any prefix can be reused
        params.n_threads = params.n_threads_batch = threads
        params.flash_attn_type = llama_cpp.LLAMA_FLASH_ATTN_TYPE_DISABLED  # as ``Llama`` runs it
        self._ctx = llama_cpp.llama_init_from_model(model.model, params)
        if not self._ctx:
            raise GeneratorError("llama.cpp could not create a context for batched decoding")
        self._mem = llama_cpp.llama_get_memory(self._ctx)
        self._n_batch = params.n_batch
        self._batch = llama_cpp.llama_batch_init(self._n_batch, 0, 1)
        self._cached: list[list[int]] = [[] for _ in range(self.sequences)]  # tokens whose cells each holds
        self._free = list(range(self.sequences))
        self._waiting: list[_Request] = []
        self._active: list[_Request] = []
        self._lock = threading.Condition()
        self._closing = False
        self._worker = threading.Thread(target=self._run, name="llama-batch", daemon=True)
        self._worker.start()

    # ---- the callers' side

    def stream(self, prompt: list[int], *, max_tokens: int, temperature: float, stop: list[str]) -> Iterator[str]:
        """The completion of ``prompt`` (tokens) in pieces; leaving early frees its sequence at the next step."""
        request = self._submit(prompt, max_tokens, temperature, stop)
        try:
            while True:
                piece = request.pieces.get()
                if piece is _DONE:
                    return
                if isinstance(piece, Exception):
                    raise piece
                yield piece
        finally:
            request.cancelled.set()
            with self._lock:
                self._lock.notify_all()

    def _submit(self, prompt: list[int], max_tokens: int, temperature: float, stop: list[str]) -> _Request:
        if len(prompt) >= self.n_ctx:
            raise GeneratorError(f"the prompt has {len(prompt)} tokens; the model's window is {self.n_ctx}")
        if max_tokens is None or max_tokens <= 0 or max_tokens + len(prompt) >= self.n_ctx:
            max_tokens = self.n_ctx - len(prompt)  # as llama-cpp-python truncates it
        with self._lock:
            if self._closing:
                raise GeneratorError("the model was closed")
            request = _Request(list(prompt), max_tokens, [s.encode("utf-8") for s in stop if s],
                               self._sampler(temperature))
            self._waiting.append(request)
            self._lock.notify_all()
        return request

    def _sampler(self, temperature: float):
        """llama-cpp-python's chain: repeat penalty over the generated tokens, then greedy or its sampling."""
        chain = llama_cpp.llama_sampler_chain_init(llama_cpp.llama_sampler_chain_default_params())
        add = lambda sampler: llama_cpp.llama_sampler_chain_add(chain, sampler)  # noqa: E731
        add(llama_cpp.llama_sampler_init_penalties(self._n_vocab, PENALTY_LAST_N, REPEAT_PENALTY, 0.0, 0.0))
        if temperature == 0.0:
            add(llama_cpp.llama_sampler_init_greedy())
            return chain
        self._seed = random.Random(self._seed).randint(0, 2**32)  # a new seed per completion, as ``Llama``
        if temperature > 0.0:
            add(llama_cpp.llama_sampler_init_top_k(TOP_K))
            add(llama_cpp.llama_sampler_init_typical(TYPICAL_P, 1))
            add(llama_cpp.llama_sampler_init_top_p(TOP_P, 1))
            add(llama_cpp.llama_sampler_init_min_p(MIN_P, 1))
            add(llama_cpp.llama_sampler_init_temp(temperature))
        add(llama_cpp.llama_sampler_init_dist(self._seed))
        return chain

    def close(self) -> bool:
        """Stop admitting requests, let running ones end (at most ``close_wait`` seconds), free the context;
        False if the scheduler is still inside a decode (its memory is then left alone, not freed under it)."""
        with self._lock:
            if self._closing:
                return not self._worker.is_alive()
            self._closing = True
            self._lock.notify_all()
        self._worker.join(timeout=self._close_wait + 5)
        if self._worker.is_alive():
            return False
        llama_cpp.llama_batch_free(self._batch)
        llama_cpp.llama_free(self._ctx)
        return True

    # ---- the scheduler thread

    def _run(self) -> None:
        deadline = None
        while True:
            with self._lock:
                self._lock.wait_for(lambda: self._waiting or self._active or self._closing)
                if self._closing:
                    deadline = deadline or time.monotonic() + self._close_wait
                    for request in self._waiting:
                        self._end(request, GeneratorError("the model was closed"))
                    self._waiting = []
                    if not self._active or time.monotonic() > deadline:
                        for request in self._active:
                            self._end(request, GeneratorError("the model was closed while answering"))
                        self._active = []
                        return
                self._drop_cancelled()
                self._admit()
            if self._active:
                self._step()

    def _drop_cancelled(self) -> None:
        for request in [r for r in self._waiting if r.cancelled.is_set()]:
            self._waiting.remove(request)
            self._end(request)
        for request in [r for r in self._active if r.cancelled.is_set()]:
            self._active.remove(request)
            self._end(request)

    def _admit(self) -> None:
        """Give waiting requests free sequences while the next batch has room for their prompts."""
        room = self._n_batch - len(self._active)
        while self._waiting and self._free:
            request = self._waiting[0]
            reuse, donor = self._best_prefix(request.prompt)
            if len(request.prompt) - reuse > room:
                break
            self._waiting.pop(0)
            seq = donor if donor in self._free else self._free[-1]
            self._free.remove(seq)
            reuse = self._place(seq, donor, reuse)
            request.seq, request.pending = seq, request.prompt[reuse:]
            self._cached[seq] = request.prompt[:reuse]
            room -= len(request.pending)
            self._active.append(request)

    def _best_prefix(self, prompt: list[int]) -> tuple[int, int]:
        """The longest start of ``prompt`` some sequence holds (one token is always left to decode), and which."""
        best = max(range(self.sequences), key=lambda seq: (_common_prefix(self._cached[seq], prompt),
                                                            seq in self._free))
        return min(_common_prefix(self._cached[best], prompt), len(prompt) - 1), best

    def _place(self, seq: int, donor: int, reuse: int) -> int:
        """Make ``seq`` hold the first ``reuse`` tokens (its own, or a copy of the donor's); how many it holds."""
        if donor != seq:
            llama_cpp.llama_memory_seq_rm(self._mem, seq, -1, -1)
            if reuse > 0:  # a whole sequence is copied (all llama.cpp allows between streams), then cut
                llama_cpp.llama_memory_seq_cp(self._mem, donor, seq, -1, -1)
        if llama_cpp.llama_memory_seq_rm(self._mem, seq, reuse, -1):
            return reuse
        llama_cpp.llama_memory_seq_rm(self._mem, seq, -1, -1)
        return 0

    def _step(self) -> None:
        """One ``llama_decode`` over every active sequence's pending tokens; sample one token for each."""
        batch, outputs = self._batch, []
        batch.n_tokens = 0
        for request in self._active:
            start = len(self._cached[request.seq])
            for offset, token in enumerate(request.pending):
                i = batch.n_tokens
                batch.token[i], batch.pos[i], batch.n_seq_id[i] = token, start + offset, 1
                batch.seq_id[i][0] = request.seq
                batch.logits[i] = int(offset == len(request.pending) - 1)
                batch.n_tokens += 1
            outputs.append((request, batch.n_tokens - 1))
        code = llama_cpp.llama_decode(self._ctx, batch)
        if code != 0:
            with self._lock:
                for request in self._active:
                    self._cached[request.seq] = []
                    llama_cpp.llama_memory_seq_rm(self._mem, request.seq, -1, -1)
                    self._end(request, GeneratorError(f"llama.cpp could not decode (code {code})"))
                self._active = []
            return
        finished = []
        for request, index in outputs:
            self._cached[request.seq] += request.pending
            token = llama_cpp.llama_sampler_sample(request.sampler, self._ctx, index)
            eog = llama_cpp.llama_vocab_is_eog(self._vocab, token)
            request.pending = [token]
            if request.take(token, b"" if eog else self._piece(token), eog):
                finished.append(request)
        with self._lock:
            for request in finished:
                self._active.remove(request)
                self._end(request)

    def _piece(self, token: int) -> bytes:
        buffer = (ctypes.c_char * 64)()
        size = llama_cpp.llama_token_to_piece(self._vocab, token, buffer, len(buffer), 0, False)
        return bytes(buffer[:size]) if size > 0 else b""

    def _end(self, request: _Request, error: Exception | None = None) -> None:
        """Close a request (lock held): its caller's queue ends, its sampler is freed, its sequence is free."""
        request.pieces.put(error if error is not None else _DONE)
        if request.sampler is not None:
            llama_cpp.llama_sampler_free(request.sampler)
            request.sampler = None
        if request.seq >= 0:
            self._free.append(request.seq)
            request.seq = -1
