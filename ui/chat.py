"""The Chat tab: ask, watch the answer stream in, stop it, read a cited passage, export answers.

The left column (saved conversations) is ``ui.conversations``, the Settings accordion
``ui.settings``; this module lays the tab out and handles the questions.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import gradio as gr

from rag import Answer, BadQuestion, Cancelled, Quotes, Turn
from rag.core.config import AskOptions
from rag.assistant.conversations import Message
from rag.export.write import export_to_file
from ui.common import PASSAGE_JS, Loader, message, one_line, sentence, session_of, status_line
from ui.conversations import Shown, build_sidebar, wire_conversations
from ui.render import Exchange, hits_html, passage_html, passage_placeholder, transcript_html
from ui.settings import build_settings
from ui.state import Shared

EXPORT_FORMATS = ["md", "html", "json", "pdf"]
STOPPED = "Stopped before the answer was finished."
EMPTY_QUESTION = "Type a question in the box first, then press Ask (or Enter)."
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


class Chat:
    """The handlers of one question and its answer, over the shared state."""

    def __init__(self, shared: Shared):
        self.shared = shared

    def answer(self, text: str, history: list[Exchange], cid: str | None, model_name: str, k: float, temp: float,
            strict_value: bool, chosen: list[str] | None, request: gr.Request) -> Iterator[tuple]:
        """Stream one answer into the transcript, save it, then show its sources."""
        shared = self.shared
        history = list(history or [])
        exchange = Exchange(question=(text or "").strip())
        if not exchange.question:
            gr.Info(EMPTY_QUESTION)
            yield gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
            return
        history.append(exchange)
        yield transcript_html(history), gr.skip(), "", history, gr.skip(), gr.skip(), gr.skip()
        turns = [Turn(ex.question, ex.answer.answer) for ex in history[:-1] if ex.answer is not None]
        assistant = shared.base
        session = session_of(request)
        token = shared.answering.start(session)  # Stop cancels it: generation ends at the next token
        try:
            assistant = shared.models.get(model_name)
            options = AskOptions.checked(top_k=k, temperature=temp, strict=strict_value)
            doc_ids = shared.scope(chosen)
            for event in assistant.stream(exchange.question, turns, options=options, doc_ids=doc_ids,
                                          cancel=token, quotes_first=True):
                if isinstance(event, Answer):
                    exchange.answer = scoped_refusal(event, doc_ids)
                    continue
                if isinstance(event, Quotes):  # the evidence, before the model writes
                    exchange.quotes = event.citations
                else:
                    exchange.partial += event
                yield transcript_html(history), gr.skip(), gr.skip(), history, gr.skip(), gr.skip(), gr.skip()
        except Cancelled:
            exchange.error = STOPPED
        except (BadQuestion, ValueError) as exc:
            exchange.error = sentence(one_line(exc))
        except Exception as exc:  # noqa: BLE001 - the user sees one line, never a stack trace
            exchange.error = one_line(exc)
        finally:
            shared.answering.finish(session, token)
        user, store = shared.owner(request), shared.store
        if cid is None or not store.append(user, cid, Message(exchange.question, exchange.answer, exchange.error)):
            cid = store.create(user)
            store.append(user, cid, Message(exchange.question, exchange.answer, exchange.error))
        listed = gr.update(choices=[(c.title, c.id) for c in store.list(user)], value=cid)
        hits = hits_html(exchange.answer.retrieved) if exchange.answer else gr.skip()
        yield transcript_html(history), hits, gr.skip(), history, status_line(assistant), listed, cid

    def stop(self, history: list[Exchange], text: str, request: gr.Request) -> tuple:
        """Stop this session's answers: the model stops at its next token, the queue drops the event.

        A question still waiting in the queue never reached the conversation: it is
        still in the box, so it is shown as stopped too.
        """
        self.shared.answering.stop(session_of(request))
        history = list(history or [])
        unfinished = [ex for ex in history if ex.answer is None and not ex.error]
        for ex in unfinished:
            ex.error = STOPPED
        if not unfinished and isinstance(text, str) and text.strip():
            history.append(Exchange(question=text.strip(), error="Stopped before the answer was started."))
            return transcript_html(history), history, ""
        return transcript_html(history), history, gr.skip()

    def show_citation(self, history: list[Exchange], event: gr.EventData) -> str:
        """The clicked citation's passage, highlighted in its article."""
        try:
            turn, n = int(event.turn), int(event.n)
            answer = history[turn].answer
            citation = next(c for c in answer.citations if c.n == n)
        except (AttributeError, IndexError, StopIteration, TypeError, ValueError):
            return passage_placeholder()
        translation = citation.translation if citation.lang != "en" else None
        return passage_html(self.shared.base.document(citation.doc_id), citation.start, citation.end, n, translation)

    def export(self, history: list[Exchange], fmt: str, whole: bool) -> tuple:
        """The last answer (or all of them) as a file to download, and a line saying so."""
        answers = [ex.answer for ex in history or [] if ex.answer is not None]
        if not answers:
            return gr.update(visible=False), message("Ask a question first; there is nothing to export yet.")
        if fmt not in EXPORT_FORMATS:
            return gr.update(visible=False), message("Choose md, html, json or pdf.", "error")
        try:
            path = export_to_file(answers if whole else answers[-1:], fmt, self.shared.published(),
                                  Path(tempfile.mkdtemp()))
        except Exception as exc:  # noqa: BLE001
            return gr.update(visible=False), message(f"Export failed: {one_line(exc)}", "error")
        what = f"{len(answers)} answers" if whole and len(answers) > 1 else "the answer"
        return gr.update(value=str(path), visible=True), message(f"Exported {what} as {fmt.upper()}.", "ok")


def scoped_refusal(answer: Answer, doc_ids: list[str] | None) -> Answer:
    """A refusal under a document scope says so: the answer may be in a document that was not searched."""
    if not answer.refused or not doc_ids:
        return answer
    which = "the document" if len(doc_ids) == 1 else f"the {len(doc_ids)} documents"
    note = (f"only {which} ticked under Documents to search {'was' if len(doc_ids) == 1 else 'were'} searched; "
            f"untick {'it' if len(doc_ids) == 1 else 'them'} to search the whole library")
    reason = answer.reason.strip().rstrip(".")
    return replace(answer, reason=f"{reason}: {note}" if reason else note)


def build_chat(shared: Shared, status: gr.HTML) -> Loader:
    """The Chat tab; its loader fills the conversation and the model picker when a page opens."""
    chat = Chat(shared)
    with gr.Tab("Chat", id="chat"):
        exchanges = gr.State([])
        conv_id = gr.State(None)
        with gr.Row(equal_height=False, elem_classes="rag-chat-row"):
            sidebar = build_sidebar()
            with gr.Column(scale=3, min_width=280):
                transcript = gr.HTML(transcript_html([]), js_on_load=TRANSCRIPT_JS, elem_id="rag-transcript")
                with gr.Row(elem_classes="rag-ask-row"):
                    question = gr.Textbox(show_label=False, placeholder="Ask a question about the documents…",
                                          lines=1, max_lines=4, scale=6, min_width=160, elem_id="rag-question",
                                          autofocus=True)
                    ask_button = gr.Button("Ask", variant="primary", scale=1, min_width=70, elem_id="rag-ask")
                    stop_button = gr.Button("Stop", variant="secondary", scale=1, min_width=70, elem_id="rag-stop")
                with gr.Row(elem_classes="rag-examples"):
                    example_buttons = [gr.Button(text, size="sm", variant="secondary", elem_classes="rag-example")
                                       for text in EXAMPLES]
                with gr.Row(elem_classes="rag-export-row"):
                    export_format = gr.Radio(EXPORT_FORMATS, value="md", show_label=False, container=False,
                                             scale=3, min_width=200, elem_id="rag-export-format")
                    export_last = gr.Button("Export last answer", size="sm", scale=1, min_width=120,
                                            elem_id="rag-export-last")
                    export_all = gr.Button("Export conversation", size="sm", scale=1, min_width=120,
                                           elem_id="rag-export-all")
                export_file = gr.File(label="Download", visible=False, interactive=False, elem_id="rag-export-file")
                export_message = gr.HTML("", elem_id="rag-export-message")
                with gr.Accordion("Documents to search", open=False, elem_id="rag-scope-box"):
                    scope = gr.CheckboxGroup([], show_label=False, elem_id="rag-scope",
                                             info="None checked = the whole library. Kept per conversation.")
                settings = build_settings(shared.models, shared.base.settings)
            with gr.Column(scale=2, min_width=280, elem_classes="rag-side"):
                gr.HTML('<div class="rag-side-title">Cited passage</div>')
                passage = gr.HTML(passage_placeholder(), js_on_load=PASSAGE_JS, elem_id="rag-passage")
                gr.HTML('<div class="rag-side-title">Passages retrieved</div>')
                sources = gr.HTML(hits_html([]), elem_id="rag-hits")

    chat_outputs = [transcript, sources, question, exchanges, status, sidebar.listing, conv_id]
    chat_inputs = [question, exchanges, conv_id, settings.model, settings.top_k, settings.temperature,
                   settings.strict, scope]
    # "multiple": a stopped answer may still be finishing in the background; the next question must not wait for it
    chat_events = [event(chat.answer, chat_inputs, chat_outputs, api_visibility="private", trigger_mode="multiple")
                   for event in (question.submit, ask_button.click)]
    for button, text in zip(example_buttons, EXAMPLES):
        chat_events.append(button.click(lambda t=text: t, None, question, api_visibility="private").then(
            chat.answer, chat_inputs, chat_outputs, api_visibility="private"))
    stop_button.click(chat.stop, [exchanges, question], [transcript, exchanges, question], cancels=chat_events,
                      api_visibility="private")
    transcript.click(chat.show_citation, [exchanges], [passage], api_visibility="private")
    export_last.click(lambda h, f: chat.export(h, f, False), [exchanges, export_format],
                      [export_file, export_message], api_visibility="private")
    export_all.click(lambda h, f: chat.export(h, f, True), [exchanges, export_format],
                     [export_file, export_message], api_visibility="private")

    shown = Shown(sidebar.listing, conv_id, exchanges, transcript, sources, passage, scope, sidebar.rename_text,
                  export_file, export_message)
    return Loader.join([wire_conversations(shared, sidebar, shown), settings.loader(shared.models)])
