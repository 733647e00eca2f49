"""Render an export record as Markdown or as one self-contained HTML file.

Both read only the record built by ``rag.export.write.build_record``. Quotes are
written out verbatim (in HTML escaped, shown with their line breaks), so a
reader can compare them with the source character for character. The HTML
loads nothing: inline CSS, in-page links only, and a Content-Security-Policy
that forbids fetching anything should a later edit add a reference.
"""

from __future__ import annotations

import re
from html import escape
from typing import Any

from rag.core import statements as rendering
from rag.core.records import Statement
from rag.core.statements import titled

MARKER = re.compile(r"\[(\d+)\]")
CSS = """
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#1d2330;
 max-width:50rem;margin:2rem auto;padding:0 1rem;background:#fff}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #d8dce5}
h3{font-size:1rem;color:#4a5368;margin-bottom:.3rem}
.meta{color:#5b6478;font-size:.85rem}.answer{font-size:1.05rem}
.answer a,.cite a{color:#1f5fbf;text-decoration:none;font-weight:600}
.refused{border-left:4px solid #c0392b;background:#fcf1f0;padding:.5rem .8rem}
.cite{margin:.8rem 0 1.1rem}.cite .src{font-size:.9rem}
blockquote{white-space:pre-wrap;margin:.3rem 0;padding:.4rem .8rem;border-left:4px solid #8fa7d6;background:#f3f6fb}
.translation{font-style:italic;color:#4a5368;margin:.2rem 0 0 1.2rem}
code{font:.85em ui-monospace,"DejaVu Sans Mono",monospace;background:#f1f2f5;padding:0 .2em}
table{border-collapse:collapse;font-size:.85rem}td,th{border:1px solid #d8dce5;padding:.2rem .5rem;text-align:left;
 vertical-align:top}td code{word-break:break-all}
"""


def span(citation: dict[str, Any]) -> str:
    return f"[{citation['start']}:{citation['end']}]"


def source_line(citation: dict[str, Any]) -> str:
    """Title, date and file of a citation, as plain text."""
    parts = [titled(citation.get("title") or "(untitled)", citation.get("section") or ""), citation.get("date") or "undated",
             f"{citation['doc_id']} {span(citation)}"]
    return " · ".join(parts)


def reproduce_rows(record: dict[str, Any]) -> list[tuple[str, str]]:
    """The facts needed to reproduce the export, as (label, value) rows shared by every format."""
    index, settings = record["index"], record["settings"]
    turns = record["turns"]
    models = sorted({f"{t['model']} ({t['backend']})" for t in turns if t.get("model")}) or ["(none)"]
    return [
        ("Exported at (UTC)", record["exported_at"]),
        ("Model (backend)", ", ".join(models)),
        ("Index version", index.get("version") or ""),
        ("Embedding model", index.get("embedding_model") or ""),
        ("top_k", str(settings.get("top_k"))),
        ("Library", index.get("library") or ""),
        ("Index folder", index.get("path") or ""),
        ("Settings", ", ".join(f"{k}={v}" for k, v in settings.items())),
        ("Software", f"{record['software']['name']} (version {record['software']['version']})"),
        ("Schema version", record["schema_version"]),
    ]


def heading(record: dict[str, Any]) -> str:
    return "Cited answer" if len(record["turns"]) == 1 else f"Conversation ({len(record['turns'])} questions)"


# -- Markdown -------------------------------------------------------------------------


def to_markdown(record: dict[str, Any]) -> str:
    lines = [f"# {heading(record)}", "",
             f"Exported {record['exported_at']} · index {record['index'].get('version')}", ""]
    for turn in record["turns"]:
        lines += _markdown_turn(turn)
    lines += ["## Reproduce", ""]
    lines += [f"- **{label}:** {value}" for label, value in reproduce_rows(record)]
    if record["documents"]:  # a refused answer cites nothing: no empty heading
        lines += ["", "### Cited documents", ""]
    for doc_id, doc in record["documents"].items():
        lines.append(f"- `{doc_id}` — sha256 `{doc.get('sha256') or 'unknown (document no longer indexed)'}` — "
                     f"{doc.get('title') or '(untitled)'}")
    return "\n".join(lines).rstrip() + "\n"


def _markdown_turn(turn: dict[str, Any]) -> list[str]:
    lines = [f"## Question {turn['n']}: {turn['question']}", ""]
    if turn.get("resolved_question") and turn["resolved_question"] != turn["question"]:
        lines += [f"*Understood as:* {turn['resolved_question']}", ""]
    if turn["refused"]:
        lines += [f"**Refused:** {turn['answer']}", "", f"**Reason:** {turn.get('reason') or 'not given'}", ""]
        return lines
    lines += [turn["answer"], ""]
    if turn.get("reason"):
        lines += [f"*Note:* {turn['reason']}", ""]
    if turn["citations"]:
        lines += ["### Sources", ""]
    for citation in turn["citations"]:
        lines += [f"**[{citation['n']}]** {source_line(citation)}", ""]
        lines += ["> " + line if line else ">" for line in citation["quote"].split("\n")]
        lines.append("")
        if citation.get("translation"):
            lines += [f"*Machine translation:* {citation['translation']}", ""]
    return lines


# -- HTML -----------------------------------------------------------------------------


def to_html(record: dict[str, Any]) -> str:
    title = escape(heading(record))
    body = [f"<h1>{title}</h1>",
            f'<p class="meta">Exported {escape(record["exported_at"])} · index '
            f'{escape(str(record["index"].get("version")))}</p>']
    for turn in record["turns"]:
        body += _html_turn(turn)
    body += ['<h2 id="reproduce">Reproduce</h2>', "<table>"]
    body += [f"<tr><th>{escape(label)}</th><td>{escape(value)}</td></tr>" for label, value in reproduce_rows(record)]
    body.append("</table>")
    if record["documents"]:  # a refused answer cites nothing: no empty heading
        body += ["<h3>Cited documents</h3>", "<table>", "<tr><th>Source file</th><th>sha256</th><th>Title</th></tr>"]
        for doc_id, doc in record["documents"].items():
            body.append(f"<tr><td><code>{escape(doc_id)}</code></td>"
                        f"<td><code>{escape(doc.get('sha256') or 'unknown')}</code></td>"
                        f"<td>{escape(doc.get('title') or '(untitled)')}</td></tr>")
        body.append("</table>")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>{title}</title>\n<style>{CSS}</style>\n</head>\n<body>\n" + "\n".join(body) + "\n</body>\n</html>\n"
    )


def _html_turn(turn: dict[str, Any]) -> list[str]:
    n = turn["n"]
    out = [f'<h2 id="q{n}">Question {n}: {escape(turn["question"])}</h2>']
    if turn.get("resolved_question") and turn["resolved_question"] != turn["question"]:
        out.append(f'<p class="meta">Understood as: {escape(turn["resolved_question"])}</p>')
    if turn["refused"]:
        out.append(f'<div class="refused"><p><strong>Refused:</strong> {escape(turn["answer"])}</p>'
                   f'<p><strong>Reason:</strong> {escape(turn.get("reason") or "not given")}</p></div>')
        return out
    out.append(f'<p class="answer">{_answer_html(turn)}</p>')
    if turn.get("reason"):
        out.append(f'<p class="meta">Note: {escape(turn["reason"])}</p>')
    if turn["citations"]:
        out.append("<h3>Sources</h3>")
    for c in turn["citations"]:
        out.append(f'<div class="cite" id="q{n}-c{c["n"]}"><div class="src"><strong>[{c["n"]}]</strong> '
                   f'{escape(titled(c.get("title") or "(untitled)", c.get("section") or ""))} · '
                   f'{escape(c.get("date") or "undated")} · '
                   f'<code>{escape(c["doc_id"])}</code> <code>{escape(span(c))}</code></div>'
                   f"<blockquote>{escape(c['quote'])}</blockquote>")
        if c.get("translation"):
            out.append(f'<p class="translation">Machine translation: {escape(c["translation"])}</p>')
        out.append("</div>")
    return out


def _answer_html(turn: dict[str, Any]) -> str:
    """The escaped answer with each citation an in-page link, rendered from the turn's statements.

    Exports written before answers had statements (schema 1.0) link the [n] markers of their text.
    """
    n = turn["n"]
    numbers = {c["n"] for c in turn["citations"]}
    if not turn.get("statements"):
        return _linked(turn["answer"], n, numbers)

    def link(k: int) -> str:
        return f'<a href="#q{n}-c{k}">[{k}]</a>' if k in numbers else f"[{k}]"

    languages = {c["n"]: c.get("lang") or "" for c in turn["citations"]}
    return rendering.render([Statement.from_dict(s) for s in turn["statements"]], languages, escape=escape,
                            marker=link)


def _linked(answer: str, turn: int, numbers: set[int]) -> str:
    """The escaped answer with each [n] marker turned into an in-page link to its citation."""
    def link(match: re.Match[str]) -> str:
        k = int(match.group(1))
        return f'<a href="#q{turn}-c{k}">[{k}]</a>' if k in numbers else match.group(0)

    return MARKER.sub(link, escape(answer))
