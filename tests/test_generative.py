"""Answer modes, generative answers and summaries, with real parts.

The capable model is stood in for by ``tests/replay_server.py``: a real HTTP
server speaking the OpenAI chat API whose replies are built from the passages
the pipeline actually retrieved from the bundled articles and sent it. The
packaged Gemma GGUF is used as the default (base) model and, behind a real
``llama_cpp.server``, through its chat endpoint.
"""

from __future__ import annotations

import re

import pytest

from rag import Assistant, Settings
from rag.answer import answer_mode
from rag.answer.generative import claims, parse_claim
from rag.answer.summary import mmr, requested_source, summary_length
from rag.cli import build_parser, settings_from_args
from rag.core.config import AskOptions
from rag.models.generate import OpenAICompatibleGenerator, gguf_is_chat_model, load_generator
from rag.core.records import Answer
from rag.core.statements import render
from rag.verify.overlap import is_supported

from tests.llama_server import llama_server
from tests.home_copy import copy_home
from tests.replay_server import (ReplayServer, answer_from, planted_number, summary_of, swapped_numbers,
                                 unknown_citation)

QUESTION = "What share of China's computing power is in Xinjiang?"


def exact_quotes(assistant: Assistant, answer: Answer) -> None:
    """Every citation is cited, every cited number exists, every quote is the document's own text."""
    numbers = {s.citation for s in answer.statements if s.citation is not None}
    assert numbers == {c.n for c in answer.citations}
    assert answer.answer == render(answer.statements, {c.n: c.lang for c in answer.citations})
    for c in answer.citations:
        assert assistant.document(c.doc_id).text[c.start:c.end] == c.quote


def supported_by_citation(answer: Answer) -> None:
    """Every verified claim is supported by the passage its citation quotes."""
    by_n = {c.n: c for c in answer.citations}
    for s in answer.statements:
        if s.role != "translation" and s.verified:
            assert s.citation in by_n, s
            assert is_supported(s.text, [by_n[s.citation].quote], [by_n[s.citation].translation or ""]), s.text


def streamed(assistant: Assistant, question: str) -> tuple[str, Answer]:
    text, answer = "", None
    for event in assistant.stream(question):
        if isinstance(event, Answer):
            answer = event
        else:
            text += event
    assert answer is not None
    return text, answer


@pytest.fixture()
def replay(built_home, tmp_path):
    """An assistant whose model is a replay server (a capable model's stand-in) on its chat endpoint.

    On its own copy of the session's home, closed afterwards: its translations and caches are
    written by this test's assistant alone.
    """
    home = tmp_path / "home"
    copy_home(built_home, home)
    servers, assistants = [], []

    def make(script, strict: bool = True, ignore_stream: bool = False) -> tuple[Assistant, ReplayServer]:
        server = ReplayServer(script, ignore_stream=ignore_stream)
        servers.append(server)
        settings = Settings(home=home, generator="openai", openai_api="chat", base_url=server.url,
                            model=server.model, strict=strict)
        assistants.append(Assistant(settings))
        return assistants[-1], server

    yield make
    for assistant in assistants:
        assistant.close()
    for server in servers:
        server.close()


# -- mode selection ------------------------------------------------------------------


def test_auto_mode_is_extractive_for_the_packaged_base_model():
    generator = load_generator(Settings())
    assert not generator.has_chat, "the packaged Gemma 3 270M is a base model"
    assert "tokenizer.chat_template" not in generator.metadata
    assert answer_mode(Settings(), generator) == "extractive"
    assert answer_mode(Settings(answer_mode="generative"), generator) == "generative"  # the operator's choice
    assert answer_mode(Settings(answer_mode="generative"), None) == "extractive"  # no model: quotes


def test_auto_mode_is_generative_for_a_chat_endpoint(replay):
    assistant, server = replay(answer_from(1))
    assert assistant.generator.has_chat
    assert answer_mode(assistant.settings, assistant.generator) == "generative"
    completions = OpenAICompatibleGenerator(server.url, server.model, api="completions")
    assert not completions.has_chat and answer_mode(Settings(), completions) == "extractive"
    assert answer_mode(Settings(answer_mode="extractive"), assistant.generator) == "extractive"


def test_chat_models_are_told_from_base_models_by_gguf_metadata():
    template = "{% for message in messages %}{{ message.content }}{% endfor %}"
    assert gguf_is_chat_model({"tokenizer.chat_template": template, "general.finetune": "it"})
    assert gguf_is_chat_model({"tokenizer.chat_template": template, "general.name": "Qwen2.5 0.5B Instruct"})
    assert not gguf_is_chat_model({"tokenizer.chat_template": template, "general.finetune": "pt"})
    assert not gguf_is_chat_model({"tokenizer.chat_template": template, "general.name": "Gemma 3 270m"})
    assert not gguf_is_chat_model({"general.finetune": "it"})  # no template: nothing to chat with


def test_mode_flags_and_per_request_option():
    args = build_parser().parse_args(["ask", "q", "--mode", "generative", "--openai-api", "chat"])
    settings = settings_from_args(args)
    assert settings.answer_mode == "generative" and settings.openai_api == "chat"
    for command in ("serve", "eval"):
        assert build_parser().parse_args([command, "--mode", "extractive"]).answer_mode == "extractive"
    assert AskOptions.checked(answer_mode="extractive").apply(settings).answer_mode == "extractive"
    with pytest.raises(ValueError, match="answer_mode"):
        AskOptions.checked(answer_mode="creative")
    with pytest.raises(ValueError, match="answer mode"):
        answer_mode(Settings(answer_mode="creative"), object())


# -- the reply as claims ---------------------------------------------------------------


def test_replies_are_split_into_claims_with_their_markers():
    pieces = ["Miners are moving ", "to Kazakhstan [2]. The ", "company said so [1, 3]", ". Nothing else is known about it."]
    found = list(claims(pieces, "en"))
    assert [c.cited for c in found] == [(2,), (1, 3), ()]
    assert found[0].text == "Miners are moving to Kazakhstan."
    assert parse_claim("It rose 35% [4][5].") .cited == (4, 5)


# -- generative answers through a capable model's stand-in -------------------------------


@pytest.mark.parametrize("ignore_stream", [False, True], ids=["streamed", "one-json-reply"])
def test_a_correct_answer_is_shown_with_citations(replay, ignore_stream):
    assistant, server = replay(answer_from(1, 2), ignore_stream=ignore_stream)
    text, answer = streamed(assistant, QUESTION)
    request = server.requests[0]
    assert request.question == QUESTION and len(request.passages) == assistant.settings.top_k
    assert not answer.refused and answer.backend == "openai"
    assert [s.role for s in answer.statements] == ["lead", "lead"] and all(s.verified for s in answer.statements)
    assert text == answer.answer
    for n, statement in zip((1, 2), answer.statements):
        # the sentence the stand-in copied from passage [n] is shown, citing the sentence it came from
        citation = answer.citations[statement.citation - 1]
        assert " ".join(citation.quote.split()).replace('"', "").rstrip(".") in statement.text
        assert citation.quote in request.passages[n] or " ".join(citation.quote.split()) in request.passages[n]
    exact_quotes(assistant, answer)
    supported_by_citation(answer)


def test_a_planted_wrong_number_is_never_shown_as_fact(replay):
    assistant, server = replay(planted_number(correct=2))
    answer = assistant.ask(QUESTION)
    request = server.requests[0]
    script_reply = planted_number(correct=2)(request)
    wrong_sentence = re.split(r" \[\d+\] ", script_reply)[1].rsplit(" [", 1)[0]
    assert wrong_sentence not in answer.answer
    assert len(answer.statements) == 1 and answer.statements[0].verified
    assert "not support" in answer.reason
    exact_quotes(assistant, answer)
    supported_by_citation(answer)

    lenient, _ = replay(planted_number(correct=2), strict=False)
    shown = lenient.ask(QUESTION)
    flagged = [s for s in shown.statements if not s.verified]
    assert [s.text for s in flagged] == [wrong_sentence] and flagged[0].citation is None
    assert f"{wrong_sentence} (unverified)" in shown.answer
    exact_quotes(lenient, shown)


def test_numbers_swapped_between_two_names_are_never_shown_as_fact(replay):
    assistant, server = replay(swapped_numbers(), strict=False)
    answer = assistant.ask(QUESTION)
    swapped = swapped_numbers()(server.requests[0]).rsplit(" [", 1)[0]
    assert swapped and [s.text for s in answer.statements if not s.verified] == [swapped]
    assert all(s.text != swapped for s in answer.statements if s.verified)


def test_a_sentence_citing_a_passage_it_was_not_given_is_never_shown_as_fact(replay):
    assistant, server = replay(unknown_citation(true_from=2))
    answer = assistant.ask(QUESTION)
    reply = unknown_citation(true_from=2)(server.requests[0])
    invented = re.split(r" \[1\] ", reply)[1].rsplit(" [", 1)[0]
    assert invented not in answer.answer
    assert len(answer.statements) == 1 and answer.statements[0].citation == 1
    assert "not given" in answer.reason
    exact_quotes(assistant, answer)

    lenient, _ = replay(unknown_citation(true_from=2), strict=False)
    shown = lenient.ask(QUESTION)
    flagged = [s for s in shown.statements if not s.verified]
    assert [s.text for s in flagged] == [invented] and flagged[0].citation is None


def test_when_nothing_verifies_the_quotes_are_shown_instead(replay):
    assistant, _ = replay(planted_number())
    answer = assistant.ask(QUESTION)
    assert not answer.refused and answer.statements
    assert all(s.verified for s in answer.statements)
    assert {s.role for s in answer.statements} <= {"lead", "quote", "translation"} and "quote" in {
        s.role for s in answer.statements}
    assert "showing the passages instead" in answer.reason
    exact_quotes(assistant, answer)


def test_questions_outside_the_articles_are_refused_before_the_model_is_asked(replay):
    assistant, server = replay(answer_from(1))
    answer = assistant.ask("Who won the 2018 football World Cup?")
    assert answer.refused and not any(r.passages for r in server.requests)  # (translations may be asked for)


# -- summaries -------------------------------------------------------------------------


def test_summary_requests_are_recognised_in_several_languages():
    assert requested_source("Summarise the Dutch article") == "the Dutch article"
    assert requested_source("What does the Dutch article say?") == "the Dutch article"
    assert requested_source("Give me an overview of the Securities Daily report.") == "the Securities Daily report."
    assert requested_source("Vat het Nederlandse artikel samen") == "het Nederlandse artikel"
    assert requested_source("What does the article say about trains?") is None  # a question about trains
    assert requested_source("What does Deng say?") is None  # about a person, not a source
    assert requested_source("Which company did Long Dian found?") is None
    assert [summary_length(n) for n in (5, 30, 42, 200)] == [3, 3, 4, 5]


def test_mmr_skips_a_sentence_that_repeats_one_already_chosen():
    import numpy as np

    vectors = np.array([[1.0, 0.0], [0.999, 0.045], [0.6, 0.8]], dtype=np.float32)
    assert mmr(vectors, np.array([0.9, 0.89, 0.75]), 2) == [0, 2]  # the near-copy of the first is passed over
    assert mmr(vectors, np.array([0.9, 0.89, 0.75]), 2, weight=1.0) == [0, 1]  # centrality alone would take it


def check_summary(assistant: Assistant, answer: Answer, doc_id: str) -> None:
    document = assistant.document(doc_id)
    quotes = [s for s in answer.statements if s.role == "quote"]
    assert not answer.refused, answer.reason
    assert 3 <= len(quotes) <= 5, answer.answer
    assert {c.doc_id for c in answer.citations} == {doc_id}
    starts = [answer.citations[s.citation - 1].start for s in quotes]
    assert starts == sorted(starts), "in document order"
    for c in answer.citations:
        assert c.quote in document.text and document.text[c.start:c.end] == c.quote
    exact_quotes(assistant, answer)
    if document.lang != "en":
        assert any(s.role == "translation" for s in answer.statements)


def test_summarise_the_dutch_article(assistant):
    dutch = [d for d in assistant.documents() if d["lang"] == "nl"]
    assert len(dutch) == 1
    answer = assistant.ask("Summarise the Dutch article")
    check_summary(assistant, answer, dutch[0]["doc_id"])
    assert "machine translation from nl" in answer.answer
    for request in ("What does the Dutch article say?", "Vat het Nederlandse artikel samen"):
        assert assistant.ask(request).citations == answer.citations, request


def test_summarise_each_article_by_its_title(assistant):
    for document in assistant.documents():
        answer = assistant.ask(f"Give me a summary of the article “{document['title']}”")
        check_summary(assistant, answer, document["doc_id"])


def test_a_summary_of_a_document_the_library_lacks_is_refused(assistant):
    answer = assistant.ask("Summarise the French article")
    assert answer.refused and "French" in answer.reason


def test_a_generated_summary_is_verified_sentence_by_sentence(replay, assistant):
    dutch = next(d for d in assistant.documents() if d["lang"] == "nl")
    capable, server = replay(summary_of(3))
    answer = capable.ask("Summarise the Dutch article")
    assert server.requests[0].document == dutch["title"]
    assert [s.role for s in answer.statements] == ["summary"] * 3 and all(s.verified for s in answer.statements)
    assert {c.doc_id for c in answer.citations} == {dutch["doc_id"]}
    exact_quotes(capable, answer)


# -- the packaged model through a real llama_cpp.server chat endpoint ----------------------


@pytest.fixture(scope="module")
def gemma_chat_server():
    """llama-cpp-python's OpenAI-compatible server with the packaged GGUF, its chat endpoint on Gemma's format."""
    with llama_server("--chat_format", "gemma") as url:
        yield url


@pytest.mark.slow
def test_a_real_chat_endpoint_in_strict_mode_shows_no_unverified_sentence(built_home, gemma_chat_server, tmp_path):
    # A private copy: on the session's shared home this read failed once in CI with "disk I/O error"
    # after other tests' processes had written translations there (cause not found; see the closing note).
    home = tmp_path / "home"
    copy_home(built_home, home)
    settings = Settings(home=home, generator="openai", openai_api="chat", base_url=gemma_chat_server,
                        model="gemma-270m", strict=True)
    assistant = Assistant(settings)
    assert answer_mode(settings, assistant.generator) == "generative"
    for question in (QUESTION, "Where will Canaan set up its first overseas after-sales service center?"):
        text, answer = streamed(assistant, question)
        assert text == answer.answer
        assert not answer.refused and answer.statements
        assert all(s.verified for s in answer.statements), answer.statements
        assert "(unverified)" not in answer.answer
        exact_quotes(assistant, answer)
        supported_by_citation(answer)
    assistant.close()
