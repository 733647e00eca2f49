"""HTML for the chat transcript, the cited passage and the sources list.

Pure functions of the rag records, kept apart from Gradio so they can be
tested alone. Every piece of document or user text goes through ``esc``
before it meets markup: an article that contains ``<script>`` shows as text.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

from rag import Answer, Citation, Document, Hit
from rag.core.statements import render as render_statements

MARKER = re.compile(r"\[(\d+)\]")
HEADING = re.compile(r"^\s{0,3}#{1,6}\s+")
PREVIEW_CHARS = 220


def esc(text: object) -> str:
    """Escape text for HTML (quotes too, so it is safe inside attributes)."""
    return html.escape("" if text is None else str(text), quote=True)


def plain_title(title: object, fallback: str = "") -> str:
    """A title as people read it: a Markdown file's ``# Heading`` shows without its ``#``."""
    text = HEADING.sub("", str(title or "")).strip()
    return text or fallback


@dataclass
class Exchange:
    """One question of the conversation and what came back (held in the session's ``gr.State``)."""

    question: str
    answer: Answer | None = None  # None while streaming or after an error
    partial: str = ""  # verified text received so far
    error: str = ""  # one-line message when the question could not be answered
    notes: list[str] = field(default_factory=list)
    quotes: tuple[Citation, ...] = ()  # the evidence, shown while the answer is being written (rag.Quotes)


# -- transcript -------------------------------------------------------------------


def transcript_html(exchanges: list[Exchange]) -> str:
    """The whole conversation; citation markers of finished answers are buttons."""
    if not exchanges:
        return (
            '<div class="rag-chat rag-empty"><div class="rag-empty-inner">'
            "<h3>Ask about your documents</h3>"
            "<p>Every sentence of an answer is checked against the documents and cited. "
            "Click a citation to read the passage in its article.</p></div></div>"
        )
    parts = ['<div class="rag-chat">']
    for turn, ex in enumerate(exchanges):
        parts.append(f'<div class="rag-msg rag-user"><div class="rag-bubble">{esc(ex.question)}</div></div>')
        parts.append(_reply_html(turn, ex))
    parts.append("</div>")
    return "".join(parts)


def _reply_html(turn: int, ex: Exchange) -> str:
    if ex.error:
        return (f'<div class="rag-msg rag-bot"><div class="rag-error" role="alert">'
                f'<span class="rag-icon">!</span> {esc(ex.error)}</div></div>')
    answer = ex.answer
    if answer is None:
        body = esc(ex.partial) if ex.partial else '<span class="rag-typing">Searching the documents…</span>'
        body = MARKER.sub(r'<span class="rag-cite pending">\1</span>', body)
        return (f'<div class="rag-msg rag-bot"><div class="rag-bubble rag-streaming">{body}'
                f'{early_quotes_html(ex.quotes)}</div></div>')
    if answer.refused:
        return (
            '<div class="rag-msg rag-bot"><div class="rag-refusal">'
            f'<div class="rag-refusal-title"><span class="rag-icon">i</span> {esc(answer.answer)}</div>'
            f'<div class="rag-refusal-reason">{esc(_sentence(answer.reason))}</div>'
            "</div></div>"
        )
    known = {c.n for c in answer.citations}

    def button(n: int) -> str:
        if n not in known:
            return f"[{n}]"
        return (f'<button class="rag-cite" data-turn="{turn}" data-n="{n}" '
                f'title="Show passage {n}">{n}</button>')

    if answer.statements:  # rendered from the records; the text is split only for answers made before statements
        body = render_statements(answer.statements, {c.n: c.lang for c in answer.citations}, escape=esc, marker=button)
    else:
        body = MARKER.sub(lambda match: button(int(match.group(1))), esc(answer.answer))
    body = body.replace("(unverified)", '<span class="rag-unverified" title="This sentence did not pass '
                                        'verification against its passage">not verified</span>')
    note = f'<div class="rag-note">{esc(_sentence(answer.reason))}</div>' if answer.reason else ""
    return (
        f'<div class="rag-msg rag-bot"><div class="rag-bubble">'
        f'<div class="rag-answer">{body}</div>{note}{citation_list_html(turn, answer)}'
        f'{_meta_html(answer)}</div></div>'
    )


def early_quotes_html(quotes: tuple[Citation, ...] | list[Citation]) -> str:
    """The evidence sent ahead of the answer: numbered quotes with their source, not yet clickable."""
    if not quotes:
        return ""
    items = []
    for c in quotes:
        where = " · ".join(x for x in (esc(c.section), esc(c.date) if c.date else "", esc(c.doc_id)) if x)
        items.append(
            f'<li class="rag-early-quote"><span class="rag-cite">{int(c.n)}</span>'
            f'<span class="rag-source-text"><span class="rag-source-title">{esc(plain_title(c.title, c.doc_id))}</span>'
            f'<span class="rag-source-where">{where}</span>'
            f'<span class="rag-source-quote">“{esc(_preview(c.quote))}”</span></span></li>'
        )
    return (f'<div class="rag-early"><div class="rag-early-title">Sources found; writing the answer…</div>'
            f'<ol class="rag-sources rag-early-quotes">{"".join(items)}</ol></div>')


def citation_list_html(turn: int, answer: Answer) -> str:
    """The numbered sources under an answer, each a button that opens its passage."""
    if not answer.citations:
        return ""
    items = []
    for c in answer.citations:
        where = " · ".join(x for x in (esc(c.section), esc(c.date) if c.date else "", esc(c.doc_id)) if x)
        items.append(
            f'<li><button class="rag-source" data-turn="{turn}" data-n="{c.n}">'
            f'<span class="rag-cite">{c.n}</span>'
            f'<span class="rag-source-text"><span class="rag-source-title">{esc(plain_title(c.title, c.doc_id))}</span>'
            f'<span class="rag-source-where">{where}</span>'
            f'<span class="rag-source-quote">“{esc(_preview(c.quote))}”</span></span></button></li>'
        )
    return f'<ol class="rag-sources">{"".join(items)}</ol>'


def _meta_html(answer: Answer) -> str:
    seconds = answer.timings_ms.get("total", 0.0) / 1000
    model = answer.model if answer.model and answer.model != "none" else "quotes only"
    return (f'<div class="rag-meta"><button class="rag-copy" type="button" title="Copy the answer">Copy</button> '
            f'{esc(model)} · {seconds:.1f} s</div>')


# -- side panels --------------------------------------------------------------------


def passage_html(document: Document | None, start: int, end: int, n: int | None = None,
                 translation: str | None = None) -> str:
    """The full article with the cited span in ``<mark>``, headed by its title, date and file."""
    if document is None:
        return _panel_notice("This document is no longer in the library.")
    start, end = max(0, min(start, len(document.text))), max(0, min(end, len(document.text)))
    before, quote, after = document.text[:start], document.text[start:end], document.text[end:]
    label = f"Citation [{n}]" if n is not None else "Passage"
    facts = [f"<span>{esc(document.date)}</span>" if document.date else "<span>undated</span>",
             f"<span>{esc(document.lang)}</span>", f'<span class="rag-file">{esc(document.doc_id)}</span>']
    translated = (f'<div class="rag-translation"><b>Machine translation:</b> {esc(translation)}</div>'
                  if translation else "")
    return (
        '<div class="rag-passage">'
        f'<div class="rag-passage-label">{esc(label)}</div>'
        f'<h3 class="rag-passage-title">{esc(plain_title(document.title, document.doc_id))}</h3>'
        f'<div class="rag-passage-facts">{" · ".join(facts)}</div>{translated}'
        f'<div class="rag-article">{esc(before)}<mark class="rag-mark">{esc(quote)}</mark>{esc(after)}</div>'
        "</div>"
    )


def passage_placeholder() -> str:
    return _panel_notice("Click a numbered citation to read the passage in its article.")


def hits_html(hits: list[Hit]) -> str:
    """What retrieval returned for the last question, best first, with its scores."""
    if not hits:
        return _panel_notice("The passages found for your question are listed here.")
    rows = []
    for rank, hit in enumerate(hits, start=1):
        scores = [f"score {hit.score:.3f}"]
        if hit.dense is not None:
            scores.append(f"cosine {hit.dense:.2f}")
        if hit.lexical is not None:
            scores.append(f"BM25 {hit.lexical:.1f}")
        rows.append(
            f'<li class="rag-hit"><div class="rag-hit-head"><span class="rag-rank">{rank}</span>'
            f'<span class="rag-hit-title">{esc(plain_title(hit.title, hit.chunk.doc_id))}</span></div>'
            f'<div class="rag-hit-where">{esc(hit.chunk.doc_id)} · {esc(hit.date or "undated")} · '
            f'{" · ".join(scores)}</div>'
            f'<div class="rag-hit-text">{esc(_preview(hit.chunk.text))}</div></li>'
        )
    return f'<ol class="rag-hits">{"".join(rows)}</ol>'


def status_html(info: dict, generator_name: str = "") -> str:
    """One line on what is loaded: documents, chunks, index version, encoder and generator."""
    generator = info.get("generator", "")
    model = generator_name or info.get("model", "")
    answerer = "quotes only (no generator)" if generator == "none" else f"{generator} · {model}"
    return (
        '<div class="rag-status">'
        f'<span class="rag-dot"></span> <b>{info.get("documents", 0)}</b> documents · '
        f'<b>{info.get("chunks", 0)}</b> passages · index {esc(info.get("index_version", ""))} · '
        f'encoder {esc(info.get("embedding_model", ""))} · answers {esc(answerer)}</div>'
    )


def _panel_notice(text: str) -> str:
    return f'<div class="rag-panel-empty">{esc(text)}</div>'


def _preview(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= PREVIEW_CHARS else text[:PREVIEW_CHARS].rsplit(" ", 1)[0] + "…"


def _sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return ""
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def documents_html(documents: list[dict]) -> str:
    """The library as a table: title, date, language, passages and file name."""
    if not documents:
        return _panel_notice("The library is empty: add documents on the right.")
    rows = []
    for d in sorted(documents, key=lambda d: plain_title(d.get("title"), d["doc_id"]).lower()):
        rows.append(
            f'<tr><td class="rag-doc-title">{esc(plain_title(d.get("title"), d["doc_id"]))}</td>'
            f'<td>{esc(d.get("date") or "–")}</td><td>{esc(d.get("lang", ""))}</td>'
            f'<td class="rag-num">{int(d.get("chunks", 0))}</td><td class="rag-file">{esc(d["doc_id"])}</td></tr>'
        )
    return (
        '<table class="rag-docs"><thead><tr><th>Title</th><th>Date</th><th>Language</th>'
        f'<th class="rag-num">Passages</th><th>File</th></tr></thead><tbody>{"".join(rows)}</tbody></table>'
    )


HEADLINE_METRICS = [("questions", "Questions"), ("pass_rate", "Passed"), ("accuracy", "Answer accuracy"),
                    ("refusal_accuracy", "Refusals of unanswerable"), ("false_refusals", "False refusals"),
                    ("citation_precision", "Citation precision"), ("quote_exactness", "Exact quotes"),
                    ("mrr", "Retrieval MRR"), ("total_ms_p50", "Answer time p50 (ms)")]


def metrics_html(overall: dict) -> str:
    """The headline numbers of an evaluation run as a small table."""
    rows = []
    for key, label in HEADLINE_METRICS:
        value = overall.get(key)
        if value is None:
            continue
        shown = f"{value:.0%}" if isinstance(value, float) and key not in {"mrr", "total_ms_p50"} else (
            f"{value:.2f}" if key == "mrr" else f"{value:.0f}" if isinstance(value, float) else str(value))
        rows.append(f'<tr><th>{esc(label)}</th><td class="rag-num">{esc(shown)}</td></tr>')
    return f'<table class="rag-docs rag-metrics"><tbody>{"".join(rows)}</tbody></table>' if rows else ""


# -- checking a text --------------------------------------------------------------------

VERDICTS = {"supported": ("✓", "supported"), "contradicted": ("✗", "contradicted"), "not_found": ("?", "not found")}


def check_html(results: list) -> str:
    """The verdict on each sentence of a checked text: mark, sentence, reason, and each citation's exact quote.

    ``results`` are ``rag.assistant.check.CheckResult`` records, read field by field (nothing parsed from text).
    """
    if not results:
        return ""
    rows = []
    for n, r in enumerate(results, start=1):
        mark, label = VERDICTS.get(r.verdict, ("·", r.verdict))
        cites = []
        for j, c in enumerate(r.citations):
            where = " · ".join(x for x in (esc(c.section), esc(c.date) if c.date else "",
                                           f"{esc(c.doc_id)} [{int(c.start)}:{int(c.end)}]") if x)
            translated = (f'<div class="rag-translation"><b>Machine translation:</b> {esc(c.translation)}</div>'
                          if c.translation else "")
            cites.append(
                f'<div class="rag-check-cite"><button class="rag-check-open" type="button" data-item="{n - 1}" '
                f'data-cite="{j}" title="Show it in its article">{esc(plain_title(c.title, c.doc_id))}</button>'
                f'<div class="rag-source-where">{where}</div>'
                f'<blockquote class="rag-check-quote">{esc(c.quote)}</blockquote>{translated}</div>'
            )
        rows.append(
            f'<li class="rag-check-item rag-verdict-{esc(r.verdict)}" data-verdict="{esc(r.verdict)}">'
            f'<div class="rag-check-head"><span class="rag-verdict">{mark} {esc(label)}</span> '
            f'<span class="rag-check-sentence">{esc(r.sentence)}</span></div>'
            f'<div class="rag-check-reason">{esc(_sentence(r.reason))}</div>{"".join(cites)}</li>'
        )
    return f'<ol class="rag-check-list" start="1">{"".join(rows)}</ol>'


def check_summary(results: list) -> str:
    """"3 sentences: 1 supported, 1 contradicted, 1 not found" for a list of check results."""
    counts = {key: sum(r.verdict == key for r in results) for key in VERDICTS}
    parts = [f"{v} {VERDICTS[k][1]}" for k, v in counts.items() if v]
    total = len(results)
    return f"{total} sentence{'s' if total != 1 else ''}: " + ", ".join(parts) if parts else "No sentences."
