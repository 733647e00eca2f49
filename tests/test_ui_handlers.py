"""The tabs' handlers called directly, without a server or a browser: the split into ui.state
and one class per tab makes them plain objects. Fast; no models (quotes only, an empty library)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from rag import Assistant, Settings
from rag.core.auth import Access, Users
from rag.assistant.conversations import Conversations
from ui.chat import STOPPED, Chat
from ui.conversations import SavedConversations
from ui.library import ADMIN_ONLY, Library
from ui.render import Exchange
from ui.state import Models, Shared


@pytest.fixture
def shared(tmp_path):
    assistant = Assistant(Settings(home=tmp_path / "home", generator="none"))
    users = Users({"ann": ("admin-pw", "admin"), "rob": ("reader-pw", "reader")})
    yield Shared(assistant, Models(assistant), Access(users, loopback=False),
                 Conversations(tmp_path / "conversations.sqlite"))
    assistant.close()


def _request(user: str, session: str = "s1") -> SimpleNamespace:
    return SimpleNamespace(username=user, session_hash=session)


def test_roles_and_owners_come_from_the_request_on_the_server(shared):
    assert shared.is_admin(_request("ann")) and not shared.is_admin(_request("rob"))
    assert not shared.is_admin(_request("mallory")) and shared.owner(_request("rob")) == "rob"


def test_a_scope_keeps_only_documents_in_the_library(shared):
    assert shared.scope(None) is None and shared.scope([]) is None
    with pytest.raises(ValueError, match="list of document names"):
        shared.scope("all.txt")
    with pytest.raises(ValueError, match="none of the chosen documents"):
        shared.scope(["gone.txt"])


def test_a_reader_cannot_change_the_library(shared):
    library = Library(shared)
    for refused in (library.remove("a.txt", _request("rob")), library.restore("a.txt", _request("rob")),
                    library.add(["/etc/passwd"], _request("rob"))):
        assert ADMIN_ONLY in refused[4]
    assert "Pick a document" in library.remove(None, _request("ann"))[4]


def test_conversations_are_per_user_and_renamed_and_deleted(shared):
    saved = SavedConversations(shared)
    first = saved.on_load(_request("ann"))[1]
    second = saved.new(_request("ann"))[1]
    assert first != second and saved.on_load(_request("rob"))[1] not in {first, second}
    listing, note = saved.rename(second, "Miners", _request("ann"))
    assert note == "" and ("Miners", second) in listing["choices"]
    assert "Type a new title" in saved.rename(second, "", _request("ann"))[1]
    assert saved.rename(second, "Stolen", _request("rob"))[1]  # not rob's: refused, with a message
    after = saved.delete(second, _request("ann"))
    assert second not in {cid for _, cid in after[0]["choices"]}


def test_stop_marks_the_unfinished_answer_or_the_waiting_question(shared):
    chat = Chat(shared)
    _, history, box = chat.stop([Exchange("asked"), Exchange("done", error="x")], "", _request("ann"))
    assert [ex.error for ex in history] == [STOPPED, "x"]
    _, history, box = chat.stop([], "  still in the box ", _request("ann"))
    assert history[-1].question == "still in the box" and box == ""
    assert history[-1].error == "Stopped before the answer was started."
    hidden, note = chat.export(history, "md", whole=True)
    assert hidden["visible"] is False and "nothing to export" in note
