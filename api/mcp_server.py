"""`rag mcp`: the library for agents, over the Model Context Protocol (official ``mcp`` SDK).

Tools: ``search`` (passages), ``ask`` (a cited answer) and ``check`` (fact-check
a text). Every document is a resource, ``rag://documents/<doc_id>`` (the id
URL-encoded), whose text is what the citations' offsets point into; the list is
read from the index at each request, so documents added meanwhile show up.
Stdio by default, for desktop and coding agents that start the server
themselves; ``--http PORT`` serves Streamable HTTP on 127.0.0.1 only, because
this server has no users or keys of its own.

The MCP SDK is an optional dependency (``pip install 'cited-rag[mcp]'``, part of
``make install``), imported only when ``rag mcp`` runs: loading it costs every
other ``rag`` command two seconds.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from typing import Any
from urllib.parse import quote

from rag import Assistant, BadQuestion, GeneratorError, IndexUnusable
from rag.assistant.check import iter_check, summary
from rag.core.config import AskOptions

URI_PREFIX = "rag://documents/"
INSTRUCTIONS = ("Answers and passages from the user's own documents. Every citation has doc_id, start, end and "
                "quote, with quote == the document's text[start:end] (read the document resource to check). "
                "A refused answer means the documents do not answer the question.")


def build_server(assistant: Assistant) -> Any:
    """An ``MCPServer`` with the three tools and the document resources over one assistant."""
    try:
        from mcp.server.mcpserver import MCPServer
        from mcp.server.mcpserver.exceptions import ToolError
        from mcp_types import Resource
    except ImportError:
        raise ValueError("rag mcp needs the MCP SDK: pip install 'cited-rag[mcp]'") from None
    server = MCPServer(name="cited-rag", instructions=INSTRUCTIONS)

    async def documents() -> list[Resource]:
        """The documents in the index now, so ones added while the server runs show up."""
        return [Resource(uri=URI_PREFIX + quote(d["doc_id"], safe=""), name=d["doc_id"], title=d["title"] or None,
                         description=f'{d["lang"]} · {d["date"] or "undated"} · {d["chars"]} characters',
                         mime_type="text/plain")
                for d in assistant.documents()]

    server.list_resources = documents  # type: ignore[method-assign] - the server lists resources through it

    @server.tool()
    def search(query: str, k: int = 5) -> dict[str, Any]:
        """The best passages of the documents for a query (no answer is made): doc_id, start, end, text, score."""
        try:
            top = AskOptions.checked(top_k=k).top_k
            return {"passages": [hit.to_dict() for hit in assistant.search(query, top)]}
        except (BadQuestion, IndexUnusable, ValueError) as exc:
            raise ToolError(str(exc)) from None

    @server.tool()
    def ask(question: str) -> dict[str, Any]:
        """A cited answer from the documents: text with [n] markers, the citations, and whether it was refused."""
        try:
            answer = assistant.ask(question)
        except (BadQuestion, IndexUnusable, GeneratorError) as exc:
            raise ToolError(str(exc)) from None
        return {"answer": answer.answer, "refused": answer.refused, "reason": answer.reason,
                "citations": [c.to_dict() for c in answer.citations]}

    @server.tool()
    def check(text: str) -> dict[str, Any]:
        """Fact-check a text sentence by sentence: supported, contradicted or not_found, with the evidence quote."""
        try:
            results = list(iter_check(assistant, text))
        except BadQuestion as exc:
            raise ToolError(str(exc)) from None
        return {"summary": summary(results), "results": [r.to_dict() for r in results]}

    @server.resource(URI_PREFIX + "{doc_id}", name="document", mime_type="text/plain",
                     description="a document's full text: the citations' start and end point into it")
    def document(doc_id: str) -> str:
        doc = assistant.document(doc_id)
        if doc is None:
            raise ValueError(f"no document {doc_id!r} in the library")
        return doc.text

    return server


HELP = "serve the library to agents over MCP (stdio; --http PORT for loopback HTTP)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--http", type=int, metavar="PORT",
                        help="serve Streamable HTTP at http://127.0.0.1:PORT/mcp instead of stdio (loopback only)")


def run(args: argparse.Namespace, settings) -> int:
    """Open the index (building it on first use), then serve until the client hangs up."""
    with contextlib.redirect_stdout(sys.stderr):  # on stdio, stdout carries the protocol and nothing else
        assistant = Assistant(settings)
        server = build_server(assistant)  # a missing SDK is one line now, before any model loads
        assistant.ensure_index()
        assistant.warm_up()
    try:
        if args.http is not None:
            print(f"MCP server at http://127.0.0.1:{args.http}/mcp", file=sys.stderr, flush=True)
            server.run("streamable-http", host="127.0.0.1", port=args.http)
        else:
            server.run("stdio")
    finally:
        assistant.close()
    return 0
