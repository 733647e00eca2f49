"""A question is grounded once: one retrieval and one evidence selection per question, in every mode.

The real retrieval and selection functions run (on the session's real index), wrapped
to count their calls wherever the answer path reaches them. The early ``Quotes`` are
asked for throughout: they must come from the same grounding as the answer.
"""

from __future__ import annotations

from contextlib import ExitStack
from unittest import mock

import pytest

from rag import Answer, Assistant, Quotes, Settings
from rag.answer import answerer, summary
from rag.assistant import pipeline
from tests.replay_server import answer_from, summary_of
from tests.test_generative import QUESTION, replay  # noqa: F401  (the replay server's fixture)

SUMMARY = "Summarise the Dutch article"  # names its document by language: no retrieval to find it


class Calls:
    """Counts of the calls that retrieve passages and that select evidence from them, while counting."""

    def __init__(self):
        self.retrievals = mock.Mock()
        self.selections = mock.Mock()
        self._stack = ExitStack()

    def __enter__(self) -> Calls:
        for module in (answerer, summary, pipeline):  # every module of the answer path that retrieves
            real = module.retrieve
            self._stack.enter_context(mock.patch.object(module, "retrieve", side_effect=self._count(real, True)))
        real_select = answerer.select_evidence
        self._stack.enter_context(mock.patch.object(answerer, "select_evidence",
                                                    side_effect=self._count(real_select, False)))
        real_rank = summary.central_ranking
        self._stack.enter_context(mock.patch.object(summary, "central_ranking",
                                                    side_effect=self._count(real_rank, False)))
        return self

    def __exit__(self, *exc) -> None:
        self._stack.close()

    def _count(self, real, retrieval: bool):
        counter = self.retrievals if retrieval else self.selections

        def call(*args, **kwargs):
            counter(*args, **kwargs)
            return real(*args, **kwargs)
        return call


def grounded_once(assistant: Assistant, question: str, quotes_first: bool = True) -> Answer:
    """The answer to ``question``, checked to rest on one retrieval and one selection (and its quotes on them)."""
    with Calls() as calls:
        events = list(assistant.stream(question, quotes_first=quotes_first))
    assert calls.retrievals.call_count == 1, calls.retrievals.call_args_list
    assert calls.selections.call_count == 1, calls.selections.call_args_list
    answer = events[-1]
    assert isinstance(answer, Answer) and not answer.refused, answer.reason
    quotes = [e for e in events if isinstance(e, Quotes)]
    assert len(quotes) == (1 if quotes_first else 0)
    if quotes_first:
        assert isinstance(events[0], Quotes) and events[0].question == question
    return answer


@pytest.mark.parametrize("quotes_first", [True, False], ids=["quotes-first", "answer-only"])
def test_an_extractive_answer_is_grounded_once(built_home, quotes_first):
    assistant = Assistant(Settings(home=built_home, generator="none"))
    answer = grounded_once(assistant, QUESTION, quotes_first)
    assert answer.citations
    assistant.close()


def test_a_generative_answer_is_grounded_once(replay):  # noqa: F811
    assistant, _server = replay(answer_from(1, 2))
    answer = grounded_once(assistant, QUESTION)
    assert [s.role for s in answer.statements] == ["lead", "lead"]


def test_an_extractive_summary_is_grounded_once(built_home):
    assistant = Assistant(Settings(home=built_home, generator="none"))
    answer = grounded_once(assistant, SUMMARY)
    assert {s.role for s in answer.statements} >= {"quote"}
    assistant.close()


def test_a_generated_summary_is_grounded_once(replay):  # noqa: F811
    assistant, _server = replay(summary_of(3))
    answer = grounded_once(assistant, SUMMARY)
    assert [s.role for s in answer.statements] == ["summary"] * 3


def test_the_early_quotes_are_what_the_summary_cites(built_home):
    assistant = Assistant(Settings(home=built_home, generator="none"))
    events = list(assistant.stream(SUMMARY, quotes_first=True))
    quotes, answer = events[0], events[-1]
    assert isinstance(quotes, Quotes) and isinstance(answer, Answer)
    assert [(c.doc_id, c.start, c.end) for c in quotes.citations] == \
        [(c.doc_id, c.start, c.end) for c in answer.citations]
    assistant.close()
