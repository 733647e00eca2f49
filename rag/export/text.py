"""Render an export record as Markdown or as one self-contained HTML file.

Both read only the record built by ``rag.export.write.build_record``. Quotes are
written out verbatim (in HTML escaped, shown with their line breaks), so a
reader can compare them with the source character for character. The HTML is
the autoescaped Jinja template ``rag/templates/export.html.j2`` and loads
nothing: inline CSS, in-page links only, and a Content-Security-Policy that
forbids fetching anything should a later edit add a reference.
"""

from __future__ import annotations

import re
from typing import Any

from jinja2 import Environment, PackageLoader
from markupsafe import Markup, escape

from rag.core import statements as rendering
from rag.core.records import Statement
from rag.core.statements import titled

MARKER = re.compile(r"\[(\d+)\]")


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


PAGE = Environment(loader=PackageLoader("rag", "templates"), autoescape=True, trim_blocks=True, lstrip_blocks=True,
                   keep_trailing_newline=True)


def to_html(record: dict[str, Any]) -> str:
    """The page of ``rag/templates/export.html.j2``: every text escaped, each answer's markers in-page links."""
    return PAGE.get_template("export.html.j2").render(
        title=heading(record), exported_at=record["exported_at"], version=str(record["index"].get("version")),
        turns=record["turns"], answers=[_answer_html(t) if not t["refused"] else "" for t in record["turns"]],
        reproduce=reproduce_rows(record), documents=record["documents"], titled=titled, span=span,
    )


def _answer_html(turn: dict[str, Any]) -> Markup:
    """The escaped answer with each citation an in-page link, rendered from the turn's statements.

    Exports written before answers had statements (schema 1.0) link the [n] markers of their text.
    """
    n = turn["n"]
    numbers = {c["n"] for c in turn["citations"]}
    if not turn.get("statements"):
        return Markup(_linked(turn["answer"], n, numbers))

    def link(k: int) -> str:
        return f'<a href="#q{n}-c{k}">[{k}]</a>' if k in numbers else f"[{k}]"

    languages = {c["n"]: c.get("lang") or "" for c in turn["citations"]}
    return Markup(rendering.render([Statement.from_dict(s) for s in turn["statements"]], languages,
                                   escape=lambda text: str(escape(text)), marker=link))


def _linked(answer: str, turn: int, numbers: set[int]) -> str:
    """The escaped answer with each [n] marker turned into an in-page link to its citation."""
    def link(match: re.Match[str]) -> str:
        k = int(match.group(1))
        return f'<a href="#q{turn}-c{k}">[{k}]</a>' if k in numbers else match.group(0)

    return MARKER.sub(link, str(escape(answer)))
