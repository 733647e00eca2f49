"""`rag mcp` as an agent sees it: a subprocess on stdio, called through the official ``mcp`` client.

The three tools (search, ask, check) and the document resources; every quote is
checked against the document text the server itself serves as a resource.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from api.mcp_server import URI_PREFIX
from tests.home_copy import copy_home

ROOT = Path(__file__).resolve().parents[1]
QUESTION = "Where are Chinese miners moving their machines?"


async def _session(home: Path) -> dict:
    """One stdio session: list the tools and resources, call every tool, read the cited documents."""
    server = StdioServerParameters(
        command=sys.executable, args=["-m", "rag", "mcp", "--home", str(home), "--generator", "none"], cwd=str(ROOT),
        env={"PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "PATH": os.environ.get("PATH", "")})
    async with Client(server, read_timeout_seconds=240) as client:
        seen: dict = {"tools": sorted(t.name for t in (await client.list_tools()).tools),
                      "resources": (await client.list_resources()).resources}
        for name, arguments in (("search", {"query": QUESTION, "k": 3}), ("ask", {"question": QUESTION}),
                                ("check", {"text": "Miners moved their machines to Kazakhstan."}),
                                ("ask", {"question": "  ?  "})):
            result = await client.call_tool(name, arguments)
            seen.setdefault(name, []).append(result)
        cited = {c["doc_id"] for c in seen["ask"][0].structured_content["citations"]}
        seen["texts"] = {}
        for doc_id in cited:
            contents = (await client.read_resource(URI_PREFIX + quote(doc_id, safe=""))).contents
            seen["texts"][doc_id] = contents[0].text
    return seen


@pytest.fixture(scope="module")
def session(built_home, tmp_path_factory) -> dict:
    home = copy_home(built_home, tmp_path_factory.mktemp("mcp") / "home")
    return asyncio.run(_session(home))


def test_three_tools_and_every_document_as_a_resource(session, assistant):
    assert session["tools"] == ["ask", "check", "search"]
    listed = {r.name: r for r in session["resources"]}
    assert set(listed) == {d["doc_id"] for d in assistant.documents()}
    assert all(str(r.uri).startswith(URI_PREFIX) and r.mime_type == "text/plain" for r in listed.values())


def test_ask_gives_citations_that_match_the_document_resources(session):
    answer = session["ask"][0].structured_content
    assert not session["ask"][0].is_error
    assert answer["refused"] is False and answer["citations"]
    for c in answer["citations"]:
        assert f"[{c['n']}]" in answer["answer"]
        assert session["texts"][c["doc_id"]][c["start"]:c["end"]] == c["quote"]


def test_search_and_check_return_offsets_into_the_documents(session, assistant):
    passages = session["search"][0].structured_content["passages"]
    assert len(passages) == 3
    for p in passages:
        assert assistant.document(p["doc_id"]).text[p["start"]:p["end"]] == p["text"]
    checked = session["check"][0].structured_content
    assert [r["verdict"] for r in checked["results"]] == ["supported"]
    for c in checked["results"][0]["citations"]:
        assert assistant.document(c["doc_id"]).text[c["start"]:c["end"]] == c["quote"]


def test_a_bad_question_is_a_tool_error_not_a_crash(session):
    bad = session["ask"][1]
    assert bad.is_error
    assert "empty" in bad.content[0].text
