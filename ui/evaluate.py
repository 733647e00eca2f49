"""The Evaluate tab: score the loaded assistant on an uploaded questions file (admins only).

``rag.evaluation.evaluate`` does the work in-process; the tab shows the headline numbers and
offers report.html and the raw results for download.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import gradio as gr

from rag import Assistant
from rag.evaluation.evaluate import evaluate_file
from ui.common import message, one_line
from ui.render import metrics_html
from ui.state import Shared

HELP = ('<div class="rag-help">Upload a questions file to score the assistant: <code>.jsonl</code> '
        'or <code>.csv</code> with an <code>id</code> and a <code>question</code> per row, and '
        'optionally <code>answerable</code>, <code>must_include</code>, <code>sources</code>. '
        'You get the headline numbers here, report.html and the raw results. Admins only.</div>')


def run_evaluation(questions: Path, out: Path, assistant: Assistant) -> tuple[bool, str, dict | None]:
    """Answer and score a questions file in-process with the loaded assistant: (ok, why not, summary)."""
    try:
        summary = evaluate_file(assistant, questions, out, progress=False)
    except Exception as exc:  # noqa: BLE001
        return False, one_line(exc), None
    if summary is None:
        return False, "the file has no usable questions (one JSON object or CSV row per question)", None
    ok = (out / "report.html").exists()
    return ok, "" if ok else "no report was written", summary


class Evaluation:
    """The handler of the Evaluate tab, over the shared state."""

    def __init__(self, shared: Shared):
        self.shared = shared

    def run(self, questions: str | None, request: gr.Request, progress: gr.Progress = gr.Progress()) -> tuple:
        if not self.shared.is_admin(request):
            return message("Only an admin can run an evaluation.", "error"), "", gr.skip()
        if not questions:
            return message("Upload a questions file first."), "", gr.skip()
        progress(0.1, desc="Answering the questions…")
        out = Path(tempfile.mkdtemp(prefix="rag-eval-"))
        ok, detail, summary = run_evaluation(Path(questions), out, self.shared.base)
        files = [str(p) for p in sorted(out.iterdir()) if p.is_file()] if out.exists() else []
        if not ok:
            return message(f"Evaluation failed: {detail}", "error"), "", files or None
        return (message("Done. The headline numbers are below; report.html has every question.", "ok"),
                metrics_html((summary or {}).get("overall", {})), files)


def build_evaluate(shared: Shared) -> None:
    """The Evaluate tab and its event."""
    evaluation = Evaluation(shared)
    with gr.Tab("Evaluate", id="evaluate"):
        gr.HTML(HELP)
        with gr.Row():
            questions = gr.File(label="Questions file", file_types=[".jsonl", ".csv"], elem_id="rag-eval-file")
            with gr.Column():
                run = gr.Button("Run evaluation", variant="primary", elem_id="rag-eval-run")
                note = gr.HTML("", elem_id="rag-eval-message")
                metrics = gr.HTML("", elem_id="rag-eval-metrics")
                files = gr.File(label="Report and results", file_count="multiple", interactive=False,
                                elem_id="rag-eval-files")
    run.click(evaluation.run, [questions], [note, metrics, files], api_visibility="private")
