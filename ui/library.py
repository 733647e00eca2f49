"""The Library tab: the indexed documents for everyone; adding, removing and restoring for admins.

Admin rights are checked in every handler, on the server (``Shared.is_admin``),
whatever the page sent: a reader's page hides the tools, and a reader's raw
request to them changes nothing.
"""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from rag.retrieval.trash import TrashError
from ui.common import Loader, document_choices, message, one_line, sentence, status_line
from ui.render import documents_html, esc, plain_title
from ui.state import Shared

UPLOAD_TYPES = [".txt", ".md", ".html", ".htm", ".pdf", ".docx", ".odt", ".epub"]
ADMIN_ONLY = "Only an admin can change the library."


class Library:
    """The handlers of the Library tab, over the shared state."""

    def __init__(self, shared: Shared):
        self.shared = shared

    def views(self) -> tuple:
        """Documents table, removal, trash choices, and the status line, as they are now."""
        base = self.shared.base
        docs = base.documents()
        trash = base.trash()
        return (documents_html(docs), gr.update(choices=document_choices(docs), value=None),
                gr.update(choices=[(f'{t["doc_id"]} (removed {t["removed_at"]})', t["doc_id"]) for t in trash],
                          value=None),
                status_line(base))

    def passages(self, doc_ids: list[str]) -> str:
        """"notes.md (12 passages), a.txt (3 passages)": each document's own count, not the library's total."""
        counts = {d["doc_id"]: int(d.get("chunks", 0)) for d in self.shared.base.documents()}
        return ", ".join(f"{d} ({counts.get(d, 0)} passage{'' if counts.get(d, 0) == 1 else 's'})" for d in doc_ids)

    def on_load(self, request: gr.Request) -> tuple:
        """The library as it is, with the tools for an admin and a note for a reader."""
        admin = self.shared.is_admin(request)
        return (*self.views(), gr.update(visible=admin), gr.update(visible=not admin))

    def add(self, files: list[str] | None, request: gr.Request, progress: gr.Progress = gr.Progress()) -> tuple:
        """Copy uploads into the library and index them; searchable as soon as this returns."""
        if not self.shared.is_admin(request):
            return (*[gr.skip()] * 4, message(ADMIN_ONLY, "error"), gr.skip())
        if not files:
            return (*[gr.skip()] * 4, message("Choose one or more files first."), gr.skip())

        def report_progress(done: int, total: int, doc_id: str) -> None:
            progress((done, max(total, 1)), desc=f"Indexing {doc_id}" if doc_id else "Indexing", unit="files")

        try:
            report = self.shared.base.ingest([Path(f) for f in files], progress=report_progress)
        except Exception as exc:  # noqa: BLE001
            return (*[gr.skip()] * 4, message(f"Could not add the files: {one_line(exc)}", "error"), gr.skip())
        lines = []
        if report.added or report.updated:
            lines.append(f"Added {self.passages(report.added + report.updated)}. "
                         "Ask about it in the Chat tab.")
        elif not report.skipped:
            lines.append("These files are already in the library.")
        lines += [f"Skipped {Path(s.path).name}: {s.reason}" for s in report.skipped]
        kind = "ok" if (report.added or report.updated) else "error" if report.skipped else "info"
        return (*self.views(), message("<br>".join(esc(line) for line in lines), kind, escaped=True), None)

    def ask_remove(self, doc_id: str | None) -> tuple:
        """Step one of removal: name the document and ask; nothing changes yet."""
        doc = self.shared.base.document(doc_id) if isinstance(doc_id, str) and doc_id else None
        if doc is None:
            return gr.update(visible=False), "", message("Pick a document to remove.")
        title = plain_title(doc.title, doc.doc_id)
        text = (f'<div class="rag-msgline rag-error">Move <b>{esc(title)}</b> (<code>{esc(doc.doc_id)}</code>) '
                "to the trash? It leaves the library and the index; Restore brings it back.</div>")
        return gr.update(visible=True), text, ""

    def remove(self, doc_id: str | None, request: gr.Request) -> tuple:
        """Step two: move the named document to the trash (admins only)."""
        hidden = gr.update(visible=False)
        if not self.shared.is_admin(request):
            return (*[gr.skip()] * 4, message(ADMIN_ONLY, "error"), hidden)
        if not isinstance(doc_id, str) or not doc_id:
            return (*[gr.skip()] * 4, message("Pick a document to remove."), hidden)
        try:
            removed = self.shared.base.remove(doc_id)
        except Exception as exc:  # noqa: BLE001
            return (*[gr.skip()] * 4, message(f"Could not remove it: {one_line(exc)}", "error"), hidden)
        text = f"Moved {doc_id} to the trash." if removed else f"{doc_id} was not in the library."
        return (*self.views(), message(text, "ok" if removed else "info"), hidden)

    def restore(self, doc_id: str | None, request: gr.Request) -> tuple:
        """Bring a document back from the trash into the library and the index (admins only)."""
        if not self.shared.is_admin(request):
            return (*[gr.skip()] * 4, message(ADMIN_ONLY, "error"))
        if not isinstance(doc_id, str) or not doc_id:
            return (*[gr.skip()] * 4, message("Pick a document in the trash first."))
        try:
            report = self.shared.base.restore(doc_id)
        except TrashError as exc:
            return (*[gr.skip()] * 4, message(sentence(str(exc)), "error"))
        except Exception as exc:  # noqa: BLE001
            return (*[gr.skip()] * 4, message(f"Could not restore it: {one_line(exc)}", "error"))
        return (*self.views(), message(f"Restored {self.passages([doc_id])}.", "ok"))


def build_library(shared: Shared, status: gr.HTML) -> Loader:
    """The Library tab and its events; the loader fills the table and shows the tools to admins only."""
    library = Library(shared)
    with gr.Tab("Library", id="library") as tab:
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=280):
                gr.HTML('<div class="rag-side-title">Indexed documents</div>')
                documents = gr.HTML(documents_html([]), elem_id="rag-documents")
            with gr.Column(scale=2, min_width=280, visible=False) as admin_tools:
                uploads = gr.File(label="Add documents (.txt, .md, .html, .pdf, .docx, .odt, .epub)", file_count="multiple",
                                  file_types=UPLOAD_TYPES, elem_id="rag-upload")
                add_button = gr.Button("Add to library", variant="primary", elem_id="rag-add")
                remove_choice = gr.Dropdown([], value=None, label="Remove a document", allow_custom_value=True,
                                            elem_id="rag-remove-choice")
                remove_button = gr.Button("Remove…", variant="stop", elem_id="rag-remove")
                with gr.Group(visible=False, elem_id="rag-remove-confirm-box") as confirm_box:
                    remove_question = gr.HTML("", elem_id="rag-remove-question")
                    with gr.Row():
                        remove_yes = gr.Button("Move to trash", variant="stop", size="sm", elem_id="rag-remove-confirm")
                        remove_no = gr.Button("Cancel", size="sm", elem_id="rag-remove-cancel")
                restore_choice = gr.Dropdown([], value=None, label="Trash: bring a document back",
                                             allow_custom_value=True, elem_id="rag-restore-choice")
                restore_button = gr.Button("Restore", elem_id="rag-restore")
            reader_note = gr.HTML('<div class="rag-help">You can ask and export; only an admin can change '
                                  'the library.</div>', visible=False, elem_id="rag-reader-note")
        ingest_message = gr.HTML("", elem_id="rag-ingest-message")

    outputs = [documents, remove_choice, restore_choice, status]
    tab.select(library.views, None, outputs, api_visibility="private")
    add_button.click(library.add, [uploads], [*outputs, ingest_message, uploads], api_visibility="private")
    remove_button.click(library.ask_remove, [remove_choice], [confirm_box, remove_question, ingest_message],
                        api_visibility="private")
    remove_choice.change(lambda: gr.update(visible=False), None, confirm_box, api_visibility="private")
    remove_no.click(lambda: (gr.update(visible=False), ""), None, [confirm_box, ingest_message],
                    api_visibility="private")
    remove_yes.click(library.remove, [remove_choice], [*outputs, ingest_message, confirm_box],
                     api_visibility="private")
    restore_button.click(library.restore, [restore_choice], [*outputs, ingest_message], api_visibility="private")
    return Loader([*outputs, admin_tools, reader_note], library.on_load)
