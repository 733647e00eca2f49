"""report.html for an evaluation run: one self-contained file, readable offline.

Plots are drawn with matplotlib (Agg) as inline SVG with text as paths, the
style sheet is inline and fonts are the system's, so the file references
nothing outside itself. The page is the Jinja template
``rag/templates/report.html.j2`` with autoescaping on, so every piece of text
from questions, answers and documents is escaped unless marked safe here.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, PackageLoader
from markupsafe import Markup, escape

from rag.core import statements as rendering
from rag.evaluation.metrics import RANK_CUTOFFS, SUPPORT_JUDGE, Record, gold_rank, must_include_hits, passed
from rag.core.records import Statement

PERCENT_METRICS = {
    "pass_rate", "accuracy", "refusal_accuracy", "similarity", "mrr", "citation_precision", "quote_exactness",
    "support_rate",
}
METRIC_LABELS = {
    "questions": "Questions", "passed": "Passed", "pass_rate": "Pass rate", "answerable": "Answerable",
    "graded": "Graded (must_include)", "correct": "Correct", "accuracy": "Answer accuracy",
    "false_refusals": "False refusals", "unanswerable": "Unanswerable", "refusal_accuracy": "Refusal accuracy",
    "similarity": "Similarity to reference", "similarity_n": "With reference", "retrieval_n": "With gold sources",
    "mrr": "MRR", "citations": "Citations", "citation_precision": "Citation precision",
    "citation_precision_n": "Citations graded", "quote_exactness": "Quote exactness", "quotes_checked": "Quotes checked",
    "cited_sentences": "Cited sentences", "support_rate": "Support rate (self-check)",
    "leads": "Answers with a lead", "wrong_leads": "Wrong leads",
}
ACCENT, GOOD, BAD, MUTED = "#2f5d9e", "#2e7d4f", "#b23b3b", "#8a94a6"


def fmt(name: str, value: object) -> str:
    """A metric for display: rates as percentages, latencies in ms or s, counts as is."""
    if value is None:
        return "–"
    if name in PERCENT_METRICS or name.startswith(("hit@", "recall@")):
        return f"{100 * float(value):.1f}%" if name != "similarity" else f"{float(value):.3f}"  # type: ignore[arg-type]
    if name.endswith(("_p50", "_p95")):
        return duration(float(value))  # type: ignore[arg-type]
    return str(value)


def duration(ms: float | None) -> str:
    if ms is None:
        return "–"
    return f"{ms / 1000:.2f} s" if ms >= 1000 else f"{ms:.0f} ms"


def label(name: str) -> str:
    if name in METRIC_LABELS:
        return METRIC_LABELS[name]
    if name.startswith(("hit@", "recall@")):
        return name.replace("hit@", "Hit@").replace("recall@", "Recall@")
    match = re.fullmatch(r"(\w+?)_ms_(p50|p95)", name)
    if match:
        return f"Latency {match.group(1).replace('_', ' ')} {match.group(2)}"
    return name


@dataclass(frozen=True)
class Group:
    """One must_include group of a question, as the report shows it."""

    words: str  # the group's alternatives, "a | b"
    found: bool  # one of them is in the answer


@dataclass(frozen=True)
class Question:
    """What the report shows of one result record besides the record's own fields."""

    record: Record
    passed: bool
    answer: Markup  # the answer text, escaped, with its citation markers
    groups: tuple[Group, ...]
    gold_rank: int | None
    first_token_ms: float | None
    total_ms: float | None

    @property
    def state(self) -> str:
        return "pass" if self.passed else "fail"


PAGES = Environment(loader=PackageLoader("rag", "templates"), autoescape=True, trim_blocks=True, lstrip_blocks=True,
                    finalize=lambda value: "" if value is None else value)
PAGES.filters["oneline"] = lambda text: " ".join(str(text).split())


def render_report(summary: dict[str, Any], records: Sequence[Record]) -> str:
    """The whole report page as one HTML string."""
    overall, by_kind, run = summary["overall"], summary["by_kind"], summary["run"]
    return PAGES.get_template("report.html.j2").render(
        run=run, run_fields=_run_fields(run), overall=overall, cards=_cards(overall),
        plots=plot_svgs(summary, records), columns=[("overall", overall), *by_kind.items()],
        sections=_sections(overall), bad_rows=run.get("bad_rows") or [], questions=[_question(r) for r in records],
        support_judge=SUPPORT_JUDGE, fmt=fmt, label=label, duration=duration,
    )


def plot_svgs(summary: dict[str, Any], records: Sequence[Record]) -> list[Markup]:
    """The three plots (pass rate by kind, retrieval hits by k, answer times) as inline SVG."""
    overall, by_kind = summary["overall"], summary["by_kind"]
    figures = [_pass_rate_plot(by_kind), _hit_curve_plot(overall, by_kind), _latency_plot(records)]
    return [Markup(_svg(fig)) for fig in figures]


def plots_html(summary: dict[str, Any], records: Sequence[Record]) -> str:
    """The plots as the report lays them out, for a page that shows them beside the report (the Evaluate tab)."""
    return str(Markup("<div class='plots'>{}</div>").format(
        Markup("").join(Markup("<div class='plot'>{}</div>").format(svg) for svg in plot_svgs(summary, records))))


def _run_fields(run: dict[str, Any]) -> list[tuple[str, object]]:
    fields = [("questions", run.get("questions_file")), ("generator", run.get("generator")),
              ("model", run.get("model")), ("answered by", ", ".join(run.get("answered_by") or []) or None),
              ("top-k", run.get("top_k")), ("index", run.get("index_version")), ("finished", run.get("finished"))]
    return [(name, value) for name, value in fields if value not in (None, "")]


def _cards(m: dict[str, Any]) -> list[tuple[str, str]]:
    """(metric, note) of each summary card."""
    deepest_hit = next((f"hit@{k}" for k in (5, 3, 10, 1) if f"hit@{k}" in m), None)
    return [
        ("pass_rate", f"{m['passed']} of {m['questions']} questions"),
        ("accuracy", f"{m['correct']} of {m['graded']} answerable"),
        ("refusal_accuracy", f"{m['unanswerable']} unanswerable · {m['false_refusals']} false refusals"),
        *([(deepest_hit, f"{m['retrieval_n']} with gold sources")] if deepest_hit else []),
        ("mrr", "first gold passage"),
        ("citation_precision", f"{m['citation_precision_n']} citations"),
        ("quote_exactness", f"{m['quotes_checked']} quotes"),
        ("support_rate", f"{m['cited_sentences']} cited statements"),
        ("wrong_leads", f"of {m.get('leads')} leads"),
        ("total_ms_p50", f"p95 {fmt('total_ms_p95', m.get('total_ms_p95'))}"),
        ("first_token_ms_p50", f"p95 {fmt('first_token_ms_p95', m.get('first_token_ms_p95'))}"),
    ]


def _sections(overall: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """The metrics table's sections: (title, metric names)."""
    return [
        ("Answers", ["questions", "passed", "pass_rate", "answerable", "graded", "correct", "accuracy",
                     "false_refusals", "unanswerable", "refusal_accuracy", "leads", "wrong_leads", "similarity",
                     "similarity_n"]),
        ("Retrieval", ["retrieval_n", *[k for k in overall if k.startswith(("hit@", "recall@"))], "mrr"]),
        ("Citations", ["citations", "citation_precision", "citation_precision_n", "quote_exactness",
                       "quotes_checked", "cited_sentences", "support_rate"]),
        ("Latency", [k for k in overall if k.endswith(("_p50", "_p95"))]),
    ]


def _question(r: Record) -> Question:
    groups = r.get("must_include") or []
    hits = must_include_hits(r.get("answer", ""), groups) if groups else []
    timings = r.get("timings_ms") or {}
    return Question(r, passed(r), _answer_html(r),
                    tuple(Group(" | ".join(group), hit is not None) for group, hit in zip(groups, hits)),
                    gold_rank(r) if r.get("sources") else None, timings.get("first_token"), timings.get("total"))


def _answer_html(r: Record) -> Markup:
    """The answer rendered from its statements; results written before statements existed show their text."""
    if not r.get("statements") or r.get("refused"):
        return Markup(re.sub(r"\[(\d+)\]", r"<sup class='cite'>[\1]</sup>", str(escape(r.get("answer") or ""))))
    languages = {c["n"]: c.get("lang") or "" for c in r.get("citations") or []}
    return Markup(rendering.render([Statement.from_dict(s) for s in r["statements"]], languages,
                                   escape=lambda text: str(escape(text)),
                                   marker=lambda n: f"<sup class='cite'>[{n}]</sup>"))


# -- plots --------------------------------------------------------------------------


def _figure(title: str):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.fonttype": "path", "font.size": 9, "axes.spines.top": False,
                         "axes.spines.right": False, "axes.edgecolor": "#9aa3b2"})
    fig, ax = plt.subplots(figsize=(4.2, 3.0), dpi=100)
    ax.set_title(title, fontsize=10.5, loc="left", color="#1d2433")
    ax.grid(axis="y", color="#e3e7ee", linewidth=0.8)
    ax.set_axisbelow(True)
    return fig, ax


def _svg(fig) -> str:
    """The figure as inline SVG, without the XML prologue, metadata or namespace URLs."""
    import matplotlib.pyplot as plt

    buffer = io.StringIO()
    fig.tight_layout()
    fig.savefig(buffer, format="svg", metadata={"Creator": None, "Date": None, "Format": None, "Type": None})
    plt.close(fig)
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.DOTALL)
    svg = re.sub(r'\s+xmlns(:\w+)?="[^"]*"', "", svg)
    return svg.replace("xlink:href", "href")


def _pass_rate_plot(by_kind: dict[str, dict[str, Any]]):
    fig, ax = _figure("Pass rate by kind")
    kinds = list(by_kind)
    rates = [100 * (by_kind[k]["pass_rate"] or 0) for k in kinds]
    bars = ax.bar(kinds, rates, color=[GOOD if r >= 50 else BAD for r in rates], width=0.6)
    for bar, kind in zip(bars, kinds):
        m = by_kind[kind]
        ax.annotate(f"{m['passed']}/{m['questions']}", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    ha="center", va="bottom", fontsize=8, color="#5d6778", xytext=(0, 2), textcoords="offset points")
    ax.set_ylim(0, 110)
    ax.set_ylabel("% passed")
    ax.tick_params(axis="x", labelrotation=20 if len(kinds) > 4 else 0)
    return fig


def _hit_curve_plot(overall: dict[str, Any], by_kind: dict[str, dict[str, Any]]):
    fig, ax = _figure("Retrieval hit@k")
    ks = [k for k in RANK_CUTOFFS if overall.get(f"hit@{k}") is not None]
    if ks:
        ax.plot(ks, [100 * overall[f"hit@{k}"] for k in ks], marker="o", color=ACCENT, linewidth=2, label="overall")
        for kind, m in by_kind.items():
            points = [(k, m.get(f"hit@{k}")) for k in ks if m.get(f"hit@{k}") is not None]
            if points and kind:
                ax.plot(*zip(*[(k, 100 * v) for k, v in points]), marker=".", linewidth=1, alpha=0.7, label=kind)
        ax.set_xticks(ks)
        ax.legend(fontsize=7.5, frameon=False, loc="lower right")
    else:
        ax.text(0.5, 0.5, "no questions with gold sources", ha="center", va="center", color=MUTED,
                transform=ax.transAxes)
    ax.set_ylim(0, 105)
    ax.set_xlabel("k (passages retrieved)")
    ax.set_ylabel("% with a gold passage in top k")
    return fig


def _latency_plot(records: Sequence[Record]):
    fig, ax = _figure("Latency per question")
    totals = [r["timings_ms"]["total"] / 1000 for r in records if (r.get("timings_ms") or {}).get("total") is not None]
    firsts = [r["timings_ms"]["first_token"] / 1000 for r in records
              if (r.get("timings_ms") or {}).get("first_token") is not None]
    if totals:
        top = max(totals + firsts)
        bins = [top * i / 12 for i in range(13)] if top > 0 else 12
        ax.hist(totals, bins=bins, color=ACCENT, alpha=0.75, label="total")
        if firsts:
            ax.hist(firsts, bins=bins, color="#d08a1c", histtype="step", linewidth=1.8, label="first piece")
        ax.legend(fontsize=7.5, frameon=False)
    ax.set_xlabel("seconds")
    ax.set_ylabel("questions")
    return fig
