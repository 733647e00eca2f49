"""The browser chat: a Gradio app over ``rag.Assistant``.

Everything per user lives in ``gr.State`` (the conversation, as ``Exchange``
records); the only shared objects are the assistants, one per settings
combination, because each holds loaded models and an open index. Library
changes always go through the base assistant so one lock guards ingestion.
"""

from __future__ import annotations

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

from rag import Answer, Assistant, BadQuestion, GeneratorError, IndexUnusable, Settings, Turn  # noqa: E402
from ui.render import (  # noqa: E402
    Exchange, documents_html, esc, hits_html, passage_html, passage_placeholder, status_html, transcript_html,
)

CSS_PATH = Path(__file__).with_name("style.css")
EXPORT_FORMATS = ["md", "html", "json", "pdf"]
GENERATORS = ["llama", "transformers", "openai", "none"]
UPLOAD_TYPES = [".txt", ".md", ".html", ".htm", ".pdf"]
EXAMPLES = [
    "Where are Chinese miners moving their machines?",
    "What did Inner Mongolia do about mining?",
    "Why did the government crack down on bitcoin mining?",
    "What happened to mining in Xinjiang?",
]

# Clicks on citation buttons become one 'click' event carrying which answer and which number.
TRANSCRIPT_JS = """
element.addEventListener('click', (event) => {
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
# Bring the highlighted passage into view inside the article, not the whole page.
PASSAGE_JS = """
watch('value', () => {
  const box = element.querySelector('.rag-article');
  const mark = element.querySelector('mark');
  if (box && mark) box.scrollTop = Math.max(0, mark.offsetTop - box.offsetTop - 60);
});
"""


class Assistants:
    """One assistant per settings combination, created on first use and kept (they hold loaded models)."""

    def __init__(self, base: Assistant):
        self.base = base
        self._by_settings: dict[Settings, Assistant] = {base.settings: base}
        self._lock = threading.Lock()

    def get(self, settings: Settings) -> Assistant:
        with self._lock:
            if settings not in self._by_settings:
                self._by_settings[settings] = Assistant(settings)
            return self._by_settings[settings]

    def for_choices(self, generator: str, model: str, base_url: str, top_k: float, temperature: float,
                    strict: bool) -> Assistant:
        """The assistant for what the settings accordion shows."""
        settings = self.base.settings.replace(
            generator=generator or None, model=(model or "").strip() or "default",
            base_url=(base_url or "").strip() or None, top_k=int(top_k), temperature=float(temperature),
            strict=bool(strict),
        )
        return self.get(settings)


def build_app(base: Assistant) -> gr.Blocks:
    """The whole interface: Chat, Library and Evaluate tabs over one library."""
    assistants = Assistants(base)
    s = base.settings

    with gr.Blocks(title="Cited answers", fill_width=True) as app:
        exchanges = gr.State([])

        with gr.Row(elem_classes="rag-header"):
            gr.HTML('<div class="rag-brand"><span class="rag-logo">❝</span><div><h1>Cited answers</h1>'
                    '<p>Answers from your own documents. Every sentence is checked against its source.</p>'
                    '</div></div>')
        status = gr.HTML(_status(base), elem_id="rag-status")

        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3, min_width=420):
                        transcript = gr.HTML(transcript_html([]), js_on_load=TRANSCRIPT_JS, elem_id="rag-transcript")
                        with gr.Row(elem_classes="rag-ask-row"):
                            question = gr.Textbox(show_label=False, placeholder="Ask a question about the articles…",
                                                  lines=1, max_lines=4, scale=6, elem_id="rag-question",
                                                  autofocus=True)
                            ask_button = gr.Button("Ask", variant="primary", scale=1, min_width=90,
                                                   elem_id="rag-ask")
                        with gr.Row(elem_classes="rag-examples"):
                            example_buttons = [gr.Button(text, size="sm", variant="secondary",
                                                         elem_classes="rag-example") for text in EXAMPLES]
                        with gr.Row(elem_classes="rag-export-row"):
                            export_format = gr.Radio(EXPORT_FORMATS, value="md", show_label=False, container=False,
                                                     scale=3, min_width=300, elem_id="rag-export-format")
                            export_last = gr.Button("Export last answer", size="sm", scale=1, elem_id="rag-export-last")
                            export_all = gr.Button("Export conversation", size="sm", scale=1, elem_id="rag-export-all")
                            clear = gr.Button("New conversation", size="sm", scale=1, elem_id="rag-clear")
                        export_file = gr.File(label="Download", visible=False, interactive=False,
                                              elem_id="rag-export-file")
                        export_message = gr.HTML("", elem_id="rag-export-message")
                    with gr.Column(scale=2, min_width=340, elem_classes="rag-side"):
                        gr.HTML('<div class="rag-side-title">Cited passage</div>')
                        passage = gr.HTML(passage_placeholder(), js_on_load=PASSAGE_JS, elem_id="rag-passage")
                        gr.HTML('<div class="rag-side-title">Passages retrieved</div>')
                        sources = gr.HTML(hits_html([]), elem_id="rag-hits")

                with gr.Accordion("Settings", open=False, elem_id="rag-settings"):
                    with gr.Row():
                        generator = gr.Dropdown(GENERATORS, value=s.generator, label="Answer backend",
                                                info="llama = local GGUF, openai = any OpenAI-compatible server, "
                                                     "none = quotes only")
                        model = gr.Textbox(value=s.model, label="Model",
                                           info="GGUF path, transformers model id/path, or the server's model name")
                        base_url = gr.Textbox(value=s.base_url, label="Server URL (openai backend)")
                    with gr.Row():
                        top_k = gr.Slider(1, 15, value=s.top_k, step=1, label="Passages to retrieve (top-k)")
                        temperature = gr.Slider(0.0, 1.5, value=s.temperature, step=0.05, label="Temperature")
                        strict = gr.Checkbox(value=s.strict, label="Strict: drop sentences the sources do not support")
                    settings_inputs = [generator, model, base_url, top_k, temperature, strict]

            with gr.Tab("Library", id="library"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3):
                        gr.HTML('<div class="rag-side-title">Indexed documents</div>')
                        documents = gr.HTML(documents_html(base.documents()), elem_id="rag-documents")
                    with gr.Column(scale=2):
                        uploads = gr.File(label="Add documents (.txt, .md, .html, .pdf)", file_count="multiple",
                                          file_types=UPLOAD_TYPES, elem_id="rag-upload")
                        add_button = gr.Button("Add to library", variant="primary", elem_id="rag-add")
                        ingest_message = gr.HTML("", elem_id="rag-ingest-message")
                        remove_choice = gr.Dropdown(_document_choices(base), label="Remove a document",
                                                    elem_id="rag-remove-choice")
                        remove_button = gr.Button("Remove", variant="stop", elem_id="rag-remove")

            with gr.Tab("Evaluate", id="evaluate"):
                gr.HTML('<div class="rag-help">Upload a questions file to score the assistant: <code>.jsonl</code> '
                        'or <code>.csv</code> with an <code>id</code> and a <code>question</code> per row, and '
                        'optionally <code>answerable</code>, <code>must_include</code>, <code>sources</code>. '
                        'You get report.html (opens in any browser) and the raw results.</div>')
                with gr.Row():
                    eval_questions = gr.File(label="Questions file", file_types=[".jsonl", ".csv"],
                                             elem_id="rag-eval-file")
                    with gr.Column():
                        eval_button = gr.Button("Run evaluation", variant="primary", elem_id="rag-eval-run")
                        eval_message = gr.HTML("", elem_id="rag-eval-message")
                        eval_files = gr.File(label="Report and results", file_count="multiple", interactive=False,
                                             elem_id="rag-eval-files")

        # -- chat ----------------------------------------------------------------------

        def chat(text: str, history: list[Exchange], *choices: Any) -> Iterator[tuple]:
            """Stream one answer into the transcript, then show its sources."""
            history = list(history or [])
            exchange = Exchange(question=(text or "").strip())
            if not exchange.question:
                yield gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
                return
            history.append(exchange)
            yield transcript_html(history), gr.skip(), "", history, gr.skip()
            turns = [Turn(ex.question, ex.answer.answer) for ex in history[:-1] if ex.answer is not None]
            assistant = base
            try:
                assistant = assistants.for_choices(*choices)
                for event in assistant.stream(exchange.question, turns):
                    if isinstance(event, Answer):
                        exchange.answer = event
                    else:
                        exchange.partial += event
                        yield transcript_html(history), gr.skip(), gr.skip(), history, gr.skip()
            except BadQuestion as exc:
                exchange.error = _sentence(str(exc))
            except Exception as exc:  # noqa: BLE001 - the user sees one line, never a stack trace
                exchange.error = _one_line(exc)
            hits = hits_html(exchange.answer.retrieved) if exchange.answer else gr.skip()
            yield transcript_html(history), hits, gr.skip(), history, _status(assistant)

        chat_outputs = [transcript, sources, question, exchanges, status]
        chat_inputs = [question, exchanges, *settings_inputs]
        question.submit(chat, chat_inputs, chat_outputs, api_visibility="private")
        ask_button.click(chat, chat_inputs, chat_outputs, api_visibility="private")
        for button, text in zip(example_buttons, EXAMPLES):
            button.click(lambda t=text: t, None, question, api_visibility="private").then(
                chat, chat_inputs, chat_outputs, api_visibility="private")

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

        def new_conversation() -> tuple:
            return transcript_html([]), [], passage_placeholder(), hits_html([]), gr.update(visible=False), ""

        clear.click(new_conversation, None, [transcript, exchanges, passage, sources, export_file, export_message],
                    api_visibility="private")

        def export(history: list[Exchange], fmt: str, whole: bool) -> tuple:
            answers = [ex.answer for ex in history or [] if ex.answer is not None]
            if not answers:
                return gr.update(visible=False), _message("Ask a question first; there is nothing to export yet.")
            try:
                from rag.export import export_to_file

                path = export_to_file(answers if whole else answers[-1:], fmt, base, Path(tempfile.mkdtemp()))
            except Exception as exc:  # noqa: BLE001
                return gr.update(visible=False), _message(f"Export failed: {_one_line(exc)}", "error")
            what = f"{len(answers)} answers" if whole and len(answers) > 1 else "the answer"
            return gr.update(value=str(path), visible=True), _message(f"Exported {what} as {fmt.upper()}.", "ok")

        export_last.click(lambda h, f: export(h, f, False), [exchanges, export_format], [export_file, export_message],
                          api_visibility="private")
        export_all.click(lambda h, f: export(h, f, True), [exchanges, export_format], [export_file, export_message],
                         api_visibility="private")

        # -- library -------------------------------------------------------------------

        def add_documents(files: list[str] | None, progress: gr.Progress = gr.Progress()) -> tuple:
            """Copy uploads into the library and index them; searchable as soon as this returns."""
            if not files:
                return gr.skip(), gr.skip(), _message("Choose one or more files first."), gr.skip(), gr.skip()

            def report_progress(done: int, total: int, doc_id: str) -> None:
                progress((done, max(total, 1)), desc=f"Indexing {doc_id}" if doc_id else "Indexing", unit="files")

            try:
                report = base.ingest([Path(f) for f in files], progress=report_progress)
            except Exception as exc:  # noqa: BLE001
                return gr.skip(), gr.skip(), _message(f"Could not add the files: {_one_line(exc)}", "error"), \
                    gr.skip(), gr.skip()
            lines = []
            if report.added or report.updated:
                names = ", ".join(report.added + report.updated)
                lines.append(f"Added {names}: {report.chunks} passages in the index. Ask about it in the Chat tab.")
            elif not report.skipped:
                lines.append("These files are already in the library.")
            lines += [f"Skipped {Path(s.path).name}: {s.reason}" for s in report.skipped]
            kind = "ok" if (report.added or report.updated) else "error" if report.skipped else "info"
            return (documents_html(base.documents()), gr.update(choices=_document_choices(base), value=None),
                    _message("<br>".join(esc(line) for line in lines), kind, escaped=True), None,
                    _status(base))

        add_button.click(add_documents, [uploads], [documents, remove_choice, ingest_message, uploads, status],
                         api_visibility="private")

        def remove_document(doc_id: str | None) -> tuple:
            if not doc_id:
                return gr.skip(), gr.skip(), _message("Pick a document to remove."), gr.skip()
            try:
                removed = base.remove(doc_id)
            except Exception as exc:  # noqa: BLE001
                return gr.skip(), gr.skip(), _message(f"Could not remove it: {_one_line(exc)}", "error"), gr.skip()
            text = f"Removed {doc_id}." if removed else f"{doc_id} was not in the library."
            return (documents_html(base.documents()), gr.update(choices=_document_choices(base), value=None),
                    _message(text, "ok" if removed else "info"), _status(base))

        remove_button.click(remove_document, [remove_choice], [documents, remove_choice, ingest_message, status],
                            api_visibility="private")

        # -- evaluation ----------------------------------------------------------------

        def run_eval(questions: str | None, progress: gr.Progress = gr.Progress()) -> tuple:
            if not questions:
                return _message("Upload a questions file first."), gr.skip()
            progress(0.1, desc="Answering the questions…")
            out = Path(tempfile.mkdtemp(prefix="rag-eval-"))
            ok, detail = run_evaluation(Path(questions), out, base)
            files = [str(p) for p in sorted(out.iterdir()) if p.is_file()] if out.exists() else []
            if not ok:
                return _message(f"Evaluation failed: {detail}", "error"), files or None
            return _message("Done. Download report.html and open it in your browser.", "ok"), files

        eval_button.click(run_eval, [eval_questions], [eval_message, eval_files], api_visibility="private")

        # -- API for programs ------------------------------------------------------------

        def api_ask(question: str) -> dict:
            """Answer a question from the documents: the answer text with [n] markers, citations and sources."""
            try:
                return base.ask(question).to_dict()
            except (BadQuestion, IndexUnusable, GeneratorError) as exc:
                raise gr.Error(_one_line(exc)) from None

        def api_search(question: str, k: int = 5) -> list:
            """The best passages for a question, with their scores (no answer is generated)."""
            try:
                return [hit.to_dict() for hit in base.search(question, int(k))]
            except (BadQuestion, IndexUnusable) as exc:
                raise gr.Error(_one_line(exc)) from None

        gr.api(api_ask, api_name="ask")
        gr.api(api_search, api_name="search")

    return app


def _document_choices(assistant: Assistant) -> list[tuple[str, str]]:
    return [(f'{(d["title"] or d["doc_id"])[:70]} ({d["doc_id"]})', d["doc_id"]) for d in assistant.documents()]


def _status(assistant: Assistant) -> str:
    """The status line for an assistant, naming the generator's model file once it is loaded."""
    try:
        name = getattr(assistant.generator, "name", "") if assistant.settings.generator != "none" else ""
    except Exception:  # noqa: BLE001 - a generator that fails to load is reported with the answer
        name = ""
    return status_html(assistant.info(), name)


def _message(text: str, kind: str = "info", escaped: bool = False) -> str:
    return f'<div class="rag-msgline rag-{kind}">{text if escaped else esc(text)}</div>'


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:300]


def _sentence(text: str) -> str:
    text = text.strip()
    return (text[:1].upper() + text[1:]).rstrip(".") + "." if text else ""


def run_evaluation(questions: Path, out: Path, assistant: Assistant) -> tuple[bool, str]:
    """Answer and score a questions file in-process with the loaded assistant (rag.evaluate does the work)."""
    from rag.evaluate import evaluate_file

    try:
        summary = evaluate_file(assistant, questions, out, progress=False)
    except Exception as exc:  # noqa: BLE001
        return False, _one_line(exc)
    if summary is None:
        return False, "the file has no usable questions (one JSON object or CSV row per question)"
    return (out / "report.html").exists(), "no report was written"


def launch(assistant: Assistant, host: str = "127.0.0.1", port: int = 7860,
           auth: tuple[str, str] | None = None, block: bool = True, quiet: bool = True) -> tuple[gr.Blocks, str]:
    """Build and start the app; returns it and its local URL (blocking until Ctrl-C when ``block``).

    Port 0 picks a free port, so tests and side-by-side instances never collide.
    """
    if port == 0:
        port = free_port(host)
    app = build_app(assistant)
    app.queue(default_concurrency_limit=2)
    _, url, _ = app.launch(
        server_name=host, server_port=port, auth=auth, share=False, prevent_thread_lock=True, quiet=quiet,
        show_error=False, ssr_mode=False, footer_links=["api"], theme=gr.themes.Soft(primary_hue="indigo"),
        css=CSS_PATH.read_text(encoding="utf-8"),
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
