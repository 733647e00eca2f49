"""The API for programs: ``/ask`` and ``/search``, the only endpoints the server names.

Every other event of the page is private; these two take a question (and a bounded
``k``) and nothing else, so a program can never pick a file, a server or a key.
"""

from __future__ import annotations

import gradio as gr

from rag import Assistant, BadQuestion, GeneratorError, IndexUnusable
from rag.core.config import AskOptions
from ui.common import one_line


def add_api(base: Assistant) -> None:
    """Register the two endpoints on the Blocks being built."""

    def api_ask(question: str) -> dict:
        """Answer a question from the documents: the answer text with [n] markers, citations and sources."""
        try:
            return base.ask(question).to_dict()
        except (BadQuestion, IndexUnusable, GeneratorError) as exc:
            raise gr.Error(one_line(exc), print_exception=False) from None

    def api_search(question: str, k: int = 5) -> list:
        """The best passages for a question, with their scores (no answer is generated)."""
        try:
            options = AskOptions.checked(top_k=k)
            return [hit.to_dict() for hit in base.search(question, options.top_k)]
        except (BadQuestion, IndexUnusable, ValueError) as exc:
            raise gr.Error(one_line(exc), print_exception=False) from None

    gr.api(api_ask, api_name="ask")
    gr.api(api_search, api_name="search")
