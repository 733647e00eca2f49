"""The packaged model decodes concurrent requests together (one context, a sequence each), and every answer is
the text it would be alone, and the text llama-cpp-python's own ``create_completion`` gives."""

from __future__ import annotations

import gc
import threading
import time

import pytest

from rag.core.errors import GeneratorError
from rag.models.generate import LlamaCppGenerator, complete, default_gguf_path

HEAD = "Answer from the passage in a few words.\n\n"
PROMPTS = [HEAD + "Passage: Miners moved their machines to Kazakhstan because power is cheap there.\n"
           "Question: Where did the miners move?\nAnswer:",
           HEAD + "Passage: The first meeting, Debconf0, was held in Bordeaux in 2000.\n"
           "Question: Where was the first DebConf?\nAnswer:",
           HEAD + "Passage: Canberra was chosen as the capital of Australia in 1908.\n"
           "Question: What is the capital of Australia?\nAnswer:",
           "The three primary colours are"]


@pytest.fixture(scope="module")
def generator():
    pytest.importorskip("llama_cpp")
    model = LlamaCppGenerator(str(default_gguf_path()), n_ctx=512, threads=1, sequences=3)
    yield model
    model.close()


def _run_together(generator, prompts, **options) -> list[str]:
    """Each prompt in its own thread, started a little apart so that requests join a batch mid-answer."""
    out: list[str | None] = [None] * len(prompts)

    def ask(i: int) -> None:
        out[i] = complete(generator, prompts[i], **options)

    threads = [threading.Thread(target=ask, args=(i,), daemon=True) for i in range(len(prompts))]
    for thread in threads:
        thread.start()
        time.sleep(0.05)
    for thread in threads:
        thread.join(timeout=120)
    return out


@pytest.mark.parametrize("options", [dict(max_tokens=12, stop=["\n"]), dict(max_tokens=16)])
def test_concurrent_streams_give_the_same_greedy_text_as_one_at_a_time(generator, options):
    alone = [complete(generator, prompt, **options) for prompt in PROMPTS]
    assert all(text.strip() for text in alone), alone
    # 4 requests, 3 sequences: one waits, then is admitted between steps
    assert _run_together(generator, PROMPTS, **options) == alone


def test_the_text_is_llama_cpp_pythons_own(generator):
    """Stop strings (the first listed that appears), max_tokens and the repeat penalty, as ``create_completion``."""
    from llama_cpp import Llama

    reference = Llama(model_path=str(default_gguf_path()), n_ctx=512, n_threads=1, verbose=False, seed=0)
    try:
        for prompt, options in [(PROMPTS[0], dict(max_tokens=12, stop=["\n"])), (PROMPTS[3], dict(max_tokens=5)),
                                (PROMPTS[3], dict(max_tokens=20, stop=["and", ","]))]:
            expected = reference.create_completion(prompt, temperature=0.0, repeat_penalty=1.1, **options)
            assert complete(generator, prompt, **options) == expected["choices"][0]["text"], (prompt, options)
    finally:
        reference.close()


def test_a_stop_string_is_never_shown_even_in_part(generator):
    text = complete(generator, PROMPTS[3], max_tokens=20)
    cut = text[len(text) // 2:].strip()[:3]
    pieces = list(generator.stream(PROMPTS[3], max_tokens=20, stop=[cut]))
    assert cut not in "".join(pieces) and "".join(pieces) == text[:text.index(cut)]


def test_an_abandoned_stream_frees_its_sequence():
    pytest.importorskip("llama_cpp")
    model = LlamaCppGenerator(str(default_gguf_path()), n_ctx=256, threads=1, sequences=1)
    try:
        closed = model.stream(PROMPTS[0], max_tokens=200)
        next(closed)
        closed.close()  # the caller stops: the one sequence is free at the next step
        dropped = model.stream(PROMPTS[1], max_tokens=200)
        next(dropped)
        del dropped  # never closed, only forgotten
        gc.collect()
        done: list[str] = []
        worker = threading.Thread(target=lambda: done.append(complete(model, PROMPTS[2], max_tokens=4)), daemon=True)
        worker.start()
        worker.join(timeout=60)  # with the sequence still held this waits for 200 tokens twice
        assert done and done[0].strip()
    finally:
        model.close()


def test_closing_does_not_hang_and_a_closed_model_refuses_in_one_line(monkeypatch):
    pytest.importorskip("llama_cpp")
    monkeypatch.setattr("rag.models.local_llama.CLOSE_WAIT_S", 0.5)
    model = LlamaCppGenerator(str(default_gguf_path()), n_ctx=256, threads=1, sequences=1)
    held = model.stream(PROMPTS[0], max_tokens=200)
    next(held)  # a request mid-answer, never read again
    waiting = model.stream(PROMPTS[1], max_tokens=4)
    started = time.monotonic()
    model.close()  # waits at most CLOSE_WAIT_S for the running answer, then ends it
    assert time.monotonic() - started < 10
    with pytest.raises(GeneratorError, match="closed"):
        list(waiting)
    with pytest.raises(GeneratorError, match="closed"):
        complete(model, PROMPTS[2], max_tokens=4)
    model.close()  # again, as at exit: returns at once
    held.close()


def test_sampling_at_a_temperature_still_answers(generator):
    assert complete(generator, PROMPTS[3], max_tokens=6, temperature=0.8).strip()
