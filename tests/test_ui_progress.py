"""Stopping and picking without a browser: cancel tokens, one-job slots, quotes first, the model picker's list.

The units need no models; the stream tests use the shared index with the quotes-only
backend. The model servers are real HTTP servers on loopback (tests/model_server.py).
"""

from __future__ import annotations

import threading
import time

import pytest

from rag import Answer, Assistant, Quotes
from rag.answer import CitedAnswerer
from rag.core.config import Settings
from rag.core.progress import CancellableGenerator, Cancelled, CancelToken, Running, Slot, cancellable
from rag.models.served_models import ServedModels, fetch_model_ids
from tests.model_server import ModelServer


# -- cancel tokens ----------------------------------------------------------------------


def test_a_token_raises_only_once_cancelled():
    token = CancelToken()
    token.check()  # nothing happens before cancel
    assert not token.cancelled
    token.cancel()
    token.cancel()  # cancelling twice is the same as once
    assert token.cancelled
    with pytest.raises(Cancelled):
        token.check()


def test_cancellable_stops_between_items_and_closes_the_source():
    closed = []

    def source():
        try:
            for i in range(100):
                yield i
        finally:
            closed.append(True)  # a model stream releases its lock and connection here

    token = CancelToken()
    seen = []
    with pytest.raises(Cancelled):
        for item in cancellable(source(), token):
            seen.append(item)
            if item == 2:
                token.cancel()
    assert seen == [0, 1, 2] and closed == [True]


def test_cancellable_without_a_token_passes_everything_and_a_cancelled_token_passes_nothing():
    assert list(cancellable(iter(range(3)), None)) == [0, 1, 2]
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        next(cancellable(iter(range(3)), token))


def test_a_cancelled_generator_stops_in_the_middle_of_its_tokens():
    class Words:
        name, backend, context_window = "words", "test", 100

        def stream(self, prompt, **kwargs):
            yield from ("one", " two", " three", " four")

    token = CancelToken()
    generator = CancellableGenerator(Words(), token)
    assert generator.name == "words" and generator.context_window == 100  # everything else passes through
    pieces = []
    with pytest.raises(Cancelled):
        for piece in generator.stream("p", max_tokens=4):
            pieces.append(piece)
            token.cancel()
    assert pieces == ["one"]
    with pytest.raises(Cancelled):  # a new stream on a cancelled token does not start
        generator.stream("p", max_tokens=4)


def test_stop_reaches_only_its_own_session():
    running = Running()
    a1, a2, b = running.start("a"), running.start("a"), running.start("b")
    assert len(running) == 3
    assert running.stop("a") == 2
    assert a1.cancelled and a2.cancelled and not b.cancelled
    assert running.stop("a") == 0  # nothing left to stop
    running.finish("b", b)
    assert len(running) == 0


def test_running_is_bounded_whatever_the_clients_do():
    running = Running(limit=3)
    tokens = [running.start(f"s{i}") for i in range(5)]
    assert len(running) == 3
    assert tokens[0].cancelled and tokens[1].cancelled and not tokens[4].cancelled


def test_a_slot_holds_one_job_and_frees_when_released_or_cancelled():
    slot = Slot()
    first, second = CancelToken(), CancelToken()
    assert slot.claim(first) and slot.busy
    assert not slot.claim(second)  # the second caller is told at once, not made to wait
    slot.release(second)  # releasing with the wrong token changes nothing
    assert slot.busy
    first.cancel()  # a stopped job no longer blocks the next one, even before it notices
    assert slot.claim(second)
    slot.release(second)
    assert not slot.busy


def test_a_slot_under_contention_admits_exactly_one():
    slot = Slot()
    admitted = []
    barrier = threading.Barrier(8)

    def claim():
        token = CancelToken()
        barrier.wait()
        if slot.claim(token):
            admitted.append(token)

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(admitted) == 1


# -- quotes first, through Assistant.stream ---------------------------------------------

QUESTION = "Where are Chinese miners moving their machines?"


class QuietAnswerer:
    """The default strategy without ``yields_quotes``: the pipeline must find the quotes itself."""

    def __init__(self):
        self._inner = CitedAnswerer()

    def warm_up(self, generator) -> None:
        self._inner.warm_up(generator)

    def stream(self, index, generator, settings, question, resolved):
        return self._inner.stream(index, generator, settings, question, resolved)


@pytest.mark.parametrize("answerer", [None, QuietAnswerer()], ids=["sends-its-own", "pipeline-finds-them"])
def test_quotes_come_first_and_are_the_answers_citations(built_home, answerer):
    assistant = Assistant(Settings(home=built_home, generator="none"), answerer=answerer)
    events = list(assistant.stream(QUESTION, quotes_first=True))
    assert isinstance(events[0], Quotes) and sum(isinstance(e, Quotes) for e in events) == 1
    answer = events[-1]
    assert isinstance(answer, Answer) and all(isinstance(e, str) for e in events[1:-1])
    assert [(c.doc_id, c.start, c.end, c.quote) for c in events[0].citations] == \
        [(c.doc_id, c.start, c.end, c.quote) for c in answer.citations]
    assert not any(isinstance(e, Quotes) for e in assistant.stream(QUESTION))  # only when asked for
    assistant.close()


def test_a_refused_question_sends_no_quotes_and_a_cancelled_stream_stops(built_home):
    assistant = Assistant(Settings(home=built_home, generator="none"))
    events = list(assistant.stream("Who won the football world cup in 1966?", quotes_first=True))
    assert not any(isinstance(e, Quotes) for e in events) and events[-1].refused
    token = CancelToken()
    stream = assistant.stream(QUESTION, quotes_first=True, cancel=token)
    assert isinstance(next(stream), Quotes)
    token.cancel()
    with pytest.raises(Cancelled):
        next(stream)
    assistant.close()


# -- the model picker -------------------------------------------------------------------


@pytest.fixture()
def model_server():
    server = ModelServer(["qwen2.5:0.5b", "llama3.2", "bad\nname", " padded"])
    yield server
    server.close()


def configured(url: str) -> dict[str, Settings]:
    base = Settings(generator="none")
    return {"quotes only": base,
            "ollama": base.replace(generator="openai", base_url=url, model="qwen2.5:0.5b", api_key="k")}


def test_picker_lists_configured_models_then_what_the_server_serves(model_server):
    served = ServedModels(configured(model_server.url))
    listing = served.listing()
    # the configured model is not listed twice; ids with control characters or padding are left out
    assert listing.names == ("quotes only", "ollama", "ollama · llama3.2") and listing.problems == ()
    picked = served.settings_for("ollama · llama3.2")
    assert (picked.generator, picked.model, picked.base_url) == ("openai", "llama3.2", model_server.url)
    assert served.settings_for(None).generator == "none"  # nothing picked: the operator's default


@pytest.mark.parametrize("name", ["ollama · bad\nname", "ollama · /etc/passwd", "http://127.0.0.1:1/v1",
                                  "/etc/passwd", "quotes only · llama3.2", "nobody · llama3.2", "ollama · ",
                                  "x" * 1000, 5, ["ollama"], {"model": "ollama"}])
def test_picker_rejects_every_name_not_in_the_list(model_server, name):
    served = ServedModels(configured(model_server.url))
    with pytest.raises(ValueError) as info:
        served.settings_for(name)
    assert str(info.value) == "choose one of the models in the list"


def test_the_list_is_cached_for_five_minutes(model_server):
    now = [1000.0]
    served = ServedModels(configured(model_server.url), clock=lambda: now[0])
    for _ in range(5):
        served.names()
        served.settings_for("ollama · llama3.2")
    assert model_server.requests == ["GET /v1/models"]
    model_server.ids.append("phi3")
    now[0] += 299
    assert "ollama · phi3" not in served.names()
    now[0] += 2  # five minutes later the server is asked again
    assert "ollama · phi3" in served.names() and len(model_server.requests) == 2


def test_an_unreachable_server_is_one_line_and_its_configured_model_stays():
    with ModelServerGone() as url:
        started = time.monotonic()
        served = ServedModels(configured(url))
        listing = served.listing()
        assert time.monotonic() - started < 3.5
    assert listing.names == ("quotes only", "ollama")
    assert len(listing.problems) == 1 and "\n" not in listing.problems[0]
    assert listing.problems[0].startswith("ollama: ") and "127.0.0.1" not in listing.problems[0]
    with pytest.raises(ValueError, match="choose one"):
        served.settings_for("ollama · llama3.2")
    assert served.settings_for("ollama").model == "qwen2.5:0.5b"


def test_a_silent_server_times_out_in_three_seconds():
    import socket

    with socket.socket() as silent:  # accepts the connection, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/v1"
        started = time.monotonic()
        listing = ServedModels(configured(url)).listing()
        took = time.monotonic() - started
    assert 2.5 < took < 4.5, took
    assert listing.problems == ("ollama: its server's model list is unavailable (no answer within the time limit)",)


def test_the_key_goes_only_to_the_configured_server(model_server):
    seen = []
    original = fetch_model_ids

    def spy(base_url, api_key, timeout):
        seen.append((base_url, api_key, timeout))
        return original(base_url, api_key, timeout)

    ServedModels(configured(model_server.url), fetch=spy).names()
    assert seen == [(model_server.url, "k", 3.0)]


class ModelServerGone:
    """A loopback URL where nothing listens (a port just freed)."""

    def __enter__(self) -> str:
        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        return f"http://127.0.0.1:{port}/v1"

    def __exit__(self, *exc) -> None:
        pass
