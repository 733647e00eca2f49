"""What the tabs share, fixed at start: the assistants, the saved conversations, the access rules, the running work.

A chat request can pick a configured model by name (``Models``); it can never name
a file, a server or a key. Every handler that changes the library asks ``Access``
(through ``Shared.is_admin``) for the caller's role on the server, whatever the page sent.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rag import Assistant, Settings
from rag.core.auth import Access
from rag.core.config import model_label
from rag.assistant.conversations import Conversations
from rag.core.progress import Running, Slot
from rag.models.served_models import Listing, ServedModels

if TYPE_CHECKING:  # only for the handlers' type hints: `rag serve`'s parser imports this module without Gradio
    import gradio as gr


class Models:
    """One assistant per model a user may pick (``ServedModels``), all over the base assistant's index.

    The names come from the operator: the configured models and what their model
    servers list. An assistant is created on first use of a name and kept, so the
    number of loaded models and open indexes is bounded by that list, never by requests.
    """

    def __init__(self, base: Assistant, configured: dict[str, Settings] | None = None,
                 served: ServedModels | None = None):
        self.base = base
        self.served = served or ServedModels(dict(configured or {model_label(base.settings): base.settings}))
        self._assistants: dict[str, Assistant] = {self.served.default: base}
        self._lock = threading.Lock()

    @property
    def names(self) -> list[str]:
        return self.served.names()

    def listing(self) -> Listing:
        return self.served.listing()

    def get(self, name: str | None) -> Assistant:
        """The assistant for a listed model name; ValueError (one line) for any other value."""
        settings = self.served.settings_for(name)  # raises for anything not listed
        key = name or self.served.default
        with self._lock:
            if key not in self._assistants:
                self._assistants[key] = Assistant(settings, index=self.base.index)
            return self._assistants[key]

    @property
    def loaded(self) -> list[str]:
        """The names that have an assistant (for tests and the status line)."""
        with self._lock:
            return list(self._assistants)


class Published:
    """The assistant as an export from the page shows it: folders relative to the home, not the server's paths."""

    def __init__(self, assistant: Assistant):
        self._assistant = assistant

    def info(self) -> dict:
        info = dict(self._assistant.info())
        home = Path(self._assistant.settings.home).resolve()
        for key in ("library", "index"):
            path = Path(info.get(key, "")).resolve()
            info[key] = path.relative_to(home).as_posix() if home in path.parents else path.name
        return info

    def __getattr__(self, name: str):
        return getattr(self._assistant, name)


@dataclass
class Shared:
    """The server-side objects every tab's handlers use; one per app, whatever the number of browser sessions."""

    base: Assistant
    models: Models
    access: Access
    store: Conversations
    answering: Running = field(default_factory=Running)  # per browser session: the answers its Stop button ends
    checking: Running = field(default_factory=Running)
    check_slot: Slot = field(default_factory=Slot)  # one check at a time per server: answers must not wait behind two

    def owner(self, request: gr.Request | None) -> str:
        """Conversations belong to the logged-in user; without auth there is one local user."""
        return str(getattr(request, "username", None) or "") if self.access.users is not None else ""

    def is_admin(self, request: gr.Request | None) -> bool:
        return self.access.is_admin(getattr(request, "username", None))

    def published(self) -> Published:
        return Published(self.base)

    def scope(self, chosen: object) -> list[str] | None:
        """A conversation's document scope: known doc ids only; nothing chosen means the whole library."""
        if not chosen:
            return None
        if not isinstance(chosen, list) or not all(isinstance(d, str) for d in chosen):
            raise ValueError("the document scope must be a list of document names")
        known = {d["doc_id"] for d in self.base.documents()}
        kept = [d for d in chosen if d in known]
        if not kept:
            raise ValueError("none of the chosen documents is in the library any more; choose again")
        return kept
