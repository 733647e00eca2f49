"""The "Check a text" tab: each sentence of a pasted text marked supported, contradicted or not found.

A check is long, so one runs at a time on the server (``Shared.check_slot``) and a
second caller is told so at once; Stop ends this session's check after its current sentence.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import gradio as gr

from rag import BadQuestion, Cancelled
from rag.assistant.check import MAX_CHECK_CHARS, iter_check
from rag.export.write import CHECK_FORMATS, export_check_to_file
from ui.common import PASSAGE_JS, message, one_line, sentence, session_of
from ui.render import check_html, check_summary, passage_html, passage_placeholder
from ui.state import Shared

CHECK_BUSY = "Another text is being checked on this server right now; try again when it has finished."

# Clicks on a check's citation become one 'click' event carrying which sentence and which citation.
CHECK_JS = """
document.addEventListener('click', (event) => {
  const button = event.target.closest('#rag-check-results [data-item][data-cite]');
  if (!button) return;
  trigger('click', {item: Number(button.dataset.item), cite: Number(button.dataset.cite)});
});
"""

HELP = ('<div class="rag-help">Paste a text (a draft, someone else\'s summary). Each sentence is '
        'looked up in the documents and marked <b>supported</b>, <b>contradicted</b> or <b>not '
        'found</b>, with the reason and the exact sentence it rests on. Up to '
        f'{MAX_CHECK_CHARS:,} characters; one check runs at a time on this server.</div>')

class Checking:
    """The handlers of the Check tab, over the shared state."""

    def __init__(self, shared: Shared):
        self.shared = shared

    def run(self, text: str, request: gr.Request) -> Iterator[tuple]:
        """Check a text sentence by sentence, showing each verdict as it comes; one check per server."""
        if not isinstance(text, str) or not text.strip():
            yield message("Paste a text to check first."), gr.skip(), gr.skip(), gr.update(visible=False)
            return
        if len(text) > MAX_CHECK_CHARS:
            yield (message(f"The text is too long to check: {len(text):,} characters, the limit is "
                           f"{MAX_CHECK_CHARS:,}. Check it in parts.", "error"),
                   gr.skip(), gr.skip(), gr.update(visible=False))
            return
        checking, slot = self.shared.checking, self.shared.check_slot
        session = session_of(request)
        token = checking.start(session)
        if not slot.claim(token):
            checking.finish(session, token)
            yield message(CHECK_BUSY, "error"), gr.skip(), gr.skip(), gr.skip()
            return
        results: list = []
        try:
            yield message("Checking…"), "", None, gr.update(visible=False)
            for result in iter_check(self.shared.base, text, cancel=token):
                results.append(result)
                yield (message(f"Checked {len(results)} sentence{'s' if len(results) != 1 else ''}…"),
                       check_html(results), gr.skip(), gr.skip())
            yield message(check_summary(results), "ok"), check_html(results), (text, results), gr.skip()
        except Cancelled:
            note = f"Stopped after {len(results)} sentence{'s' if len(results) != 1 else ''}."
            yield message(note), check_html(results), (text, results) if results else None, gr.skip()
        except BadQuestion as exc:
            yield message(sentence(one_line(exc)), "error"), gr.skip(), gr.skip(), gr.skip()
        except Exception as exc:  # noqa: BLE001 - one line, never a stack trace
            yield message(f"The check failed: {one_line(exc)}", "error"), gr.skip(), gr.skip(), gr.skip()
        finally:
            slot.release(token)
            checking.finish(session, token)

    def stop(self, request: gr.Request) -> str:
        stopped = self.shared.checking.stop(session_of(request))
        return message("Stopped." if stopped else "No check is running.")

    def export(self, last: object, fmt: str) -> tuple:
        """The last finished check as a file to download, and a line saying so."""
        if not (isinstance(last, tuple) and len(last) == 2 and last[1]):
            return gr.update(visible=False), message("Check a text first; there is nothing to export yet.")
        if fmt not in CHECK_FORMATS:
            return gr.update(visible=False), message("Choose md or json.", "error")
        try:
            path = export_check_to_file(last[0], last[1], fmt, self.shared.published(), Path(tempfile.mkdtemp()))
        except Exception as exc:  # noqa: BLE001
            return gr.update(visible=False), message(f"Export failed: {one_line(exc)}", "error")
        return gr.update(value=str(path), visible=True), message(f"Exported the check as {fmt.upper()}.", "ok")

    def show_citation(self, last: object, event: gr.EventData) -> str:
        """A check's cited sentence, highlighted in its article (picked by position, never by file name)."""
        try:
            result = last[1][int(event.item)]
            citation = result.citations[int(event.cite)]
        except (AttributeError, IndexError, KeyError, TypeError, ValueError):
            return passage_placeholder()
        translation = citation.translation if citation.lang != "en" else None
        return passage_html(self.shared.base.document(citation.doc_id), citation.start, citation.end, None,
                            translation)


def build_check(shared: Shared) -> None:
    """The Check a text tab and its events."""
    checking = Checking(shared)
    with gr.Tab("Check a text", id="check"):
        gr.HTML(HELP)
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=280):
                text = gr.Textbox(label="Text to check", lines=6, max_lines=16, elem_id="rag-check-text",
                                  placeholder="BitMining plans to build mines in the United States and "
                                              "Kazakhstan. …")
                with gr.Row():
                    run = gr.Button("Check", variant="primary", scale=1, elem_id="rag-check-run")
                    stop = gr.Button("Stop", variant="secondary", scale=1, elem_id="rag-check-stop")
                note = gr.HTML("", elem_id="rag-check-message")
                results = gr.HTML("", elem_id="rag-check-results")
                checked = gr.State(None)  # (text, [CheckResult]) of the last finished check, for export
                with gr.Row(elem_classes="rag-export-row"):
                    export_format = gr.Radio(list(CHECK_FORMATS), value="md", show_label=False, container=False,
                                             scale=3, min_width=160, elem_id="rag-check-format")
                    export = gr.Button("Export check", size="sm", scale=1, min_width=120, elem_id="rag-check-export")
                export_file = gr.File(label="Download", visible=False, interactive=False, elem_id="rag-check-file")
            with gr.Column(scale=2, min_width=280, elem_classes="rag-side"):
                gr.HTML('<div class="rag-side-title">Cited sentence in its article</div>')
                passage = gr.HTML(passage_placeholder(), js_on_load=CHECK_JS + PASSAGE_JS, elem_id="rag-check-passage")

    check_event = run.click(checking.run, [text], [note, results, checked, export_file], api_visibility="private",
                            trigger_mode="multiple")
    stop.click(checking.stop, None, [note], cancels=[check_event], api_visibility="private")
    export.click(checking.export, [checked, export_format], [export_file, note], api_visibility="private")
    passage.click(checking.show_citation, [checked], [passage], api_visibility="private")
