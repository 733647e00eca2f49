"""The packaged model answers two requests at once (two llama.cpp contexts), with the same text as alone."""

from __future__ import annotations

import threading

import pytest

from rag.core.errors import GeneratorError
from rag.models.generate import LlamaCppGenerator, complete, default_gguf_path

PROMPTS = ["Passage: Miners moved their machines to Kazakhstan because power is cheap there.\n"
           "Question: Where did the miners move?\nAnswer:",
           "Passage: The first meeting, Debconf0, was held in Bordeaux in 2000.\n"
           "Question: Where was the first DebConf?\nAnswer:"]


@pytest.fixture(scope="module")
def generator():
    pytest.importorskip("llama_cpp")
    model = LlamaCppGenerator(str(default_gguf_path()), n_ctx=512, slots=2)
    yield model
    model.close()


def _complete(generator: LlamaCppGenerator, prompt: str) -> str:
    return complete(generator, prompt, max_tokens=12, stop=["\n"])


def test_a_second_request_is_answered_while_the_first_holds_its_context(generator):
    alone = [_complete(generator, prompt) for prompt in PROMPTS]
    assert all(text.strip() for text in alone), alone

    first = generator.stream(PROMPTS[0], max_tokens=12, stop=["\n"])
    try:
        started = next(first)  # the first request now holds a context, mid-answer
        second: list[str] = []
        worker = threading.Thread(target=lambda: second.append(_complete(generator, PROMPTS[1])), daemon=True)
        worker.start()
        worker.join(timeout=120)  # with one context this waits for the first request forever
        assert second == [alone[1]]  # the other context, on fewer threads, writes the same text
        assert started + "".join(first) == alone[0]
    finally:
        first.close()  # its context goes back, whatever happened


def test_a_closed_model_refuses_in_one_line():
    pytest.importorskip("llama_cpp")
    model = LlamaCppGenerator(str(default_gguf_path()), n_ctx=256, slots=2)
    model.close()
    with pytest.raises(GeneratorError, match="closed"):
        _complete(model, PROMPTS[0])
    model.close()  # again, as at exit: returns at once (it waited forever for the slots it had freed)


def test_closing_does_not_wait_for_an_abandoned_stream(monkeypatch):
    pytest.importorskip("llama_cpp")
    monkeypatch.setattr("rag.models.generate.CLOSE_WAIT_S", 0.5)
    model = LlamaCppGenerator(str(default_gguf_path()), n_ctx=256, slots=2)
    stream = model.stream(PROMPTS[0], max_tokens=4)
    next(stream)  # holds a slot, never finished
    model.close()  # gives up waiting after CLOSE_WAIT_S, frees the idle slot
    stream.close()  # the abandoned slot is freed when its request lets go
