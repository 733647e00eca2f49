"""The chat's model picker over raw HTTP: only listed names, never a URL, a path or a key from a request.

The server is configured like an operator would: the quotes-only default plus an
OpenAI-compatible server (a real HTTP server on loopback, tests/model_server.py)
whose ``/v1/models`` adds its models to the picker. A second server plays the
address a hostile client would like the chat to call; it must never be called.
"""

from __future__ import annotations

import json

import pytest

from rag import Assistant, Settings
from tests.model_server import ModelServer
from tests.ui_http import Browserless
from tests.home_copy import copy_home

pytestmark = pytest.mark.timeout(600)
QUESTION = "Where are Chinese miners moving their machines?"


@pytest.fixture(scope="module")
def picker_server(built_home, tmp_path_factory):
    from ui.app import Models, launch

    served, elsewhere = ModelServer(["tiny", "other"], reply="Kazakhstan."), ModelServer(["evil"])
    home = tmp_path_factory.mktemp("ui-models") / "home"
    copy_home(built_home, home)
    base = Settings(home=home, generator="none")
    configured = {"quotes only": base,
                  "local": base.replace(generator="openai", base_url=served.url, model="tiny", api_key="op-key")}
    assistant = Assistant(base)
    models = Models(assistant, configured)
    app, url = launch(assistant, port=0, block=False, models=models)
    yield url, models, served, elsewhere
    app.close()
    assistant.close()
    served.close()
    elsewhere.close()


def _ask(client: Browserless, model: object) -> str:
    out = client.call(client.fn_index("rag-ask"), [QUESTION, None, None, model, 5, 0.0, True, []])
    return json.dumps(out.get("output", out), ensure_ascii=False)


def test_the_page_offers_the_configured_models_and_what_their_server_lists(picker_server):
    url, models, served, _ = picker_server
    client = Browserless(url)
    load = next(d for d in client.config()["dependencies"] if d["targets"] and d["targets"][0][1] == "load")
    out = json.dumps(client.call(load["id"], []).get("output", {}))
    for name in ("quotes only", "local", "local · other"):
        assert json.dumps(name)[1:-1] in out
    assert served.url not in out and "op-key" not in out  # the page never learns the address or the key


def test_a_listed_server_model_answers_through_the_operators_server(picker_server):
    url, models, served, _ = picker_server
    out = _ask(Browserless(url), "local · other")
    assert "rag-bot" in out and "rag-error" not in out, out[-400:]
    assert "POST /v1/completions other" in served.requests  # the server was asked for that model, by name
    assert "local · other" in models.loaded


@pytest.mark.parametrize("model", ["elsewhere", "local · evil", "local · ../../etc/passwd", "/etc/passwd",
                                   "quotes only · other", 42, {"base_url": "x"}])
def test_the_picker_rejects_names_not_in_the_list(picker_server, model):
    url, models, served, elsewhere = picker_server
    loaded, requests = models.loaded, list(served.requests)
    out = _ask(Browserless(url), model)
    assert "Choose one of the models in the list." in out or "not in the list of choices" in out, out[-400:]
    assert "Traceback" not in out and models.loaded == loaded
    assert [r for r in served.requests[len(requests):] if not r.startswith("GET /v1/models")] == []


def test_a_url_or_path_in_the_model_field_changes_nothing(picker_server):
    url, models, served, elsewhere = picker_server
    settings_before = {name: models.served.settings_for(name) for name in ("quotes only", "local")}
    loaded = models.loaded
    client = Browserless(url)
    for hostile in (elsewhere.url, elsewhere.url + "/completions", "/etc/passwd", "file:///etc/passwd",
                    f"local · {elsewhere.url}"):
        out = _ask(client, hostile)
        assert "Choose one of the models in the list." in out or "not in the list of choices" in out, out[-400:]
    assert elsewhere.requests == []  # no request ever reached the address a client named
    assert models.loaded == loaded
    assert {name: models.served.settings_for(name) for name in settings_before} == settings_before
    assert "local · evil" not in models.names
