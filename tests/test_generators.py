"""The three generator backends, each with a real model: llama.cpp, an OpenAI-compatible server, transformers."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from rag import Assistant, Settings
from rag.models.generate import (
    GeneratorError,
    LlamaCppGenerator,
    OpenAICompatibleGenerator,
    complete,
    default_gguf_path,
    fit_prompt,
    load_generator,
)

from tests.llama_server import free_port, llama_server as start_llama_server

QUESTION = "Where will Canaan set up its first overseas after-sales service center?"


def check_cited_answer(assistant: Assistant, backend: str) -> None:
    answer = assistant.ask(QUESTION)
    assert not answer.refused, answer.reason
    assert answer.backend == backend
    assert "Kazakhstan" in answer.answer
    for citation in answer.citations:
        assert assistant.document(citation.doc_id).text[citation.start:citation.end] == citation.quote


def test_llama_backend_streams_and_fits_prompts_to_its_window():
    generator = load_generator(Settings())
    assert isinstance(generator, LlamaCppGenerator) and generator.context_window == 2048
    pieces = list(generator.stream("The three primary colours are red,", max_tokens=12))
    assert len(pieces) >= 2, "tokens must arrive one by one"
    passage = "Miners moved their machines to Kazakhstan. " * 80  # about 720 tokens
    kept = fit_prompt(generator, ["Question: where?\n", passage, passage, passage, passage], reserve=64)
    assert 1 <= len(kept) < 5 and generator.count_tokens("".join(kept)) <= 2048 - 64
    with pytest.raises(GeneratorError, match="context window"):
        fit_prompt(generator, [passage * 10], reserve=64)


def test_a_missing_model_or_server_is_a_clear_error():
    with pytest.raises(GeneratorError, match="not found"):
        LlamaCppGenerator("/nonexistent/model.gguf")
    with pytest.raises(GeneratorError, match="cannot reach"):
        OpenAICompatibleGenerator(f"http://127.0.0.1:{free_port()}/v1", "any", timeout=3)
    with pytest.raises(GeneratorError, match="needs a model"):
        load_generator(Settings(generator="openai"))


@pytest.fixture(scope="module")
def llama_server():
    """A real OpenAI-compatible server (llama-cpp-python's) with the packaged model, on loopback."""
    with start_llama_server() as url:
        yield url


def test_openai_compatible_server_streams(llama_server):
    generator = OpenAICompatibleGenerator(llama_server, "gemma-270m")
    pieces = list(generator.stream("The three primary colours are red,", max_tokens=12, stop=["\n"]))
    assert len(pieces) >= 2 and "".join(pieces).strip()
    assert complete(generator, "Paris is the capital of", max_tokens=4)


def test_openai_compatible_backend_answers_with_citations(built_home, llama_server):
    settings = Settings(home=built_home, generator="openai", base_url=llama_server, model="gemma-270m")
    check_cited_answer(Assistant(settings), "openai")


def test_transformers_backend_answers_with_citations(built_home):
    pytest.importorskip("gguf", reason="the transformers backend test loads the packaged GGUF")
    settings = Settings(home=built_home, generator="transformers", model=str(default_gguf_path()))
    assistant = Assistant(settings)
    assert assistant.generator.context_window == 2048
    check_cited_answer(assistant, "transformers")


def test_the_default_model_is_packaged_not_downloaded():
    path = default_gguf_path()
    assert path.is_file() and path.suffix == ".gguf"
    assert Path(sys.prefix) in path.parents or Path.home() in path.parents
