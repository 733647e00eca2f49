"""`rag eval`: reading question files, the files a run writes, resuming, comparing, the report.

The end-to-end test runs the real pipeline (the shared ``assistant``) on
questions written here about the bundled articles.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from rag.evaluation.evaluate import (
    Question, evaluate_file, load_questions, read_results, run_compare,
)
from rag.evaluation.metrics import summarize, summarize_by_kind
from rag.evaluation.report import render_report

SELF_REFERENCES = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?(?:https?:)?//|@import""",
                             re.IGNORECASE)


def write_lines(path: Path, lines: list[object]) -> Path:
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines),
                    encoding="utf-8")
    return path


# -- reading questions (fast) -------------------------------------------------------


def test_jsonl_bad_rows_are_reported_by_line_and_skipped(tmp_path):
    path = write_lines(tmp_path / "q.jsonl", [
        {"id": "a", "question": "Where?", "must_include": [["x", "y"], "z"], "sources": ["s.txt"], "kind": "fact"},
        "{not json",
        "",
        {"id": "b"},
        {"id": "c", "question": "Why?", "answerable": "maybe"},
        {"id": "a", "question": "Again?"},
        {"id": 7, "question": "Unanswerable?", "answerable": False, "reference": "None."},
    ])
    questions, bad = load_questions(path)
    assert [q.id for q in questions] == ["a", "7"]
    assert questions[0] == Question("a", "Where?", True, (("x", "y"), ("z",)), ("s.txt",), None, "fact")
    assert questions[1].answerable is False and questions[1].kind == "unlabelled"
    assert [(b.line, b.reason.split()[0]) for b in bad] == [(2, "not"), (4, "missing"), (5, "answerable"),
                                                            (6, "duplicate")]


def test_csv_lists_are_semicolon_separated_with_pipe_alternatives(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text(
        "id,question,answerable,must_include,sources,reference,kind\n"
        'c1,"Which city, exactly?",true,Chengdu|Chengtu;Sichuan,a.txt;b.txt,,fact\n'
        "c2,Who is the CEO of Tesla?,no,,,,unanswerable\n"
        "c3,Too,many,cells,here,x,y,z,w\n"
        "c4,,true,,,,fact\n",
        encoding="utf-8",
    )
    questions, bad = load_questions(path)
    assert questions == [
        Question("c1", "Which city, exactly?", True, (("Chengdu", "Chengtu"), ("Sichuan",)), ("a.txt", "b.txt"),
                 None, "fact"),
        Question("c2", "Who is the CEO of Tesla?", False, (), (), None, "unanswerable"),
    ]
    assert [b.line for b in bad] == [4, 5]


def test_a_line_cut_short_by_a_crash_is_dropped(tmp_path):
    path = tmp_path / "results.jsonl"
    path.write_text('{"id": "a"}\n{"id": "b", "ans', encoding="utf-8")
    assert read_results(path) == [{"id": "a"}]
    assert path.read_text(encoding="utf-8") == '{"id": "a"}\n'


# -- report and compare on hand-made results (fast) ----------------------------------


def hand_made(qid: str, passed_it: bool) -> dict:
    return {
        "id": qid, "kind": "fact <b>", "question": "Is <script>alert(1)</script> escaped?", "answerable": True,
        "must_include": [["yes"]], "sources": ["a.txt"], "answer": ("yes" if passed_it else "no") + " & done [1]",
        "refused": False, "retrieved": [{"doc_id": "a.txt", "chunk_id": "a.txt#0", "score": 1.0}],
        "citations": [{"n": 1, "doc_id": "a.txt", "chunk_id": "a.txt#0", "start": 0, "end": 8, "quote": "<i>yes</i>",
                       "title": "T", "date": None, "exact": True}],
        "timings_ms": {"retrieve": 5.0, "generate": 10.0, "total": 20.0, "first_token": 18.0},
    }


def test_report_is_self_contained_and_escaped():
    records = [hand_made("1", True), hand_made("2", False)]
    summary = {"run": {"questions_file": "q.jsonl", "bad_rows": [{"line": 3, "reason": "missing <id>"}]},
               "overall": summarize(records), "by_kind": summarize_by_kind(records)}
    page = render_report(summary, records)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;i&gt;yes&lt;/i&gt;" in page and "missing &lt;id&gt;" in page
    assert not SELF_REFERENCES.search(page)
    assert page.count("<svg") == 3
    assert "PASS" in page and "FAIL" in page


def test_compare_writes_flips_and_deltas(tmp_path, capsys):
    run_a, run_b = tmp_path / "a", tmp_path / "b"
    for run, flags in ((run_a, (True, False)), (run_b, (False, True))):
        run.mkdir()
        write_lines(run / "results.jsonl", [hand_made(str(i), ok) for i, ok in enumerate(flags)])
    assert run_compare(run_a, run_b) == 0
    diff = json.loads((run_b / "compare.json").read_text(encoding="utf-8"))
    assert (diff["fixed"], diff["broken"]) == (["1"], ["0"])
    assert diff["metrics"]["overall.accuracy"] == {"a": 0.5, "b": 0.5, "delta": 0.0}
    assert "broken (pass -> fail): 0" in capsys.readouterr().out
    assert run_compare(run_a, run_b, out=tmp_path / "elsewhere.json") == 0
    assert (tmp_path / "elsewhere.json").exists()


# -- the real pipeline --------------------------------------------------------------

OWN_QUESTIONS = [
    {"id": "e1", "kind": "fact", "question": "Which prefecture's Development and Reform Commission ordered the "
     "cryptocurrency mining facilities to shut down?", "must_include": [["Changji"]],
     "sources": ["003_dba489deda596f31.txt"]},
    {"id": "e2", "kind": "fact", "question": "Which payment company did the People's Bank of China call together "
     "with the major banks?", "must_include": [["Alipay"]], "sources": ["004_47c41b848a0edef2.txt"],
     "reference": "The People's Bank of China called the major banks and Alipay."},
    {"id": "e3", "kind": "unanswerable", "question": "What is the population of Reykjavik?", "answerable": False},
]


def test_a_run_writes_results_summary_report_and_resumes(assistant, tmp_path, capsys):
    out = tmp_path / "run"
    jsonl = write_lines(tmp_path / "own.jsonl", [OWN_QUESTIONS[0], '{"id": "broken"', *OWN_QUESTIONS[1:]])
    summary = evaluate_file(assistant, jsonl, out, progress=False)
    assert "own.jsonl:2: skipped" in capsys.readouterr().err

    results = read_results(out / "results.jsonl")
    assert [r["id"] for r in results] == ["e1", "e2", "e3"]
    for r in results:
        assert {"question", "answer", "refused", "citations", "retrieved", "timings_ms", "passed"} <= set(r)
        assert {"retrieve", "generate", "total", "first_token"} <= set(r["timings_ms"])
        assert 0 < r["timings_ms"]["first_token"] <= r["timings_ms"]["wall"]
        for c in r["citations"]:
            document = assistant.document(c["doc_id"])
            assert c["exact"] is (document.text[c["start"]:c["end"]] == c["quote"])
    assert len(results[0]["retrieved"]) >= 5 and len(results[0]["retrieved_deep"]) >= 10
    assert results[1]["similarity"] is not None and -1 <= results[1]["similarity"] <= 1
    assert summary is not None and summary["overall"]["questions"] == 3
    assert set(summary["by_kind"]) == {"fact", "unanswerable"}
    assert "hit@10" in summary["overall"] and summary["run"]["bad_rows"][0]["line"] == 2
    assert json.loads((out / "summary.json").read_text(encoding="utf-8")) == summary
    page = (out / "report.html").read_text(encoding="utf-8")
    assert all(q["id"] in page for q in OWN_QUESTIONS) and not SELF_REFERENCES.search(page)

    # The same questions again as CSV, plus one new one: only the new one runs.
    before = (out / "results.jsonl").read_text(encoding="utf-8")
    csv_path = tmp_path / "own.csv"
    csv_path.write_text(
        "id,question,answerable,must_include,sources,kind\n"
        + "".join(f'{q["id"]},"{q["question"]}",,,,{q["kind"]}\n' for q in OWN_QUESTIONS)
        + 'e4,"How many kilograms of mining machines were being cleared for shipment overseas?",true,'
          "\"3000|3 000|3,000\",004_47c41b848a0edef2.txt,fact\n",
        encoding="utf-8",
    )
    summary = evaluate_file(assistant, csv_path, out, progress=False)
    after = (out / "results.jsonl").read_text(encoding="utf-8")
    assert after.startswith(before) and len(after.splitlines()) == 4
    assert "resuming, 3 of 4" in capsys.readouterr().err
    new = read_results(out / "results.jsonl")[-1]
    assert new["id"] == "e4" and new["must_include"] == [["3000", "3 000", "3,000"]]
    assert summary is not None and summary["overall"]["questions"] == 4


def test_report_renders_answers_from_their_statements_escaped():
    record = {**hand_made("1", True), "answer": "ignored [1]",
              "statements": [{"text": "yes <b>", "role": "lead", "citation": 1, "verified": True},
                             {"text": "<i>yes</i>", "role": "quote", "citation": 1, "verified": True}]}
    summary = {"run": {}, "overall": summarize([record]), "by_kind": summarize_by_kind([record])}
    page = render_report(summary, [record])
    assert "yes &lt;b&gt; <sup class='cite'>[1]</sup> &lt;i&gt;yes&lt;/i&gt; <sup class='cite'>[1]</sup>" in page
    assert "ignored" not in page and "self-check" in page


def test_evaluate_does_not_import_the_cli():
    import ast
    import inspect

    import rag.evaluation.evaluate

    tree = ast.parse(inspect.getsource(rag.evaluation.evaluate))
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert "rag.cli" not in imported and "importlib" not in imported
