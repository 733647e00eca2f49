"""report.html for an evaluation run: one self-contained file, readable offline.

Plots are drawn with matplotlib (Agg) as inline SVG with text as paths, the
style sheet is inline and fonts are the system's, so the file references
nothing outside itself. Every piece of text from questions, answers and
documents goes through ``html.escape``.
"""

from __future__ import annotations

import html
import io
import re
from collections.abc import Sequence
from typing import Any

from rag import statements as rendering
from rag.metrics import RANK_CUTOFFS, SUPPORT_JUDGE, Record, gold_rank, must_include_hits, passed
from rag.records import Statement

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

STYLE = """
:root { --ink:#1d2433; --muted:#5d6778; --line:#e3e7ee; --bg:#f6f7fa; --accent:#2f5d9e; --good:#2e7d4f; --bad:#b23b3b; }
* { box-sizing:border-box; }
body { margin:0; background:var(--bg); color:var(--ink);
  font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif; }
main { max-width:1180px; margin:0 auto; padding:32px 28px 64px; }
h1 { font-size:26px; margin:0 0 4px; } h2 { font-size:19px; margin:36px 0 12px; }
.meta { color:var(--muted); font-size:13px; } .meta b { color:var(--ink); font-weight:600; }
.cards { display:grid; grid-template-columns:repeat(auto-fill,minmax(160px,1fr)); gap:12px; margin-top:22px; }
.card { background:#fff; border:1px solid var(--line); border-radius:10px; padding:12px 14px; }
.card .v { font-size:24px; font-weight:650; } .card .l { color:var(--muted); font-size:12.5px; }
.card .n { color:var(--muted); font-size:11.5px; }
table { border-collapse:collapse; width:100%; background:#fff; border:1px solid var(--line); border-radius:10px;
  overflow:hidden; font-size:13.5px; }
th, td { padding:6px 12px; border-bottom:1px solid var(--line); text-align:right; }
th:first-child, td:first-child { text-align:left; } thead th { background:#eef1f6; font-weight:600; }
tr.section td { background:#fafbfc; color:var(--muted); font-size:12px; text-transform:uppercase; letter-spacing:.04em; }
.plots { display:grid; grid-template-columns:repeat(3,1fr); gap:12px; }
.plot { background:#fff; border:1px solid var(--line); border-radius:10px; padding:8px; }
.plot svg { width:100%; height:auto; display:block; }
.filters { margin:0 0 12px; font-size:13px; color:var(--muted); }
.filters button { font:inherit; border:1px solid var(--line); background:#fff; border-radius:6px; padding:3px 10px;
  margin-left:6px; cursor:pointer; } .filters button.on { background:var(--accent); color:#fff; border-color:var(--accent); }
.q { background:#fff; border:1px solid var(--line); border-left:4px solid var(--good); border-radius:8px;
  padding:12px 16px; margin-bottom:10px; } .q.fail { border-left-color:var(--bad); }
.q header { display:flex; gap:10px; align-items:baseline; flex-wrap:wrap; }
.q .id { font-family:ui-monospace,Menlo,Consolas,monospace; color:var(--muted); font-size:12.5px; }
.q .text { font-weight:600; flex:1; }
.badge { font-size:11.5px; font-weight:700; padding:1px 8px; border-radius:10px; color:#fff; background:var(--good); }
.badge.fail { background:var(--bad); } .badge.kind { background:#e8edf5; color:var(--accent); font-weight:600; }
.answer { margin:8px 0 6px; } .answer.refused { color:var(--muted); font-style:italic; }
sup.cite { color:var(--accent); font-weight:700; font-size:11px; }
.facts { color:var(--muted); font-size:12.5px; display:flex; gap:16px; flex-wrap:wrap; }
.ok { color:var(--good); font-weight:600; } .no { color:var(--bad); font-weight:600; }
ol.cites { margin:8px 0 0; padding-left:0; list-style:none; font-size:13px; }
ol.cites li { border-top:1px dashed var(--line); padding:6px 0; }
.src { color:var(--muted); font-size:12px; } blockquote { margin:3px 0 0 0; padding-left:10px; border-left:3px solid #d6dce6; }
.tr { color:var(--muted); font-style:italic; }
footer { margin-top:40px; color:var(--muted); font-size:12px; }
"""

FILTER_SCRIPT = """
document.querySelectorAll('.filters button').forEach(b => b.addEventListener('click', () => {
  document.querySelectorAll('.filters button').forEach(x => x.classList.toggle('on', x === b));
  document.querySelectorAll('.q').forEach(q => {
    q.style.display = (b.dataset.show === 'all' || q.classList.contains(b.dataset.show)) ? '' : 'none';
  });
}));
"""


def esc(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def fmt(name: str, value: object) -> str:
    """A metric for display: rates as percentages, latencies in ms or s, counts as is."""
    if value is None:
        return "–"
    if name in PERCENT_METRICS or name.startswith(("hit@", "recall@")):
        return f"{100 * float(value):.1f}%" if name != "similarity" else f"{float(value):.3f}"  # type: ignore[arg-type]
    if name.endswith(("_p50", "_p95")):
        return duration(float(value))  # type: ignore[arg-type]
    return esc(value)


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


def render_report(summary: dict[str, Any], records: Sequence[Record]) -> str:
    """The whole report page as one HTML string."""
    overall, by_kind, run = summary["overall"], summary["by_kind"], summary["run"]
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>Evaluation report — {esc(run.get('questions_file'))}</title><style>{STYLE}</style></head><body><main>",
        "<h1>Evaluation report</h1>",
        _run_line(run),
        _cards(overall),
        "<h2>Plots</h2>",
        plots_html(summary, records),
        "<h2>Metrics</h2>",
        _metrics_table(overall, by_kind),
        _bad_rows(run.get("bad_rows") or []),
        f"<h2>Questions ({len(records)})</h2>",
        "<div class='filters'>Show<button class='on' data-show='all'>all</button>"
        "<button data-show='fail'>failed</button><button data-show='pass'>passed</button></div>",
        *(_question(r) for r in records),
        "<footer>Pass = every must_include group found in a non-refused answer (answerable questions), or a "
        f"refusal (unanswerable ones). Support = a cited passage backs the statement citing it, judged by "
        f"{esc(SUPPORT_JUDGE)}. Wrong lead = a short answer (lead) that lacks a must_include group, or any lead "
        "on an unanswerable question. "
        "Quote exactness = the quote equals the document text at its offsets.</footer>",
        f"</main><script>{FILTER_SCRIPT}</script></body></html>",
    ]
    return "\n".join(parts)


def plots_html(summary: dict[str, Any], records: Sequence[Record]) -> str:
    """The three plots (pass rate by kind, retrieval hits by k, answer times) as inline SVG, for any page."""
    overall, by_kind = summary["overall"], summary["by_kind"]
    return ("<div class='plots'>"
            f"<div class='plot'>{_svg(_pass_rate_plot(by_kind))}</div>"
            f"<div class='plot'>{_svg(_hit_curve_plot(overall, by_kind))}</div>"
            f"<div class='plot'>{_svg(_latency_plot(records))}</div></div>")


def _run_line(run: dict[str, Any]) -> str:
    fields = [("questions", run.get("questions_file")), ("generator", run.get("generator")),
              ("model", run.get("model")), ("answered by", ", ".join(run.get("answered_by") or []) or None),
              ("top-k", run.get("top_k")), ("index", run.get("index_version")), ("finished", run.get("finished"))]
    return "<div class='meta'>" + " &nbsp;·&nbsp; ".join(
        f"{esc(name)} <b>{esc(value)}</b>" for name, value in fields if value not in (None, "")) + "</div>"


def _cards(m: dict[str, Any]) -> str:
    deepest_hit = next((f"hit@{k}" for k in (5, 3, 10, 1) if f"hit@{k}" in m), None)
    cards = [
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
    return "<div class='cards'>" + "".join(
        f"<div class='card'><div class='v'>{fmt(key, m.get(key))}</div><div class='l'>{esc(label(key))}</div>"
        f"<div class='n'>{esc(note)}</div></div>" for key, note in cards) + "</div>"


def _metrics_table(overall: dict[str, Any], by_kind: dict[str, dict[str, Any]]) -> str:
    sections = [
        ("Answers", ["questions", "passed", "pass_rate", "answerable", "graded", "correct", "accuracy",
                     "false_refusals", "unanswerable", "refusal_accuracy", "leads", "wrong_leads", "similarity",
                     "similarity_n"]),
        ("Retrieval", ["retrieval_n", *[k for k in overall if k.startswith(("hit@", "recall@"))], "mrr"]),
        ("Citations", ["citations", "citation_precision", "citation_precision_n", "quote_exactness",
                       "quotes_checked", "cited_sentences", "support_rate"]),
        ("Latency", [k for k in overall if k.endswith(("_p50", "_p95"))]),
    ]
    columns = [("overall", overall), *by_kind.items()]
    rows = ["<table><thead><tr><th>Metric</th>" + "".join(f"<th>{esc(name)}</th>" for name, _ in columns)
            + "</tr></thead><tbody>"]
    for title, keys in sections:
        rows.append(f"<tr class='section'><td colspan='{len(columns) + 1}'>{esc(title)}</td></tr>")
        for key in keys:
            rows.append(f"<tr><td>{esc(label(key))}</td>"
                        + "".join(f"<td>{fmt(key, values.get(key))}</td>" for _, values in columns) + "</tr>")
    return "".join(rows) + "</tbody></table>"


def _bad_rows(bad_rows: list[dict[str, Any]]) -> str:
    if not bad_rows:
        return ""
    items = "".join(f"<li>line {esc(b['line'])}: {esc(b['reason'])}</li>" for b in bad_rows)
    return f"<h2>Skipped rows ({len(bad_rows)})</h2><ul class='meta'>{items}</ul>"


def _question(r: Record) -> str:
    ok = passed(r)
    state = "pass" if ok else "fail"
    answer_text = _answer_html(r)
    facts = [f"expected: {'answer' if r.get('answerable', True) else 'refusal'}"]
    groups = r.get("must_include") or []
    hits = must_include_hits(r.get("answer", ""), groups) if groups else []
    if groups:
        shown = " ".join(
            f"<span class='{'ok' if hit is not None and not r.get('refused') else 'no'}'>"
            f"{'✓' if hit is not None else '✗'} {esc(' | '.join(group))}</span>" for group, hit in zip(groups, hits))
        facts.append(f"must include: {shown}")
    if r.get("sources"):
        rank = gold_rank(r)
        facts.append(f"gold passage rank: {esc(rank) if rank else 'not retrieved'}")
    if r.get("similarity") is not None:
        facts.append(f"similarity {r['similarity']:.3f}")
    timings = r.get("timings_ms") or {}
    facts.append(f"first piece {duration(timings.get('first_token'))} · total {duration(timings.get('total'))}")
    if r.get("refused") and r.get("reason"):
        facts.append(f"reason: {esc(r['reason'])}")
    if r.get("error"):
        facts.append(f"<span class='no'>error: {esc(r['error'])}</span>")
    return (
        f"<section class='q {state}'><header><span class='id'>{esc(r.get('id'))}</span>"
        f"<span class='badge kind'>{esc(r.get('kind'))}</span><span class='text'>{esc(r.get('question'))}</span>"
        f"<span class='badge {state}'>{'PASS' if ok else 'FAIL'}</span></header>"
        f"<div class='answer{' refused' if r.get('refused') else ''}'>{answer_text}</div>"
        f"<div class='facts'>{''.join(f'<span>{f}</span>' for f in facts)}</div>"
        f"{_citations(r)}</section>"
    )


def _answer_html(r: Record) -> str:
    """The answer rendered from its statements; results written before statements existed show their text."""
    if not r.get("statements") or r.get("refused"):
        return re.sub(r"\[(\d+)\]", r"<sup class='cite'>[\1]</sup>", esc(r.get("answer")))
    languages = {c["n"]: c.get("lang") or "" for c in r.get("citations") or []}
    return rendering.render([Statement.from_dict(s) for s in r["statements"]], languages, escape=esc,
                            marker=lambda n: f"<sup class='cite'>[{n}]</sup>")


def _citations(r: Record) -> str:
    items = []
    for c in r.get("citations") or []:
        exact = c.get("exact")
        mark = "" if exact is None else (" <span class='ok'>exact</span>" if exact else " <span class='no'>quote differs</span>")
        gold = " <span class='ok'>gold source</span>" if c.get("doc_id") in (r.get("sources") or []) else ""
        translation = f"<div class='tr'>{esc(c['translation'])}</div>" if c.get("translation") else ""
        items.append(
            f"<li><span class='src'><b>[{esc(c.get('n'))}]</b> {esc(c.get('title'))} — {esc(c.get('doc_id'))} "
            f"[{esc(c.get('start'))}:{esc(c.get('end'))}]{' · ' + esc(c['date']) if c.get('date') else ''}</span>"
            f"{mark}{gold}<blockquote>{esc(' '.join(str(c.get('quote', '')).split()))}{translation}</blockquote></li>"
        )
    return f"<ol class='cites'>{''.join(items)}</ol>" if items else ""


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
