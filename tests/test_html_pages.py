"""The HTML pages rendered from Jinja templates: markup in what they show is escaped, and the templates ship."""

from __future__ import annotations

import sys
from pathlib import Path

from rag.export.text import to_html
from rag.evaluation.metrics import summarize, summarize_by_kind
from rag.evaluation.report import render_report

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = "<img src=x onerror=alert(1)>"


def result(**fields) -> dict:
    record = {"id": "q1", "kind": "fact", "question": f"Who wrote {HOSTILE}?", "answerable": True,
              "must_include": [[HOSTILE]], "sources": ["a.txt"], "answer": f"Nobody {HOSTILE} [1]", "refused": False,
              "citations": [{"n": 1, "doc_id": "a.txt", "start": 0, "end": 6, "quote": HOSTILE, "title": HOSTILE,
                             "date": HOSTILE, "exact": True, "translation": HOSTILE}],
              "timings_ms": {"total": 20.0, "first_token": 18.0}}
    return {**record, **fields}


def page_of(*records: dict) -> str:
    summary = {"run": {"questions_file": HOSTILE, "model": HOSTILE, "bad_rows": [{"line": 1, "reason": HOSTILE}]},
               "overall": summarize(list(records)), "by_kind": summarize_by_kind(list(records))}
    return render_report(summary, list(records))


def test_markup_in_a_question_or_an_answer_is_shown_as_text_in_the_report():
    page = page_of(result(), result(id="q2", kind=HOSTILE, refused=True, reason=HOSTILE, error=HOSTILE),
                   result(id="q3", statements=[{"text": HOSTILE, "role": "quote", "citation": 1, "verified": True}]))
    assert "<img" not in page and "onerror=alert(1)&gt;" in page
    escaped = "&lt;img src=x onerror=alert(1)&gt;"
    assert f"Who wrote {escaped}?" in page  # the questions
    assert f"Nobody {escaped} <sup class='cite'>[1]</sup>" in page  # an answer's text, its marker still a link
    assert f"<div class='answer'>{escaped} <sup class='cite'>[1]</sup></div>" in page  # one built from statements
    assert f"reason: {escaped}" in page and f"error: {escaped}" in page
    assert f"<title>Evaluation report — {escaped}</title>" in page


def test_markup_in_an_exported_answer_and_its_sources_is_shown_as_text():
    citation = {"n": 1, "doc_id": HOSTILE, "start": 0, "end": 6, "quote": HOSTILE, "title": HOSTILE, "section": "",
                "date": HOSTILE, "translation": HOSTILE}
    turn = {"n": 1, "question": HOSTILE, "resolved_question": HOSTILE + "?", "refused": False,
            "answer": f"Nobody {HOSTILE} [1]", "reason": HOSTILE, "citations": [citation]}
    record = {"exported_at": HOSTILE, "schema_version": "1.1", "software": {"name": "rag", "version": "0"},
              "index": {"version": HOSTILE}, "settings": {"model": HOSTILE}, "turns": [turn],
              "documents": {HOSTILE: {"sha256": HOSTILE, "title": HOSTILE}}}
    page = to_html(record)
    escaped = "&lt;img src=x onerror=alert(1)&gt;"
    assert "<img" not in page
    for shown in (f"Question 1: {escaped}</h2>", f"Understood as: {escaped}?", f"Note: {escaped}",
                  f"<blockquote>{escaped}</blockquote>", f"Machine translation: {escaped}", f"Exported {escaped}",
                  f"<td><code>{escaped}</code></td><td><code>{escaped}</code></td><td>{escaped}</td>"):
        assert shown in page, shown
    assert f'<p class="answer">Nobody {escaped} <a href="#q1-c1">[1]</a></p>' in page


def test_the_templates_are_package_data():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["rag"]
    templates = sorted((ROOT / "rag" / "templates").iterdir())
    assert templates and all(any(t.match(f"rag/{p}") for p in patterns) for t in templates), patterns
