"""The Evaluate tab: score the loaded assistant on an uploaded questions file (admins only).

``rag.evaluation.evaluate`` does the work in-process; the tab shows progress per question, the
lines it skipped and why, the headline numbers and the plots, and offers report.html
and the raw results for download. Messages name the uploaded file, never its
temporary path on the server.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import gradio as gr

from rag import Assistant
from rag.evaluation.evaluate import BadRow, RunFiles, evaluate_file, load_questions, read_results
from rag.evaluation.report import plots_html
from ui.common import message, one_line
from ui.render import esc, metrics_html
from ui.state import Shared

HELP = ('<div class="rag-help">Upload a questions file to score the assistant: <code>.jsonl</code> '
        'or <code>.csv</code> with an <code>id</code> and a <code>question</code> per row, and '
        'optionally <code>answerable</code>, <code>must_include</code>, <code>sources</code>. '
        'You get the headline numbers and plots here, report.html and the raw results. Admins only.</div>')
FORMAT_HINT = "each line needs an id and a question, as JSON (.jsonl) or as a CSV row with a header"


@dataclass
class Outcome:
    """One evaluation as the tab reports it: what went wrong (if anything), what was skipped, what came out."""

    name: str  # the uploaded file's own name
    error: str = ""
    skipped: list[BadRow] = field(default_factory=list)
    summary: dict | None = None
    plots: str = ""


def not_text(path: Path) -> bool:
    """True for a file that is not UTF-8 text (an image, a spreadsheet, a PDF renamed .csv)."""
    data = path.read_bytes()
    if b"\0" in data:
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def run_evaluation(questions: Path, out: Path, assistant: Assistant, name: str | None = None,
                   on_question: Callable[[int, int], None] | None = None) -> Outcome:
    """Read, answer and score a questions file in-process with the loaded assistant."""
    outcome = Outcome(name or questions.name)
    hide = {str(questions): outcome.name, str(out): "the run folder"}
    try:
        if not_text(questions):
            outcome.error = f"{outcome.name} is not a text file: upload a .jsonl or .csv file saved as UTF-8 text"
            return outcome
        usable, outcome.skipped = load_questions(questions)
        if not usable:
            outcome.error = f"{outcome.name} has no usable question: {FORMAT_HINT}"
            return outcome
        outcome.summary = evaluate_file(assistant, questions, out, progress=False, on_question=on_question,
                                        shown_as=outcome.name)
        if outcome.summary is None or not RunFiles(out).report.exists():
            outcome.error = "no report was written"
            return outcome
        outcome.plots = plots_html(outcome.summary, read_results(RunFiles(out).results))
    except Exception as exc:  # noqa: BLE001 - one line, with the server's paths taken out
        detail = one_line(exc)
        for path, shown in hide.items():
            detail = detail.replace(path, shown)
        outcome.error = detail
    return outcome


def outcome_html(outcome: Outcome) -> str:
    """The one message of a run: done or failed, with every skipped line and its reason."""
    lines = []
    if outcome.error:
        lines.append(f"Evaluation failed: {outcome.error}.")
    else:
        count = outcome.summary["overall"].get("questions", 0) if outcome.summary else 0
        lines.append(f"Done: {count} question{'' if count == 1 else 's'} of {outcome.name} answered and scored. "
                     "The headline numbers and plots are below; report.html has every question.")
    if outcome.skipped:
        lines.append(f"Skipped {len(outcome.skipped)} line{'' if len(outcome.skipped) == 1 else 's'} "
                     f"({FORMAT_HINT}); fix them and run again to include them:")
        lines += [f"Line {bad.line}: {bad.reason}" for bad in outcome.skipped]
    kind = "error" if outcome.error else "info" if outcome.skipped else "ok"
    return message("<br>".join(esc(line) for line in lines), kind, escaped=True)


class Evaluation:
    """The handler of the Evaluate tab, over the shared state."""

    def __init__(self, shared: Shared):
        self.shared = shared

    def run(self, questions: str | None, request: gr.Request, progress: gr.Progress = gr.Progress()) -> tuple:
        if not self.shared.is_admin(request):
            return message("Only an admin can run an evaluation.", "error"), "", gr.skip()
        if not questions:
            return message("Upload a questions file first."), "", gr.skip()

        def answered(done: int, total: int) -> None:
            progress((done, total), desc=f"Answered {done} of {total} questions", unit="questions")

        progress(0, desc="Reading the questions…")
        out = Path(tempfile.mkdtemp(prefix="rag-eval-"))
        outcome = run_evaluation(Path(questions), out, self.shared.base, on_question=answered)
        files = [str(p) for p in sorted(out.iterdir()) if p.is_file()] if out.exists() else []
        if outcome.error:
            return outcome_html(outcome), "", files or None
        headline = metrics_html((outcome.summary or {}).get("overall", {}))
        return outcome_html(outcome), f'{headline}<div class="rag-eval-plots">{outcome.plots}</div>', files


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
