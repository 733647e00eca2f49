"""Pick how to answer: a summary, a generated answer, or the extractive one (the default answerer).

``Settings.answer_mode`` is ``extractive`` (quotes led by a checked short
answer: what a small base model can do safely), ``generative`` (the model
writes a cited answer, every sentence verified: for instruct/chat models) or
``auto``, which is generative only when the model is a chat model: served
through a chat API the operator configured (``openai_api = "chat"``) or a
GGUF whose metadata marks it as instruction-tuned (``rag.models.generate.has_chat``).
The packaged Gemma 3 270M is a base model, so ``auto`` stays extractive for it.
Summary requests go to ``SummaryAnswerer`` in either mode.
"""

from __future__ import annotations

from collections.abc import Iterator

from rag.answer.answerer import CitedAnswerer, early_quotes
from rag.answer.generative import GenerativeAnswerer
from rag.answer.summary import SummaryAnswerer, summary_request
from rag.answer.verifier import Verifier, WordOverlapVerifier
from rag.core.config import ANSWER_MODES, Settings
from rag.core.progress import Quotes
from rag.core.records import Answer
from rag.models.generate import Generator, has_chat
from rag.retrieval.index import Index


def answer_mode(settings: Settings, generator: Generator | None) -> str:
    """``extractive`` or ``generative`` for these settings and this model; ValueError for an unknown mode."""
    mode = settings.answer_mode
    if mode not in ANSWER_MODES:
        raise ValueError(f"unknown answer mode {mode!r} (use {', '.join(ANSWER_MODES)})")
    if generator is None:
        return "extractive"  # no model: quotes only
    if mode == "auto":
        return "generative" if has_chat(generator) else "extractive"
    return mode


class ModalAnswerer:
    """The default answerer: summary requests, then generative or extractive answers by ``answer_mode``."""

    def __init__(self, verifier: Verifier | None = None):
        verifier = verifier or WordOverlapVerifier()
        self.extractive = CitedAnswerer(verifier)
        self.generative = GenerativeAnswerer(verifier, fallback=self.extractive)
        self.summary = SummaryAnswerer(verifier)

    def warm_up(self, generator: Generator) -> None:
        if not has_chat(generator):  # the extractive lead's prompt head is worth caching; chat prompts share none
            self.extractive.warm_up(generator)

    yields_quotes = True  # the extractive answer sends its own; the others get the pipeline's early quotes

    def stream(self, index: Index, generator: Generator | None, settings: Settings, question: str,
               resolved: str, quotes_first: bool = False) -> Iterator[str | Quotes | Answer]:
        mode = answer_mode(settings, generator)
        request = summary_request(resolved, index, settings)
        if request is None and mode != "generative":
            yield from self.extractive.stream(index, generator, settings, question, resolved, quotes_first=quotes_first)
            return
        if quotes_first:
            quotes = early_quotes(index, settings, question, resolved)
            if quotes is not None:
                yield quotes
        if request is not None:
            yield from self.summary.stream(index, generator, settings, question, resolved, request,
                                           generative=mode == "generative")
        else:
            yield from self.generative.stream(index, generator, settings, question, resolved)
