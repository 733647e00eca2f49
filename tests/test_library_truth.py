"""The library folder and the index list the same documents: a skipped copy is not kept, and a removal
takes every copy of that content to the trash, so no later sync brings it back (issue 29, item 1)."""

from __future__ import annotations

from pathlib import Path

from rag import Assistant
from rag.cli import main

NOTE = ("The Lindqvist ferry crosses the fjord at Hallstavik every forty minutes. "
        "Its winter timetable starts on the first Monday of November.\n")


def _library_texts(assistant: Assistant) -> list[str]:
    library = assistant.index.library()
    return sorted(p.relative_to(library).as_posix() for p in library.rglob("*")
                  if p.is_file() and p.read_text(encoding="utf-8", errors="replace") == NOTE)


def _indexed_with_note(assistant: Assistant) -> list[str]:
    return sorted(d["doc_id"] for d in assistant.documents() if assistant.document(d["doc_id"]).text.strip() == NOTE.strip())


def test_a_removed_document_does_not_come_back_through_a_copy(fresh_assistant: Assistant, tmp_path: Path):
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    (uploads / "ferry.txt").write_text(NOTE, encoding="utf-8")
    (uploads / "ferry-copy.txt").write_text(NOTE, encoding="utf-8")
    report = fresh_assistant.ingest([uploads / "ferry.txt"])
    assert report.added == ["ferry.txt"]

    again = fresh_assistant.ingest([uploads / "ferry-copy.txt"])
    assert [Path(s.path).name for s in again.skipped] == ["ferry-copy.txt"]
    assert again.skipped[0].reason.startswith("duplicate of ferry.txt")
    assert _library_texts(fresh_assistant) == ["ferry.txt"]  # the skipped copy is not kept in the library

    library = fresh_assistant.index.library()
    (library / "by-hand.txt").write_text(NOTE, encoding="utf-8")  # a copy put in the folder by hand
    synced = fresh_assistant.ingest()
    assert [s.reason for s in synced.skipped if s.path == "by-hand.txt"] == ["duplicate of ferry.txt"]

    assert fresh_assistant.remove("ferry.txt")
    assert _library_texts(fresh_assistant) == []  # every copy of the content went to the trash
    fresh_assistant.ingest()  # what `rag ingest` does after a change: nothing may come back
    assert _indexed_with_note(fresh_assistant) == []
    assert all(hit.chunk.doc_id not in {"ferry.txt", "by-hand.txt"}
               for hit in fresh_assistant.search("Lindqvist ferry winter timetable Hallstavik"))
    assert {entry["doc_id"] for entry in fresh_assistant.trash()} >= {"ferry.txt", "by-hand.txt"}


def test_rag_remove_moves_documents_to_the_trash(fresh_assistant: Assistant, tmp_path: Path, capsys):
    home = fresh_assistant.settings.home
    note = tmp_path / "ferry.txt"
    note.write_text(NOTE, encoding="utf-8")
    fresh_assistant.ingest([note])
    fresh_assistant.close()

    assert main(["remove", "--home", str(home), "ferry.txt", "no-such.txt"]) == 1
    out, err = capsys.readouterr()
    assert "removed ferry.txt to the trash" in out and "no document no-such.txt" in err
    after = Assistant(fresh_assistant.settings)
    try:
        assert "ferry.txt" not in {d["doc_id"] for d in after.documents()}
        assert [e["doc_id"] for e in after.trash()] == ["ferry.txt"]
    finally:
        after.close()
    assert main(["remove", "--home", str(home), "../outside.txt"]) == 2  # never a path outside the library
