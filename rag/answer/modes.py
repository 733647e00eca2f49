"""Pick how to answer: a summary, a generated answer, or the extractive one (the default answerer).

``Settings.answer_mode`` is ``extractive`` (quotes led by a checked short
answer: what a small base model can do safely), ``generative`` (the model
writes a cited answer, every sentence verified: for instruct/chat models) or
``auto``, which is generative only when the model is a chat model: served
through a chat API the operator configured (``openai_api = "chat"``) or a
GGUF whose metadata marks it as instruction-tuned (``rag.models.generate.has_chat``).
The packaged Gemma 3 270M is a base model, so ``auto`` stays extractive for it.
Summary requests go to ``SummaryAnswerer`` in either mode.

Whatever the mode, a question is grounded once (``grounding``): the record it
makes is what the early quotes, the extractive lead, the generative answer and
the summary read, so none of them retrieves or selects evidence again.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

from rag.answer.answerer import CitedAnswerer, Grounds, ground, quotes_of
from rag.answer.generative import GenerativeAnswerer
from rag.answer.summary import SummaryAnswerer, SummaryGrounds, ground_summary, summary_quotes, summary_request
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


@dataclass
class Grounding:
    """A question grounded once, by ``grounding``: the mode it is answered in and what that answer rests on.

    ``grounds`` (an extractive or generative answer: plan, retrieval, evidence, refusal) or
    ``summary`` (a summary request: its documents and their central sentences) is set, by ``mode``.
    The early ``Quotes``, the extractive lead, the generative answer and the summary all read it;
    none retrieves or selects evidence again.
    """

    mode: str  # "extractive", "generative" or "summary"
    grounds: Grounds | None = None
    summary: SummaryGrounds | None = None

    def quotes(self) -> Quotes | None:
        """What the answer will cite, for the reader to see first; None when it is refused."""
        if self.summary is not None:
            return summary_quotes(self.summary)
        return quotes_of(self.grounds)  # type: ignore[arg-type]


def grounding(index: Index, generator: Generator | None, settings: Settings, question: str,
              resolved: str) -> Grounding:
    """Ground ``resolved`` once for the mode it is answered in: retrieval and evidence selection happen here only."""
    mode = answer_mode(settings, generator)
    request = summary_request(resolved, index, settings)
    if request is not None:
        return Grounding("summary", summary=ground_summary(index, generator, settings, question, resolved, request,
                                                           generative=mode == "generative"))
    return Grounding(mode, grounds=ground(index, generator, settings, question, resolved, time.perf_counter()))


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

    yields_quotes = True  # every mode's evidence is known before its text: sent as ``Quotes`` when asked

    def stream(self, index: Index, generator: Generator | None, settings: Settings, question: str,
               resolved: str, quotes_first: bool = False) -> Iterator[str | Quotes | Answer]:
        """The one answer path: ground once, send the quotes if asked, then the answer of the grounding's mode."""
        grounded = grounding(index, generator, settings, question, resolved)
        if quotes_first:
            quotes = grounded.quotes()
            if quotes is not None:
                yield quotes
        if grounded.summary is not None:
            yield from self.summary.answer(index, generator, settings, grounded.summary)
        elif grounded.mode == "generative":
            yield from self.generative.answer(index, generator, settings, grounded.grounds)  # type: ignore[arg-type]
        else:
            yield from self.extractive.answer(index, generator, settings, grounded.grounds)  # type: ignore[arg-type]
