"""The browser chat: a Gradio app over ``rag.Assistant``.

Shared objects are few and fixed at start: one index, one assistant per model
the operator configured (``Models``), the saved conversations and the access
rules. A chat request can pick a configured model by name and bounded options
(top-k, temperature, strictness) that apply to that one answer; it can never
name a file, a server or a key. Every handler that changes the library asks
``Access`` for the caller's role on the server, whatever the page sent.
"""

from __future__ import annotations

import logging
import os
import socket
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import gradio as gr  # noqa: E402
from starlette.middleware import Middleware  # noqa: E402

from rag import (  # noqa: E402
    Answer, Assistant, BadQuestion, Cancelled, GeneratorError, IndexUnusable, Quotes, Settings, Turn,
)
from rag.auth import Access, LoginGuard, LoginThrottle, Users  # noqa: E402
from rag.check import MAX_CHECK_CHARS, iter_check  # noqa: E402
from rag.config import TEMPERATURE_RANGE, TOP_K_RANGE, AskOptions, model_label  # noqa: E402
from rag.conversations import Conversations, Message  # noqa: E402
from rag.export import CHECK_FORMATS  # noqa: E402
from rag.progress import Running, Slot  # noqa: E402
from rag.served_models import Listing, ServedModels  # noqa: E402
from rag.trash import TrashError  # noqa: E402
from ui.exposure import is_loopback  # noqa: E402
from ui.render import (  # noqa: E402
    Exchange, check_html, check_summary, documents_html, esc, hits_html, metrics_html, passage_html,
    passage_placeholder, plain_title, status_html, transcript_html,
)

LOG = logging.getLogger("rag.ui")
CSS_PATH = Path(__file__).with_name("style.css")
EXPORT_FORMATS = ["md", "html", "json", "pdf"]
UPLOAD_TYPES = [".txt", ".md", ".html", ".htm", ".pdf"]
ADMIN_ONLY = "Only an admin can change the library."
CHECK_BUSY = "Another text is being checked on this server right now; try again when it has finished."
STOPPED = "Stopped before the answer was finished."
EXAMPLES = [
    "Where are Chinese miners moving their machines?",
    "What did Inner Mongolia do about mining?",
    "Why did the government crack down on bitcoin mining?",
    "What happened to mining in Xinjiang?",
]

# Clicks on citation buttons become one 'click' event carrying which answer and which number.
TRANSCRIPT_JS = """
element.addEventListener('click', (event) => {
  const copy = event.target.closest('.rag-copy');
  if (copy) {
    const text = copy.closest('.rag-bubble').querySelector('.rag-answer').innerText;
    navigator.clipboard?.writeText(text).then(() => { copy.textContent = 'Copied'; });
    return;
  }
  const button = event.target.closest('[data-turn][data-n]');
  if (!button) return;
  element.querySelectorAll('.rag-active').forEach((b) => b.classList.remove('rag-active'));
  button.classList.add('rag-active');
  trigger('click', {turn: Number(button.dataset.turn), n: Number(button.dataset.n)});
});
watch('value', () => {
  const box = element.querySelector('.rag-chat');
  if (box) box.scrollTop = box.scrollHeight;
});
"""
# Clicks on a check's citation become one 'click' event carrying which sentence and which citation.
CHECK_JS = """
document.addEventListener('click', (event) => {
  const button = event.target.closest('#rag-check-results [data-item][data-cite]');
  if (!button) return;
  trigger('click', {item: Number(button.dataset.item), cite: Number(button.dataset.cite)});
});
"""
# Bring the highlighted passage into view inside the article, not the whole page.
PASSAGE_JS = """
watch('value', () => {
  const box = element.querySelector('.rag-article');
  const mark = element.querySelector('mark');
  if (box && mark) box.scrollTop = Math.max(0, mark.offsetTop - box.offsetTop - 60);
});
"""


class QuietBlocks(gr.Blocks):
    """Blocks whose handlers answer any bad request with one line and print no traceback.

    Gradio prints a stack trace for every exception but a ``gr.Error(print_exception=False)``,
    and a raw ``queue/join`` can send any handler wrong types, None, megabyte strings or too
    many values, failing in Gradio's own preprocessing before our code runs. Those are the
    caller's errors, not the server's: the caller gets one line, the log one line (the
    trace only at DEBUG level, for a developer who asks for it).
    """

    async def process_api(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        try:
            return await super().process_api(*args, **kwargs)
        except gr.Error as exc:
            if not exc.print_exception and len(str(exc.message)) <= 300 and "\n" not in str(exc.message):
                raise
            LOG.warning("rag serve: refused a request: %s", _one_line(exc.message))
            # Gradio shows an error's message as HTML, and this one may quote the request's value
            raise gr.Error(esc(_one_line(exc.message)), title=exc.title, print_exception=False) from None
        except Exception as exc:  # noqa: BLE001 - whatever a request's data broke, one line
            LOG.warning("rag serve: refused a request: %s: %s", type(exc).__name__, _one_line(exc))
            LOG.debug("the refused request's trace", exc_info=True)
            raise gr.Error(f"This request could not be handled ({esc(_one_line(exc, 200))}).",
                           print_exception=False) from None


class QuietStreams:
    """ASGI middleware: an error raised after a response has started is one log line and a closed response.

    Gradio's event stream raises once its headers are sent when a client reads the
    stream of a session that does not exist (any raw GET can); uvicorn would print
    a traceback for it. The response is ended cleanly instead.
    """

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = {"started": False, "ended": False}

        async def tracked(message: dict) -> None:
            if message["type"] == "http.response.start":
                state["started"] = True
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                state["ended"] = True
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:  # noqa: BLE001 - only once the response is under way; otherwise re-raised
            if not state["started"]:
                raise
            LOG.warning("rag serve: %s %s ended early: %s", scope.get("method"), scope.get("path"), _one_line(exc))
            if not state["ended"]:
                await send({"type": "http.response.body", "body": b"", "more_body": False})


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


def build_app(base: Assistant, models: Models | None = None, access: Access | None = None,
              conversations: Conversations | None = None) -> gr.Blocks:
    """The whole interface: Chat (with saved conversations), Check a text, Library and Evaluate over one library."""
    models = models or Models(base)
    answering = Running()  # per browser session: the answers its Stop button ends
    checking = Running()
    check_slot = Slot()  # one check at a time per server: it is long, and answers must not wait behind two
    access = access or Access(None, loopback=True)
    store = conversations or Conversations(base.settings.home / "conversations.sqlite")
    s = base.settings

    def owner(request: gr.Request | None) -> str:
        """Conversations belong to the logged-in user; without auth there is one local user."""
        return str(getattr(request, "username", None) or "") if access.users is not None else ""

    def is_admin(request: gr.Request | None) -> bool:
        return access.is_admin(getattr(request, "username", None))

    with QuietBlocks(title="Cited answers", fill_width=True) as app:
        exchanges = gr.State([])
        conv_id = gr.State(None)

        with gr.Row(elem_classes="rag-header"):
            gr.HTML('<div class="rag-brand"><span class="rag-logo">❝</span><div><h1>Cited answers</h1>'
                    '<p>Answers from your own documents. Every sentence is checked against its source.</p>'
                    '</div></div>')
        status = gr.HTML(_status(base), elem_id="rag-status")

        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                with gr.Row(equal_height=False, elem_classes="rag-chat-row"):
                    with gr.Column(scale=1, min_width=200, elem_classes="rag-convs"):
                        new_conv = gr.Button("+ New conversation", size="sm", elem_id="rag-new-conv")
                        conv_list = gr.Radio([], label="Conversations", elem_id="rag-conv-list")
                        with gr.Accordion("Rename or delete", open=False, elem_id="rag-conv-manage"):
                            rename_box = gr.Textbox(show_label=False, placeholder="New title", max_lines=1,
                                                    elem_id="rag-rename-text")
                            with gr.Row():
                                rename_button = gr.Button("Rename", size="sm", elem_id="rag-rename")
                                delete_conv = gr.Button("Delete", size="sm", variant="stop", elem_id="rag-delete-conv")
                            with gr.Row(visible=False, elem_id="rag-delete-confirm-row") as delete_confirm_row:
                                delete_conv_yes = gr.Button("Delete it", size="sm", variant="stop",
                                                            elem_id="rag-delete-conv-yes")
                                delete_conv_no = gr.Button("Keep it", size="sm", elem_id="rag-delete-conv-no")
                    with gr.Column(scale=3, min_width=280):
                        transcript = gr.HTML(transcript_html([]), js_on_load=TRANSCRIPT_JS, elem_id="rag-transcript")
                        with gr.Row(elem_classes="rag-ask-row"):
                            question = gr.Textbox(show_label=False, placeholder="Ask a question about the documents…",
                                                  lines=1, max_lines=4, scale=6, min_width=160, elem_id="rag-question",
                                                  autofocus=True)
                            ask_button = gr.Button("Ask", variant="primary", scale=1, min_width=70, elem_id="rag-ask")
                            stop_button = gr.Button("Stop", variant="secondary", scale=1, min_width=70,
                                                    elem_id="rag-stop")
                        with gr.Row(elem_classes="rag-examples"):
                            example_buttons = [gr.Button(text, size="sm", variant="secondary",
                                                         elem_classes="rag-example") for text in EXAMPLES]
                        with gr.Row(elem_classes="rag-export-row"):
                            export_format = gr.Radio(EXPORT_FORMATS, value="md", show_label=False, container=False,
                                                     scale=3, min_width=200, elem_id="rag-export-format")
                            export_last = gr.Button("Export last answer", size="sm", scale=1, min_width=120,
                                                    elem_id="rag-export-last")
                            export_all = gr.Button("Export conversation", size="sm", scale=1, min_width=120,
                                                   elem_id="rag-export-all")
                        export_file = gr.File(label="Download", visible=False, interactive=False,
                                              elem_id="rag-export-file")
                        export_message = gr.HTML("", elem_id="rag-export-message")
                        with gr.Accordion("Documents to search", open=False, elem_id="rag-scope-box"):
                            scope = gr.CheckboxGroup([], show_label=False, elem_id="rag-scope",
                                                     info="None checked = the whole library. Kept per conversation.")
                        with gr.Accordion("Settings", open=False, elem_id="rag-settings"):
                            model_choice = gr.Dropdown(models.names, value=models.names[0], label="Model",
                                                       interactive=len(models.names) > 1, elem_id="rag-model",
                                                       allow_custom_value=True,  # checked by Models.get: one line
                                                       info="the models this server's operator configured")
                            model_note = gr.HTML("", elem_id="rag-model-note")
                            top_k = gr.Slider(*TOP_K_RANGE, value=s.top_k, step=1, label="Passages to retrieve (top-k)",
                                              elem_id="rag-top-k")
                            temperature = gr.Slider(*TEMPERATURE_RANGE, value=s.temperature, step=0.05,
                                                    label="Temperature", elem_id="rag-temperature")
                            strict = gr.Checkbox(value=s.strict,
                                                 label="Strict: drop sentences the sources do not support",
                                                 elem_id="rag-strict")
                    with gr.Column(scale=2, min_width=280, elem_classes="rag-side"):
                        gr.HTML('<div class="rag-side-title">Cited passage</div>')
                        passage = gr.HTML(passage_placeholder(), js_on_load=PASSAGE_JS, elem_id="rag-passage")
                        gr.HTML('<div class="rag-side-title">Passages retrieved</div>')
                        sources = gr.HTML(hits_html([]), elem_id="rag-hits")

            with gr.Tab("Check a text", id="check"):
                gr.HTML('<div class="rag-help">Paste a text (a draft, someone else\'s summary). Each sentence is '
                        'looked up in the documents and marked <b>supported</b>, <b>contradicted</b> or <b>not '
                        'found</b>, with the reason and the exact sentence it rests on. Up to '
                        f'{MAX_CHECK_CHARS:,} characters; one check runs at a time on this server.</div>')
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3, min_width=280):
                        check_input = gr.Textbox(label="Text to check", lines=6, max_lines=16, elem_id="rag-check-text",
                                                 placeholder="BitMining plans to build mines in the United States and "
                                                             "Kazakhstan. …")
                        with gr.Row():
                            check_button = gr.Button("Check", variant="primary", scale=1, elem_id="rag-check-run")
                            check_stop = gr.Button("Stop", variant="secondary", scale=1, elem_id="rag-check-stop")
                        check_message = gr.HTML("", elem_id="rag-check-message")
                        check_results = gr.HTML("", elem_id="rag-check-results")
                        checked = gr.State(None)  # (text, [CheckResult]) of the last finished check, for export
                        with gr.Row(elem_classes="rag-export-row"):
                            check_format = gr.Radio(list(CHECK_FORMATS), value="md", show_label=False, container=False,
                                                    scale=3, min_width=160, elem_id="rag-check-format")
                            check_export = gr.Button("Export check", size="sm", scale=1, min_width=120,
                                                     elem_id="rag-check-export")
                        check_file = gr.File(label="Download", visible=False, interactive=False, elem_id="rag-check-file")
                    with gr.Column(scale=2, min_width=280, elem_classes="rag-side"):
                        gr.HTML('<div class="rag-side-title">Cited sentence in its article</div>')
                        check_passage = gr.HTML(passage_placeholder(), js_on_load=CHECK_JS + PASSAGE_JS,
                                                elem_id="rag-check-passage")

            with gr.Tab("Library", id="library") as library_tab:
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3, min_width=280):
                        gr.HTML('<div class="rag-side-title">Indexed documents</div>')
                        documents = gr.HTML(documents_html([]), elem_id="rag-documents")
                    with gr.Column(scale=2, min_width=280, visible=False) as admin_tools:
                        uploads = gr.File(label="Add documents (.txt, .md, .html, .pdf)", file_count="multiple",
                                          file_types=UPLOAD_TYPES, elem_id="rag-upload")
                        add_button = gr.Button("Add to library", variant="primary", elem_id="rag-add")
                        remove_choice = gr.Dropdown([], value=None, label="Remove a document", allow_custom_value=True,
                                                    elem_id="rag-remove-choice")
                        remove_button = gr.Button("Remove…", variant="stop", elem_id="rag-remove")
                        with gr.Group(visible=False, elem_id="rag-remove-confirm-box") as remove_confirm_box:
                            remove_question = gr.HTML("", elem_id="rag-remove-question")
                            with gr.Row():
                                remove_yes = gr.Button("Move to trash", variant="stop", size="sm",
                                                       elem_id="rag-remove-confirm")
                                remove_no = gr.Button("Cancel", size="sm", elem_id="rag-remove-cancel")
                        restore_choice = gr.Dropdown([], value=None, label="Trash: bring a document back",
                                                     allow_custom_value=True, elem_id="rag-restore-choice")
                        restore_button = gr.Button("Restore", elem_id="rag-restore")
                    reader_note = gr.HTML('<div class="rag-help">You can ask and export; only an admin can change '
                                          'the library.</div>', visible=False, elem_id="rag-reader-note")
                ingest_message = gr.HTML("", elem_id="rag-ingest-message")

            with gr.Tab("Evaluate", id="evaluate"):
                gr.HTML('<div class="rag-help">Upload a questions file to score the assistant: <code>.jsonl</code> '
                        'or <code>.csv</code> with an <code>id</code> and a <code>question</code> per row, and '
                        'optionally <code>answerable</code>, <code>must_include</code>, <code>sources</code>. '
                        'You get the headline numbers here, report.html and the raw results. Admins only.</div>')
                with gr.Row():
                    eval_questions = gr.File(label="Questions file", file_types=[".jsonl", ".csv"],
                                             elem_id="rag-eval-file")
                    with gr.Column():
                        eval_button = gr.Button("Run evaluation", variant="primary", elem_id="rag-eval-run")
                        eval_message = gr.HTML("", elem_id="rag-eval-message")
                        eval_metrics = gr.HTML("", elem_id="rag-eval-metrics")
                        eval_files = gr.File(label="Report and results", file_count="multiple", interactive=False,
                                             elem_id="rag-eval-files")

        # -- shared views ---------------------------------------------------------------

        def library_views() -> tuple:
            """Documents table, removal, trash and scope choices, and the status line, as they are now."""
            docs = base.documents()
            trash = base.trash()
            return (documents_html(docs), gr.update(choices=_document_choices(docs), value=None),
                    gr.update(choices=[(f'{t["doc_id"]} (removed {t["removed_at"]})', t["doc_id"]) for t in trash],
                              value=None),
                    _status(base))

        library_outputs = [documents, remove_choice, restore_choice, status]

        def conversation_views(user: str, cid: str | None) -> tuple:
            """Sidebar, transcript, state and scope of conversation ``cid`` (the newest one, or a new one)."""
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
                    gr.update(choices=_document_choices(docs), value=chosen),
                    gr.update(value=loaded.title if loaded else ""), gr.update(visible=False), "")

        conversation_outputs = [conv_list, conv_id, exchanges, transcript, sources, passage, scope, rename_box,
                                export_file, export_message]

        def model_views() -> tuple:
            """The picker's names as the operator's servers list them now (cached), and why some are missing."""
            listing = models.listing()
            note = "".join(_message(line) for line in listing.problems)
            return (gr.update(choices=list(listing.names), value=models.served.default,
                              interactive=len(listing.names) > 1), note)

        def on_load(request: gr.Request) -> tuple:
            admin = is_admin(request)
            return (*library_views(), *conversation_views(owner(request), None), gr.update(visible=admin),
                    gr.update(visible=not admin), *model_views())

        app.load(on_load, None, [*library_outputs, *conversation_outputs, admin_tools, reader_note, model_choice,
                                 model_note], api_visibility="private")
        library_tab.select(library_views, None, library_outputs, api_visibility="private")

        # -- chat ----------------------------------------------------------------------

        def chat(text: str, history: list[Exchange], cid: str | None, model_name: str, k: float, temp: float,
                 strict_value: bool, chosen: list[str] | None, request: gr.Request) -> Iterator[tuple]:
            """Stream one answer into the transcript, save it, then show its sources."""
            history = list(history or [])
            exchange = Exchange(question=(text or "").strip())
            if not exchange.question:
                yield gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
                return
            history.append(exchange)
            yield transcript_html(history), gr.skip(), "", history, gr.skip(), gr.skip(), gr.skip()
            turns = [Turn(ex.question, ex.answer.answer) for ex in history[:-1] if ex.answer is not None]
            assistant = base
            session = _session(request)
            token = answering.start(session)  # Stop cancels it: generation ends at the next token
            try:
                assistant = models.get(model_name)
                options = AskOptions.checked(top_k=k, temperature=temp, strict=strict_value)
                doc_ids = _scope(chosen, base)
                for event in assistant.stream(exchange.question, turns, options=options, doc_ids=doc_ids,
                                              cancel=token, quotes_first=True):
                    if isinstance(event, Answer):
                        exchange.answer = event
                        continue
                    if isinstance(event, Quotes):  # the evidence, before the model writes
                        exchange.quotes = event.citations
                    else:
                        exchange.partial += event
                    yield transcript_html(history), gr.skip(), gr.skip(), history, gr.skip(), gr.skip(), gr.skip()
            except Cancelled:
                exchange.error = STOPPED
            except (BadQuestion, ValueError) as exc:
                exchange.error = _sentence(_one_line(exc))
            except Exception as exc:  # noqa: BLE001 - the user sees one line, never a stack trace
                exchange.error = _one_line(exc)
            finally:
                answering.finish(session, token)
            user = owner(request)
            if cid is None or not store.append(user, cid, Message(exchange.question, exchange.answer, exchange.error)):
                cid = store.create(user)
                store.append(user, cid, Message(exchange.question, exchange.answer, exchange.error))
            listed = gr.update(choices=[(c.title, c.id) for c in store.list(user)], value=cid)
            hits = hits_html(exchange.answer.retrieved) if exchange.answer else gr.skip()
            yield transcript_html(history), hits, gr.skip(), history, _status(assistant), listed, cid

        chat_outputs = [transcript, sources, question, exchanges, status, conv_list, conv_id]
        chat_inputs = [question, exchanges, conv_id, model_choice, top_k, temperature, strict, scope]
        # "multiple": a stopped answer may still be finishing in the background; the next question must not wait for it
        chat_events = [event(chat, chat_inputs, chat_outputs, api_visibility="private", trigger_mode="multiple")
                       for event in (question.submit, ask_button.click)]
        for button, text in zip(example_buttons, EXAMPLES):
            chat_events.append(button.click(lambda t=text: t, None, question, api_visibility="private").then(
                chat, chat_inputs, chat_outputs, api_visibility="private"))

        def stop(history: list[Exchange], text: str, request: gr.Request) -> tuple:
            """Stop this session's answers: the model stops at its next token, the queue drops the event.

            A question still waiting in the queue never reached the conversation: it is
            still in the box, so it is shown as stopped too.
            """
            answering.stop(_session(request))
            history = list(history or [])
            unfinished = [ex for ex in history if ex.answer is None and not ex.error]
            for ex in unfinished:
                ex.error = STOPPED
            if not unfinished and isinstance(text, str) and text.strip():
                history.append(Exchange(question=text.strip(), error="Stopped before the answer was started."))
                return transcript_html(history), history, ""
            return transcript_html(history), history, gr.skip()

        stop_button.click(stop, [exchanges, question], [transcript, exchanges, question], cancels=chat_events,
                          api_visibility="private")

        def show_citation(history: list[Exchange], event: gr.EventData) -> str:
            """The clicked citation's passage, highlighted in its article."""
            try:
                turn, n = int(event.turn), int(event.n)
                answer = history[turn].answer
                citation = next(c for c in answer.citations if c.n == n)
            except (AttributeError, IndexError, StopIteration, TypeError, ValueError):
                return passage_placeholder()
            translation = citation.translation if citation.lang != "en" else None
            return passage_html(base.document(citation.doc_id), citation.start, citation.end, n, translation)

        transcript.click(show_citation, [exchanges], [passage], api_visibility="private")

        # -- checking a text -----------------------------------------------------------

        def run_check(text: str, request: gr.Request) -> Iterator[tuple]:
            """Check a text sentence by sentence, showing each verdict as it comes; one check per server."""
            if not isinstance(text, str) or not text.strip():
                yield _message("Paste a text to check first."), gr.skip(), gr.skip(), gr.update(visible=False)
                return
            if len(text) > MAX_CHECK_CHARS:
                yield (_message(f"The text is too long to check: {len(text):,} characters, the limit is "
                                f"{MAX_CHECK_CHARS:,}. Check it in parts.", "error"),
                       gr.skip(), gr.skip(), gr.update(visible=False))
                return
            session = _session(request)
            token = checking.start(session)
            if not check_slot.claim(token):
                checking.finish(session, token)
                yield _message(CHECK_BUSY, "error"), gr.skip(), gr.skip(), gr.skip()
                return
            results: list = []
            try:
                yield _message("Checking…"), "", None, gr.update(visible=False)
                for result in iter_check(base, text, cancel=token):
                    results.append(result)
                    yield (_message(f"Checked {len(results)} sentence{'s' if len(results) != 1 else ''}…"),
                           check_html(results), gr.skip(), gr.skip())
                yield _message(check_summary(results), "ok"), check_html(results), (text, results), gr.skip()
            except Cancelled:
                note = f"Stopped after {len(results)} sentence{'s' if len(results) != 1 else ''}."
                yield _message(note), check_html(results), (text, results) if results else None, gr.skip()
            except BadQuestion as exc:
                yield _message(_sentence(_one_line(exc)), "error"), gr.skip(), gr.skip(), gr.skip()
            except Exception as exc:  # noqa: BLE001 - one line, never a stack trace
                yield _message(f"The check failed: {_one_line(exc)}", "error"), gr.skip(), gr.skip(), gr.skip()
            finally:
                check_slot.release(token)
                checking.finish(session, token)

        check_outputs = [check_message, check_results, checked, check_file]
        check_event = check_button.click(run_check, [check_input], check_outputs, api_visibility="private",
                                         trigger_mode="multiple")

        def stop_check(request: gr.Request) -> str:
            stopped = checking.stop(_session(request))
            return _message("Stopped." if stopped else "No check is running.")

        check_stop.click(stop_check, None, [check_message], cancels=[check_event], api_visibility="private")

        def export_check(last: object, fmt: str) -> tuple:
            if not (isinstance(last, tuple) and len(last) == 2 and last[1]):
                return gr.update(visible=False), _message("Check a text first; there is nothing to export yet.")
            if fmt not in CHECK_FORMATS:
                return gr.update(visible=False), _message("Choose md or json.", "error")
            try:
                from rag.export import export_check_to_file

                path = export_check_to_file(last[0], last[1], fmt, _Published(base), Path(tempfile.mkdtemp()))
            except Exception as exc:  # noqa: BLE001
                return gr.update(visible=False), _message(f"Export failed: {_one_line(exc)}", "error")
            return gr.update(value=str(path), visible=True), _message(f"Exported the check as {fmt.upper()}.", "ok")

        check_export.click(export_check, [checked, check_format], [check_file, check_message],
                           api_visibility="private")

        def show_check_citation(last: object, event: gr.EventData) -> str:
            """A check's cited sentence, highlighted in its article (picked by position, never by file name)."""
            try:
                result = last[1][int(event.item)]
                citation = result.citations[int(event.cite)]
            except (AttributeError, IndexError, KeyError, TypeError, ValueError):
                return passage_placeholder()
            translation = citation.translation if citation.lang != "en" else None
            return passage_html(base.document(citation.doc_id), citation.start, citation.end, None, translation)

        check_passage.click(show_check_citation, [checked], [check_passage], api_visibility="private")

        # -- saved conversations -------------------------------------------------------

        def new_conversation(request: gr.Request) -> tuple:
            return conversation_views(owner(request), store.create(owner(request)))

        def switch_conversation(cid: str, request: gr.Request) -> tuple:
            if isinstance(cid, str):
                store.touch(owner(request), cid)  # a reload or restart comes back to it
            return conversation_views(owner(request), cid)

        def rename_conversation(cid: str | None, title: str, request: gr.Request) -> tuple:
            if not cid or not store.rename(owner(request), cid, title):
                return gr.skip(), _message("Type a new title first.")
            store.touch(owner(request), cid)
            listed = store.list(owner(request))
            return gr.update(choices=[(c.title, c.id) for c in listed], value=cid), ""

        def delete_conversation(cid: str | None, request: gr.Request) -> tuple:
            if cid:
                store.delete(owner(request), cid)
            return (*conversation_views(owner(request), None), gr.update(visible=False))

        def save_scope(cid: str | None, chosen: list[str] | None, request: gr.Request) -> None:
            try:
                if isinstance(cid, str):
                    store.set_scope(owner(request), cid, _scope(chosen, base))
            except ValueError:
                pass  # a scope of unknown documents is not kept; the next question says why

        new_conv.click(new_conversation, None, conversation_outputs, api_visibility="private")
        conv_list.input(switch_conversation, [conv_list], conversation_outputs, api_visibility="private")
        rename_button.click(rename_conversation, [conv_id, rename_box], [conv_list, export_message],
                            api_visibility="private")
        delete_conv.click(lambda: gr.update(visible=True), None, delete_confirm_row, api_visibility="private")
        delete_conv_no.click(lambda: gr.update(visible=False), None, delete_confirm_row, api_visibility="private")
        delete_conv_yes.click(delete_conversation, [conv_id], [*conversation_outputs, delete_confirm_row],
                              api_visibility="private")
        scope.input(save_scope, [conv_id, scope], None, api_visibility="private")

        # -- export --------------------------------------------------------------------

        def export(history: list[Exchange], fmt: str, whole: bool) -> tuple:
            answers = [ex.answer for ex in history or [] if ex.answer is not None]
            if not answers:
                return gr.update(visible=False), _message("Ask a question first; there is nothing to export yet.")
            if fmt not in EXPORT_FORMATS:
                return gr.update(visible=False), _message("Choose md, html, json or pdf.", "error")
            try:
                from rag.export import export_to_file

                path = export_to_file(answers if whole else answers[-1:], fmt, _Published(base),
                                      Path(tempfile.mkdtemp()))
            except Exception as exc:  # noqa: BLE001
                return gr.update(visible=False), _message(f"Export failed: {_one_line(exc)}", "error")
            what = f"{len(answers)} answers" if whole and len(answers) > 1 else "the answer"
            return gr.update(value=str(path), visible=True), _message(f"Exported {what} as {fmt.upper()}.", "ok")

        export_last.click(lambda h, f: export(h, f, False), [exchanges, export_format], [export_file, export_message],
                          api_visibility="private")
        export_all.click(lambda h, f: export(h, f, True), [exchanges, export_format], [export_file, export_message],
                         api_visibility="private")

        # -- library (admins only; checked here, on the server) ---------------------------

        def add_documents(files: list[str] | None, request: gr.Request, progress: gr.Progress = gr.Progress()) -> tuple:
            """Copy uploads into the library and index them; searchable as soon as this returns."""
            if not is_admin(request):
                return (*[gr.skip()] * 4, _message(ADMIN_ONLY, "error"), gr.skip())
            if not files:
                return (*[gr.skip()] * 4, _message("Choose one or more files first."), gr.skip())

            def report_progress(done: int, total: int, doc_id: str) -> None:
                progress((done, max(total, 1)), desc=f"Indexing {doc_id}" if doc_id else "Indexing", unit="files")

            try:
                report = base.ingest([Path(f) for f in files], progress=report_progress)
            except Exception as exc:  # noqa: BLE001
                return (*[gr.skip()] * 4, _message(f"Could not add the files: {_one_line(exc)}", "error"), gr.skip())
            lines = []
            if report.added or report.updated:
                names = ", ".join(report.added + report.updated)
                lines.append(f"Added {names}: {report.chunks} passages in the index. Ask about it in the Chat tab.")
            elif not report.skipped:
                lines.append("These files are already in the library.")
            lines += [f"Skipped {Path(s.path).name}: {s.reason}" for s in report.skipped]
            kind = "ok" if (report.added or report.updated) else "error" if report.skipped else "info"
            return (*library_views(), _message("<br>".join(esc(line) for line in lines), kind, escaped=True), None)

        add_button.click(add_documents, [uploads], [*library_outputs, ingest_message, uploads],
                         api_visibility="private")

        def ask_remove(doc_id: str | None) -> tuple:
            """Step one of removal: name the document and ask; nothing changes yet."""
            doc = base.document(doc_id) if isinstance(doc_id, str) and doc_id else None
            if doc is None:
                return gr.update(visible=False), "", _message("Pick a document to remove.")
            title = plain_title(doc.title, doc.doc_id)
            text = (f'<div class="rag-msgline rag-error">Move <b>{esc(title)}</b> (<code>{esc(doc.doc_id)}</code>) '
                    "to the trash? It leaves the library and the index; Restore brings it back.</div>")
            return gr.update(visible=True), text, ""

        def remove_document(doc_id: str | None, request: gr.Request) -> tuple:
            """Step two: move the named document to the trash (admins only)."""
            hidden = gr.update(visible=False)
            if not is_admin(request):
                return (*[gr.skip()] * 4, _message(ADMIN_ONLY, "error"), hidden)
            if not isinstance(doc_id, str) or not doc_id:
                return (*[gr.skip()] * 4, _message("Pick a document to remove."), hidden)
            try:
                removed = base.remove(doc_id)
            except Exception as exc:  # noqa: BLE001
                return (*[gr.skip()] * 4, _message(f"Could not remove it: {_one_line(exc)}", "error"), hidden)
            text = f"Moved {doc_id} to the trash." if removed else f"{doc_id} was not in the library."
            return (*library_views(), _message(text, "ok" if removed else "info"), hidden)

        def restore_document(doc_id: str | None, request: gr.Request) -> tuple:
            if not is_admin(request):
                return (*[gr.skip()] * 4, _message(ADMIN_ONLY, "error"))
            if not isinstance(doc_id, str) or not doc_id:
                return (*[gr.skip()] * 4, _message("Pick a document in the trash first."))
            try:
                report = base.restore(doc_id)
            except TrashError as exc:
                return (*[gr.skip()] * 4, _message(_sentence(str(exc)), "error"))
            except Exception as exc:  # noqa: BLE001
                return (*[gr.skip()] * 4, _message(f"Could not restore it: {_one_line(exc)}", "error"))
            return (*library_views(), _message(f"Restored {doc_id}: {report.chunks} passages in the index.", "ok"))

        remove_button.click(ask_remove, [remove_choice], [remove_confirm_box, remove_question, ingest_message],
                            api_visibility="private")
        remove_choice.change(lambda: gr.update(visible=False), None, remove_confirm_box, api_visibility="private")
        remove_no.click(lambda: (gr.update(visible=False), ""), None, [remove_confirm_box, ingest_message],
                        api_visibility="private")
        remove_yes.click(remove_document, [remove_choice], [*library_outputs, ingest_message, remove_confirm_box],
                         api_visibility="private")
        restore_button.click(restore_document, [restore_choice], [*library_outputs, ingest_message],
                             api_visibility="private")

        # -- evaluation ----------------------------------------------------------------

        def run_eval(questions: str | None, request: gr.Request, progress: gr.Progress = gr.Progress()) -> tuple:
            if not is_admin(request):
                return _message("Only an admin can run an evaluation.", "error"), "", gr.skip()
            if not questions:
                return _message("Upload a questions file first."), "", gr.skip()
            progress(0.1, desc="Answering the questions…")
            out = Path(tempfile.mkdtemp(prefix="rag-eval-"))
            ok, detail, summary = run_evaluation(Path(questions), out, base)
            files = [str(p) for p in sorted(out.iterdir()) if p.is_file()] if out.exists() else []
            if not ok:
                return _message(f"Evaluation failed: {detail}", "error"), "", files or None
            return (_message("Done. The headline numbers are below; report.html has every question.", "ok"),
                    metrics_html((summary or {}).get("overall", {})), files)

        eval_button.click(run_eval, [eval_questions], [eval_message, eval_metrics, eval_files],
                          api_visibility="private")

        # -- API for programs ------------------------------------------------------------

        def api_ask(question: str) -> dict:
            """Answer a question from the documents: the answer text with [n] markers, citations and sources."""
            try:
                return base.ask(question).to_dict()
            except (BadQuestion, IndexUnusable, GeneratorError) as exc:
                raise gr.Error(_one_line(exc), print_exception=False) from None

        def api_search(question: str, k: int = 5) -> list:
            """The best passages for a question, with their scores (no answer is generated)."""
            try:
                options = AskOptions.checked(top_k=k)
                return [hit.to_dict() for hit in base.search(question, options.top_k)]
            except (BadQuestion, IndexUnusable, ValueError) as exc:
                raise gr.Error(_one_line(exc), print_exception=False) from None

        gr.api(api_ask, api_name="ask")
        gr.api(api_search, api_name="search")

    return app


class _Published:
    """The assistant as an export from the chat shows it: folders relative to the home, not the server's paths."""

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


def _session(request: gr.Request | None) -> str:
    """The browser session a request comes from (each tab has its own), so Stop reaches only its own work."""
    return str(getattr(request, "session_hash", None) or id(request))


def _document_choices(documents: list[dict]) -> list[tuple[str, str]]:
    return [(f'{plain_title(d["title"], d["doc_id"])[:70]} ({d["doc_id"]})', d["doc_id"]) for d in documents]


def _scope(chosen: object, assistant: Assistant) -> list[str] | None:
    """The conversation's document scope: known doc ids only; nothing chosen means the whole library."""
    if not chosen:
        return None
    if not isinstance(chosen, list) or not all(isinstance(d, str) for d in chosen):
        raise ValueError("the document scope must be a list of document names")
    known = {d["doc_id"] for d in assistant.documents()}
    kept = [d for d in chosen if d in known]
    if not kept:
        raise ValueError("none of the chosen documents is in the library any more; choose again")
    return kept


def _status(assistant: Assistant) -> str:
    """The status line for an assistant, naming the generator's model file once it is loaded."""
    try:
        name = getattr(assistant.generator, "name", "") if assistant.settings.generator != "none" else ""
    except Exception:  # noqa: BLE001 - a generator that fails to load is reported with the answer
        name = ""
    return status_html(assistant.info(), name)


def _message(text: str, kind: str = "info", escaped: bool = False) -> str:
    return f'<div class="rag-msgline rag-{kind}">{text if escaped else esc(text)}</div>'


def _one_line(exc: object, limit: int = 300) -> str:
    """An exception (or message) as one line of at most ``limit`` characters: safe to show and to log.

    Control characters (terminal escapes in a request's value) become spaces, so a log line stays one plain line.
    """
    text = " ".join("".join(ch if ch.isprintable() else " " for ch in str(exc)).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _sentence(text: str) -> str:
    text = text.strip()
    return (text[:1].upper() + text[1:]).rstrip(".") + "." if text else ""


def run_evaluation(questions: Path, out: Path, assistant: Assistant) -> tuple[bool, str, dict | None]:
    """Answer and score a questions file in-process with the loaded assistant (rag.evaluate does the work)."""
    from rag.evaluate import evaluate_file

    try:
        summary = evaluate_file(assistant, questions, out, progress=False)
    except Exception as exc:  # noqa: BLE001
        return False, _one_line(exc), None
    if summary is None:
        return False, "the file has no usable questions (one JSON object or CSV row per question)", None
    ok = (out / "report.html").exists()
    return ok, "" if ok else "no report was written", summary


def launch(assistant: Assistant, host: str = "127.0.0.1", port: int = 7860,
           auth: tuple[str, str] | None = None, block: bool = True, quiet: bool = True,
           users: Users | None = None, models: Models | None = None,
           login_guard: LoginGuard | None = None) -> tuple[gr.Blocks, str]:
    """Build and start the app; returns it and its local URL (blocking until Ctrl-C when ``block``).

    ``auth`` (one user, an admin) is kept for compatibility; ``users`` gives several with roles.
    Port 0 picks a free port, so tests and side-by-side instances never collide.
    """
    if auth is not None and users is None:
        users = Users({auth[0]: (auth[1], "admin")})
    if port == 0:
        port = free_port(host)
    access = Access(users, loopback=is_loopback(host))
    app = build_app(assistant, models=models, access=access)
    app.queue(default_concurrency_limit=2)
    guard = login_guard or LoginGuard()
    _, url, _ = app.launch(
        server_name=host, server_port=port, auth=users.check if users else None, share=False,
        prevent_thread_lock=True, quiet=quiet, show_error=False, ssr_mode=False, footer_links=["api"],
        theme=gr.themes.Soft(primary_hue="indigo"), css=CSS_PATH.read_text(encoding="utf-8"),
        app_kwargs={"middleware": [Middleware(QuietStreams), Middleware(LoginThrottle, guard=guard)]},
    )
    if block:
        print(f"Chat running at {url}  (Ctrl-C to stop)", flush=True)
        try:
            app.block_thread()
        except KeyboardInterrupt:
            pass
    return app, url


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]
