"""The chat's saved conversations: the list on the left, switching, renaming, deleting, and each one's scope.

Conversations belong to the logged-in user (``Shared.owner``); a reload or a
restart comes back to the one used last.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import gradio as gr

from ui.common import Loader, document_choices, message
from ui.render import Exchange, hits_html, passage_placeholder, transcript_html
from ui.state import Shared


@dataclass(frozen=True)
class Sidebar:
    """The left column: the list of conversations and its controls."""

    new: gr.Button
    listing: gr.Radio
    rename_text: gr.Textbox
    rename: gr.Button
    delete: gr.Button
    confirm_row: gr.Row
    confirm: gr.Button
    keep: gr.Button


@dataclass(frozen=True)
class Shown:
    """What shows one conversation, in the order ``SavedConversations.views`` fills it."""

    listing: gr.Radio
    conv_id: gr.State
    exchanges: gr.State
    transcript: gr.HTML
    sources: gr.HTML
    passage: gr.HTML
    scope: gr.CheckboxGroup
    rename_text: gr.Textbox
    export_file: gr.File
    export_message: gr.HTML

    @property
    def outputs(self) -> list:
        return [getattr(self, f.name) for f in fields(self)]


def build_sidebar() -> Sidebar:
    """The left column, laid out where it is called (the chat tab's first column)."""
    with gr.Column(scale=1, min_width=200, elem_classes="rag-convs"):
        new = gr.Button("+ New conversation", size="sm", elem_id="rag-new-conv")
        listing = gr.Radio([], label="Conversations", elem_id="rag-conv-list")
        with gr.Accordion("Rename or delete", open=False, elem_id="rag-conv-manage"):
            rename_text = gr.Textbox(show_label=False, placeholder="New title", max_lines=1, elem_id="rag-rename-text")
            with gr.Row():
                rename = gr.Button("Rename", size="sm", elem_id="rag-rename")
                delete = gr.Button("Delete", size="sm", variant="stop", elem_id="rag-delete-conv")
            with gr.Row(visible=False, elem_id="rag-delete-confirm-row") as confirm_row:
                confirm = gr.Button("Delete it", size="sm", variant="stop", elem_id="rag-delete-conv-yes")
                keep = gr.Button("Keep it", size="sm", elem_id="rag-delete-conv-no")
    return Sidebar(new, listing, rename_text, rename, delete, confirm_row, confirm, keep)


class SavedConversations:
    """The handlers of the saved conversations, over the shared store."""

    def __init__(self, shared: Shared):
        self.shared = shared

    def views(self, user: str, cid: str | None) -> tuple:
        """``Shown`` for conversation ``cid`` (the newest one, or a new one)."""
        store, base = self.shared.store, self.shared.base
        listed = store.list(user)
        if cid is None or cid not in {c.id for c in listed}:
            cid = listed[0].id if listed else store.create(user)
            listed = listed or store.list(user)
        loaded = store.load(user, cid)
        history = [Exchange(question=m.question, answer=m.answer, error=m.error) for m in loaded.messages] \
            if loaded else []
        docs = base.documents()
        known = {d["doc_id"] for d in docs}
        chosen = [d for d in (loaded.doc_ids or []) if d in known] if loaded else []
        last = history[-1].answer if history and history[-1].answer else None
        return (gr.update(choices=[(c.title, c.id) for c in listed], value=cid), cid, history,
                transcript_html(history), hits_html(last.retrieved if last else []), passage_placeholder(),
                gr.update(choices=document_choices(docs), value=chosen),
                gr.update(value=loaded.title if loaded else ""), gr.update(visible=False), "")

    def on_load(self, request: gr.Request) -> tuple:
        return self.views(self.shared.owner(request), None)

    def new(self, request: gr.Request) -> tuple:
        return self.views(self.shared.owner(request), self.shared.store.create(self.shared.owner(request)))

    def switch(self, cid: str, request: gr.Request) -> tuple:
        if isinstance(cid, str):
            self.shared.store.touch(self.shared.owner(request), cid)  # a reload or restart comes back to it
        return self.views(self.shared.owner(request), cid)

    def rename(self, cid: str | None, title: str, request: gr.Request) -> tuple:
        store, user = self.shared.store, self.shared.owner(request)
        if not cid or not store.rename(user, cid, title):
            return gr.skip(), message("Type a new title first.")
        store.touch(user, cid)
        return gr.update(choices=[(c.title, c.id) for c in store.list(user)], value=cid), ""

    def delete(self, cid: str | None, request: gr.Request) -> tuple:
        if cid:
            self.shared.store.delete(self.shared.owner(request), cid)
        return (*self.views(self.shared.owner(request), None), gr.update(visible=False))

    def save_scope(self, cid: str | None, chosen: list[str] | None, request: gr.Request) -> None:
        try:
            if isinstance(cid, str):
                self.shared.store.set_scope(self.shared.owner(request), cid, self.shared.scope(chosen))
        except ValueError:
            pass  # a scope of unknown documents is not kept; the next question says why


def wire_conversations(shared: Shared, sidebar: Sidebar, shown: Shown) -> Loader:
    """Wire the sidebar's events; the loader shows the user's newest conversation when a page opens."""
    saved = SavedConversations(shared)
    outputs = shown.outputs
    sidebar.new.click(saved.new, None, outputs, api_visibility="private")
    sidebar.listing.input(saved.switch, [sidebar.listing], outputs, api_visibility="private")
    sidebar.rename.click(saved.rename, [shown.conv_id, sidebar.rename_text], [sidebar.listing, shown.export_message],
                         api_visibility="private")
    sidebar.delete.click(lambda: gr.update(visible=True), None, sidebar.confirm_row, api_visibility="private")
    sidebar.keep.click(lambda: gr.update(visible=False), None, sidebar.confirm_row, api_visibility="private")
    sidebar.confirm.click(saved.delete, [shown.conv_id], [*outputs, sidebar.confirm_row], api_visibility="private")
    shown.scope.input(saved.save_scope, [shown.conv_id, shown.scope], None, api_visibility="private")
    return Loader(outputs, saved.on_load)
