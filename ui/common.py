"""What every tab says and reads the same way: one-line messages, the request's session, the page-load record.

Nothing here holds state; ``ui.state`` holds what the tabs share.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gradio as gr

from rag import Assistant
from rag.core.errors import one_line as plain_line
from ui.render import esc, plain_title, status_html

# Bring the highlighted passage into view inside the article (chat and check both show one); move the page
# only when the passage is off screen, as on a phone, where the panel sits a screen below the citation tapped.
PASSAGE_JS = """
watch('value', () => {
  const box = element.querySelector('.rag-article');
  const mark = element.querySelector('mark');
  if (!box || !mark) return;
  box.scrollTop += mark.getBoundingClientRect().top - box.getBoundingClientRect().top - 60;
  const seen = mark.getBoundingClientRect();
  if (seen.top < 0 || seen.bottom > window.innerHeight) {
    element.scrollIntoView({block: 'start'});
    const shown = mark.getBoundingClientRect();
    if (shown.bottom > window.innerHeight) mark.scrollIntoView({block: 'center'});
  }
});
"""


@dataclass(frozen=True)
class Loader:
    """What a tab fills in when a page opens: its components, and the function giving their values in that order."""

    outputs: list[Any]
    views: Callable[[gr.Request], tuple]

    @staticmethod
    def join(loaders: list[Loader]) -> Loader:
        """One loader filling every given one's components, in order: the page has a single load event."""

        def views(request: gr.Request) -> tuple:
            return tuple(value for loader in loaders for value in loader.views(request))

        return Loader([c for loader in loaders for c in loader.outputs], views)


def message(text: str, kind: str = "info", escaped: bool = False) -> str:
    """One line of feedback under a control; ``kind`` (info, ok, error) picks its colour."""
    return f'<div class="rag-msgline rag-{kind}">{text if escaped else esc(text)}</div>'


def one_line(exc: object, limit: int = 300) -> str:
    """An exception (or message) as one printable line (``rag.core.errors.one_line``); a bare exception by its type."""
    return plain_line(exc, limit) or type(exc).__name__


def sentence(text: str) -> str:
    """A library error as a sentence: capital first, one full stop."""
    text = text.strip()
    return (text[:1].upper() + text[1:]).rstrip(".") + "." if text else ""


def session_of(request: gr.Request | None) -> str:
    """The browser session a request comes from (each tab has its own), so Stop reaches only its own work."""
    return str(getattr(request, "session_hash", None) or id(request))


def document_choices(documents: list[dict]) -> list[tuple[str, str]]:
    """(label, doc id) pairs for a dropdown or checkbox list of documents."""
    return [(f'{plain_title(d["title"], d["doc_id"])[:70]} ({d["doc_id"]})', d["doc_id"]) for d in documents]


def status_line(assistant: Assistant) -> str:
    """The status line for an assistant, naming the generator's model file once it is loaded."""
    try:
        name = getattr(assistant.generator, "name", "") if assistant.settings.generator != "none" else ""
    except Exception:  # noqa: BLE001 - a generator that fails to load is reported with the answer
        name = ""
    return status_html(assistant.info(), name)
