"""The tabs' handlers called directly, without a server or a browser: the split into ui.state
and one class per tab makes them plain objects. Fast; no models (quotes only, an empty library)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from rag import Answer, Assistant, Settings
from rag.core.auth import Access, Users
from rag.assistant.conversations import Conversations
from ui.chat import STOPPED, Chat, scoped_refusal
from ui.conversations import SavedConversations
from ui.evaluate import Evaluation
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


NOTE = ("Zorblat cooperative\n\nThe Zorblat mining cooperative moved its machines to Husavik in Iceland. "
        "It mines the imaginary mineral glimmerite with geothermal power from the Krafla field.\n")


def test_an_added_document_reports_its_own_passages_not_the_librarys(shared, tmp_path):
    first, second = tmp_path / "first.txt", tmp_path / "second.txt"
    first.write_text(NOTE, encoding="utf-8")
    second.write_text(NOTE.replace("Zorblat", "Quellin") * 3, encoding="utf-8")
    library = Library(shared)
    library.add([str(first)], _request("ann"), progress=lambda *a, **k: None)
    note = library.add([str(second)], _request("ann"), progress=lambda *a, **k: None)[4]
    own = {d["doc_id"]: d["chunks"] for d in shared.base.documents()}["second.txt"]
    total = shared.base.info()["chunks"]
    assert own < total and f"Added second.txt ({own} passage" in note, note


def test_a_refusal_under_a_document_scope_says_the_search_was_limited():
    refused = Answer(question="q", answer="The documents do not cover this.", refused=True,
                     reason="the documents do not mention glimmerite")
    scoped = scoped_refusal(refused, ["a.txt"])
    assert scoped.reason.startswith("the documents do not mention glimmerite")
    assert "only the document ticked under Documents to search was searched" in scoped.reason
    assert scoped_refusal(refused, None) is refused and "2 documents" in scoped_refusal(refused, ["a", "b"]).reason


def test_evaluate_lists_skipped_lines_shows_progress_and_plots_and_no_server_path(shared, tmp_path):
    upload = tmp_path / "upload-dir" / "questions.jsonl"
    upload.parent.mkdir()
    upload.write_text('{"id": "q1", "question": "Where did the Zorblat cooperative move?"}\n'
                      '{"id": "q2", "question": \n{"id": "q3", "answerable": false}\n'
                      '{"id": "q4", "question": "What does the Zorblat cooperative mine?"}\n', encoding="utf-8")
    seen = []
    note, shown, files = Evaluation(shared).run(str(upload), _request("ann"),
                                                progress=lambda value, **k: seen.append((value, k.get("desc"))))
    assert "Done: 2 questions of questions.jsonl" in note and "Skipped 2 lines" in note, note
    assert "Line 2: not valid JSON" in note and "Line 3: missing question" in note
    assert [value for value, _ in seen[1:]] == [(1, 2), (2, 2)] and seen[-1][1] == "Answered 2 of 2 questions"
    assert shown.count("<svg") == 3 and "rag-metrics" in shown
    report = next(Path(f) for f in files if f.endswith("report.html")).read_text(encoding="utf-8")
    assert str(tmp_path) not in note + shown + report and "questions.jsonl" in report

    assert "Only an admin" in Evaluation(shared).run(str(upload), _request("rob"))[0]  # a reader: refused


def test_evaluate_refuses_a_non_text_file_in_one_line(shared, tmp_path):
    binary = tmp_path / "photo.csv"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xdb\xff" * 20)
    note, shown, _ = Evaluation(shared).run(str(binary), _request("ann"), progress=lambda *a, **k: None)
    assert "photo.csv is not a text file: upload a .jsonl or .csv file saved as UTF-8 text" in note
    assert "codec" not in note and str(tmp_path) not in note and note.count("<br>") == 0 and shown == ""
