"""The answering strategy behind ``Assistant``: a protocol, and the default cited, verified one.

``CitedAnswerer`` runs the steps of this package in order: plan the question,
retrieve and select evidence, refuse if the documents cannot answer, ask the
model for a verified lead, compose the structured answer. Another strategy
(another model, a different policy) implements ``Answerer`` and is handed to
``Assistant(answerer=...)``; the pipeline does not change.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from rag.answer import compose, lead as leads
from rag.answer.evidence import Evidence, select_evidence
from rag.answer.plan import Plan, make_plan
from rag.answer.refuse import refusal_reason
from rag.answer.translation import translator, with_translations
from rag.answer.verifier import Verifier, WordOverlapVerifier
from rag.core import statements as rendering
from rag.core.config import Settings
from rag.core.progress import Quotes
from rag.core.records import Answer
from rag.core.tuning import EVIDENCE_CHUNKS
from rag.models.generate import Generator
from rag.retrieval.index import Index
from rag.retrieval.retrieve import Retrieval, retrieve


class Answerer(Protocol):
    """Answers one (already resolved) question from an index.

    A strategy that can tell its evidence before it writes sets ``yields_quotes = True``
    and takes ``stream(..., quotes_first=True)``: it then yields a ``rag.core.progress.Quotes``
    record before the text. Others get one from ``Assistant`` (an extra retrieval).
    """

    def stream(self, index: Index, generator: Generator | None, settings: Settings, question: str,
               resolved: str) -> Iterator[str | Answer]:
        """Yield the answer text in pieces as it becomes final, then the finished ``Answer``."""
        ...

    def warm_up(self, generator: Generator) -> None:
        """Prepare the generator (prompt caches) so the first question is as quick as the rest."""
        ...


class CitedAnswerer:
    """Quotes with citations, led by the model's short answer when the verifier accepts it."""

    yields_quotes = True  # sends its evidence as ``Quotes`` before the lead when asked (quotes_first)

    def __init__(self, verifier: Verifier | None = None):
        self.verifier: Verifier = verifier or WordOverlapVerifier()

    def warm_up(self, generator: Generator) -> None:
        leads.warm_up(generator)

    def stream(self, index: Index, generator: Generator | None, settings: Settings, question: str,
               resolved: str, quotes_first: bool = False) -> Iterator[str | Quotes | Answer]:
        grounds = ground(index, generator, settings, question, resolved, time.perf_counter())
        if quotes_first:  # before the model translates or writes anything
            quotes = quotes_of(grounds)
            if quotes is not None:
                yield quotes
        yield from self.answer(index, generator, settings, grounds)

    def answer(self, index: Index, generator: Generator | None, settings: Settings,
               grounds: Grounds) -> Iterator[str | Answer]:
        """The answer on ``grounds`` (grounded by the caller, once): the refusal, or the lead and quotes in pieces."""
        if grounds.reason:
            yield from compose.refused(grounds.answer, grounds.reason, grounds.started)
            return
        answer = self.extractive(index, generator, settings, grounds)
        pieces = rendering.pieces(answer.statements, {c.n: c.lang for c in answer.citations})
        for i, piece in enumerate(pieces):
            yield piece if i == 0 else " " + piece
        answer.answer = " ".join(pieces)
        answer.timings_ms["total"] = (time.perf_counter() - grounds.started) * 1000
        yield answer

    def extractive(self, index: Index, generator: Generator | None, settings: Settings, grounds: Grounds) -> Answer:
        """``grounds.answer`` with its statements and citations: the verified lead (with a model) and the quotes.

        ``grounds`` must not be refused. The text is left to the caller to render, and
        the time the lead took is added to the answer's ``generate`` time.
        """
        evidence = grounds.evidence
        if generator is not None and settings.translate:
            evidence = with_translations(index, generator, evidence)
        cited = compose.citations(evidence, grounds.retrieval.hits)
        answer = grounds.answer
        lead = None
        spent = 0.0
        if generator is not None:
            generate_started = time.perf_counter()
            lead = leads.verified_lead(generator, settings, grounds.plan, evidence[0], self.verifier)
            spent = (time.perf_counter() - generate_started) * 1000
            answer.reason = lead.note
        answer.timings_ms["generate"] = answer.timings_ms.get("generate", 0.0) + spent
        answer.statements = compose.statements(lead, evidence, cited)
        answer.citations = cited
        return answer


@dataclass
class Grounds:
    """What an answer rests on: the planned question, what retrieval found and the evidence selected from it.

    ``answer`` is the answer begun on them (its retrieval time taken); ``reason`` says
    why the documents cannot answer ("" when they can); ``started`` is the
    ``time.perf_counter()`` the answer began at (its total time counts from there).
    """

    plan: Plan
    retrieval: Retrieval
    evidence: list[Evidence]
    answer: Answer
    reason: str
    started: float


def ground(index: Index, generator: Generator | None, settings: Settings, question: str, resolved: str,
           started: float) -> Grounds:
    """Plan ``resolved``, retrieve, select the evidence (rendering non-English candidates with the model's
    translations when ``settings.translate``) and apply the refusal policy: the prologue of every question answer.

    ``started`` is the ``time.perf_counter()`` the answer began at.
    """
    plan = make_plan(resolved, index)
    k = max(settings.top_k, EVIDENCE_CHUNKS)
    retrieval = retrieve(index, resolved, k=k, candidates=max(settings.candidates, k), rrf_k=settings.rrf_k)
    translate = translator(generator) if generator is not None and settings.translate else None
    evidence = select_evidence(index, retrieval.hits, retrieval.vector, plan, translate)
    timings = {"retrieve": (time.perf_counter() - started) * 1000}
    answer = compose.new_answer(question, resolved, generator, index, retrieval.hits, timings)
    reason = refusal_reason(plan, evidence, retrieval.hits, settings, index)
    return Grounds(plan, retrieval, evidence, answer, reason, started)


_DEFAULT = CitedAnswerer()


def stream_answer(index: Index, generator: Generator | None, settings: Settings, question: str,
                  resolved: str) -> Iterator[str | Answer]:
    """The default strategy's ``stream`` (the entry point the pipeline used before ``Answerer``)."""
    return _DEFAULT.stream(index, generator, settings, question, resolved)


def warm_up(generator: Generator) -> None:
    _DEFAULT.warm_up(generator)


def quotes_of(grounds: Grounds) -> Quotes | None:
    """The evidence ``grounds`` will cite, as the ``Quotes`` a reader sees first; None when they refuse."""
    if grounds.reason:  # also when there is no evidence
        return None
    return Quotes(grounds.answer.question, tuple(compose.citations(grounds.evidence, grounds.retrieval.hits)))


def early_quotes(index, settings: Settings, question: str, resolved: str) -> Quotes | None:
    """The evidence the default strategy would cite, for answerers that do not send ``Quotes`` themselves.

    No model runs here (no translations): this is only what the reader sees while the answer is written.
    None when the question would be refused. The default answerers never call this: they ground once.
    """
    return quotes_of(ground(index, None, settings, question, resolved, time.perf_counter()))
