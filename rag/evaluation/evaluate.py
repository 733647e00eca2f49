"""`rag eval`: run the real pipeline on a file of questions and measure it.

``rag eval QUESTIONS --out DIR`` writes DIR/results.jsonl (one line per
question, appended and flushed as each finishes, so an interrupted run resumes
where it stopped), DIR/summary.json (``rag.evaluation.metrics``) and DIR/report.html
(``rag.evaluation.report``). ``rag eval --compare RUN_A RUN_B`` shows what changed
between two runs.
"""

from __future__ import annotations

import csv
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from rag.core.config import Settings
from rag.core.errors import BadQuestion
from rag.core.records import Answer
from rag.evaluation.metrics import (
    SUPPORT_JUDGE, Record, answer_rank, answer_text, compare, gold_rank, is_correct, must_include_hits, passed,
    summarize, summarize_by_kind,
)
from rag.evaluation.report import render_report

RESULTS, SUMMARY, REPORT, COMPARE = "results.jsonl", "summary.json", "report.html", "compare.json"
RANKING_DEPTH = 10  # retrieve this deep (beside the answer's own top-k) for hit@10 / recall@10
TRUE_WORDS, FALSE_WORDS = {"true", "yes", "1", "y"}, {"false", "no", "0", "n"}


# -- questions ----------------------------------------------------------------------


@dataclass(frozen=True)
class Question:
    """One evaluation question as read from the questions file."""

    id: str
    question: str
    answerable: bool = True
    must_include: tuple[tuple[str, ...], ...] = ()  # every group must match; any string of a group counts
    sources: tuple[str, ...] = ()  # gold doc ids
    reference: str | None = None
    kind: str = "unlabelled"


@dataclass(frozen=True)
class BadRow:
    """A row that could not be read; reported and skipped so the run goes on."""

    line: int
    reason: str


def load_questions(path: Path) -> tuple[list[Question], list[BadRow]]:
    """Questions from JSONL or CSV (by extension), with the rows that were skipped and why."""
    rows = _csv_rows(path) if path.suffix.lower() == ".csv" else _jsonl_rows(path)
    questions: list[Question] = []
    bad: list[BadRow] = []
    seen: set[str] = set()
    for line, row in rows:
        try:
            if isinstance(row, Exception):
                raise ValueError(str(row))
            question = _question(row)
            if question.id in seen:
                raise ValueError(f"duplicate id {question.id!r}")
        except (ValueError, TypeError) as exc:
            bad.append(BadRow(line, str(exc)))
            continue
        seen.add(question.id)
        questions.append(question)
    return questions, bad


def _jsonl_rows(path: Path) -> Iterator[tuple[int, dict | Exception]]:
    with path.open(encoding="utf-8-sig") as f:
        for line_no, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                yield line_no, json.loads(line)
            except json.JSONDecodeError as exc:
                yield line_no, ValueError(f"not valid JSON ({exc.msg})")


def _csv_rows(path: Path) -> Iterator[tuple[int, dict | Exception]]:
    """CSV rows as question dicts: list columns are ``;``-separated, must_include alternatives ``|``."""
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        for row in reader:
            if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
                continue
            if None in row:
                yield reader.line_num, ValueError("more cells than columns (quote cells that contain commas)")
                continue
            parsed: dict[str, Any] = {k.strip(): (v or "").strip() for k, v in row.items() if k}
            parsed["must_include"] = [[alt.strip() for alt in group.split("|") if alt.strip()]
                                      for group in parsed.get("must_include", "").split(";") if group.strip()]
            parsed["sources"] = [s.strip() for s in parsed.get("sources", "").split(";") if s.strip()]
            for optional in ("answerable", "reference", "kind"):
                if parsed.get(optional) == "":
                    del parsed[optional]
            yield reader.line_num, parsed


def _question(row: object) -> Question:
    if not isinstance(row, dict):
        raise ValueError("a row must be an object with id and question")
    qid = row.get("id")
    if isinstance(qid, (int, float)) and not isinstance(qid, bool):
        qid = str(qid)
    if not isinstance(qid, str) or not qid.strip():
        raise ValueError("missing id")
    text = row.get("question")
    if not isinstance(text, str) or not any(ch.isalnum() for ch in text):
        raise ValueError("missing question")
    return Question(
        id=qid.strip(), question=text.strip(), answerable=_boolean(row.get("answerable", True)),
        must_include=_groups(row.get("must_include") or []), sources=_strings(row.get("sources") or [], "sources"),
        reference=_optional_text(row.get("reference"), "reference"), kind=_optional_text(row.get("kind"), "kind") or "unlabelled",
    )


def _boolean(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in TRUE_WORDS | FALSE_WORDS:
        return value.strip().lower() in TRUE_WORDS
    raise ValueError(f"answerable must be true or false, not {value!r}")


def _groups(value: object) -> tuple[tuple[str, ...], ...]:
    """A list of groups; a bare string in the list is a group of one."""
    if not isinstance(value, list):
        raise ValueError("must_include must be a list of groups")
    groups = tuple(_strings([g] if isinstance(g, str) else g, "must_include") for g in value)
    if any(not group for group in groups):
        raise ValueError("must_include has an empty group")
    return groups


def _strings(value: object, name: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{name} must be a list of strings")
    return tuple(v for v in value if v.strip())


def _optional_text(value: object, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{name} must be text")
    return value.strip() or None


# -- running ------------------------------------------------------------------------


@dataclass
class RunFiles:
    """The files of one run folder."""

    dir: Path
    results: Path = field(init=False)
    summary: Path = field(init=False)
    report: Path = field(init=False)

    def __post_init__(self) -> None:
        self.results, self.summary, self.report = (self.dir / RESULTS, self.dir / SUMMARY, self.dir / REPORT)


def read_results(path: Path) -> list[Record]:
    """The records of a results file; a line cut short by a crash is dropped (and the file repaired)."""
    if not path.exists():
        return []
    records, broken = [], 0
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            broken += 1
    if broken:
        print(f"rag eval: dropped {broken} unreadable line(s) from {path}; those questions run again", file=sys.stderr)
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return records


def evaluate_one(assistant: Any, question: Question) -> Record:
    """Ask one question through ``stream`` (timing the first piece) and grade the answer."""
    started = time.perf_counter()
    first_piece: float | None = None
    answer: Answer | None = None
    error = ""
    try:
        for event in assistant.stream(question.question):
            if isinstance(event, Answer):
                answer = event
            elif first_piece is None:
                first_piece = (time.perf_counter() - started) * 1000
        wall = (time.perf_counter() - started) * 1000
        deep = assistant.search(question.question, k=max(RANKING_DEPTH, assistant.settings.top_k))
    except BadQuestion as exc:
        error, deep, wall = str(exc), [], (time.perf_counter() - started) * 1000
    result = (answer or Answer(question=question.question, answer="", refused=True, reason=error)).to_dict()
    # total/retrieve/generate are the pipeline's own; first_token and wall are measured here around stream().
    result["timings_ms"] = {"retrieve": 0.0, "generate": 0.0, "total": round(wall, 1), **result["timings_ms"],
                            "first_token": round(first_piece if first_piece is not None else wall, 1),
                            "wall": round(wall, 1)}
    record: Record = {
        "id": question.id, "kind": question.kind, "answerable": question.answerable,
        "must_include": [list(g) for g in question.must_include], "sources": list(question.sources),
        "reference": question.reference, **result, "top_k": assistant.settings.top_k,
        "retrieved_deep": [{"doc_id": h.chunk.doc_id, "chunk_id": h.chunk.chunk_id, "score": round(h.score, 6)}
                           for h in deep],
    }
    if error:
        record["error"] = error
    for citation in record["citations"]:
        document = assistant.document(citation["doc_id"])
        citation["exact"] = document is not None and document.text[citation["start"]:citation["end"]] == citation["quote"]
    record["similarity"] = _similarity(assistant, answer_text(record), question.reference) if question.reference else None
    record["must_include_hits"] = must_include_hits(record["answer"], question.must_include)
    record["correct"] = is_correct(record)
    record["gold_rank"] = gold_rank(record) if question.sources else None
    record["answer_rank"] = answer_rank([f"{h.chunk.text}\n{h.chunk.text_en or ''}" for h in deep], question.must_include)
    record["passed"] = passed(record)
    return record


def _similarity(assistant: Any, answer: str, reference: str) -> float:
    """Cosine of the answer's (words, without markers) and the reference's embeddings (the assistant's own encoder)."""
    vectors = np.asarray(assistant.index.encoder.encoder.encode([answer, reference]), dtype=np.float64)
    a, b = vectors
    denominator = float(np.linalg.norm(a) * np.linalg.norm(b))
    return round(float(a @ b) / denominator, 4) if denominator else 0.0


def run_questions(assistant: Any, questions: list[Question], out: Path, progress: bool = True,
                  on_question: Callable[[int, int], None] | None = None) -> list[Record]:
    """Evaluate every question not yet in ``out``/results.jsonl; return all records of ``questions``.

    ``on_question(done, total)`` is called after each answered question (the chat's progress bar).
    """
    files = RunFiles(out)
    out.mkdir(parents=True, exist_ok=True)
    done = {r["id"]: r for r in read_results(files.results)}
    todo = [q for q in questions if q.id not in done]
    if done and todo:
        print(f"rag eval: resuming, {len(questions) - len(todo)} of {len(questions)} already in {files.results}",
              file=sys.stderr)
    if todo:  # load the models now, so the first question's latency is not the loading time
        _ = (assistant.generator, assistant.index.encoder)
    from tqdm import tqdm

    bar = tqdm(total=len(todo), unit="q", desc="evaluating", file=sys.stderr, disable=None if progress else True)
    with files.results.open("a", encoding="utf-8") as sink:
        for number, question in enumerate(todo, start=1):
            bar.set_postfix_str(question.id[-20:])
            record = evaluate_one(assistant, question)
            sink.write(json.dumps(record, ensure_ascii=False) + "\n")
            sink.flush()
            os.fsync(sink.fileno())
            done[question.id] = record
            bar.update(1)
            if on_question is not None:
                on_question(number, len(todo))
    bar.close()
    return [done[q.id] for q in questions]


def run_settings(settings: Settings, assistant: Any, questions_file: Path, limit: int | None) -> dict[str, Any]:
    """What produced a run, so two runs can be told apart."""
    return {
        "questions_file": str(questions_file), "limit": limit,
        "generator": settings.generator, "model": settings.model, "top_k": settings.top_k,
        "temperature": settings.temperature, "strict": settings.strict, "answer_mode": settings.answer_mode,
        "embedding_model": settings.embedding_model,
        "index_version": assistant.index.version,
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def write_outputs(files: RunFiles, records: list[Record], run: dict[str, Any], bad_rows: list[BadRow]) -> dict:
    """summary.json and report.html for ``records``."""
    backends = sorted({f"{r.get('backend')}:{r.get('model')}" for r in records if r.get("backend")})
    summary = {
        "run": {**run, "answered_by": backends, "bad_rows": [vars(b) for b in bad_rows], "support_judge": SUPPORT_JUDGE},
        "overall": summarize(records),
        "by_kind": summarize_by_kind(records),
    }
    files.summary.write_text(json.dumps(summary, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    files.report.write_text(render_report(summary, records), encoding="utf-8")
    return summary


def evaluate_file(assistant: Any, questions_file: Path, out: Path, limit: int | None = None,
                  progress: bool = True, on_question: Callable[[int, int], None] | None = None,
                  shown_as: str | None = None) -> dict[str, Any] | None:
    """The whole run for one questions file: read, answer what is not done yet, write summary and report.

    Bad rows are reported on stderr (one line each) and skipped; None when no question is usable.
    ``shown_as`` names the file in the summary and report instead of its path (an upload's
    server-side temporary path means nothing to the person who uploaded it).
    """
    questions, bad_rows = load_questions(questions_file)
    for bad in bad_rows:
        print(f"rag eval: {questions_file}:{bad.line}: skipped: {bad.reason}", file=sys.stderr)
    if limit is not None:
        questions = questions[: max(limit, 0)]
    if not questions:
        print(f"rag eval: no usable questions in {questions_file}", file=sys.stderr)
        return None
    records = run_questions(assistant, questions, out, progress=progress, on_question=on_question)
    run_info = run_settings(assistant.settings, assistant, Path(shown_as) if shown_as else questions_file, limit)
    return write_outputs(RunFiles(out), records, run_info, bad_rows)


def mismatched_settings(files: RunFiles, settings: Settings) -> str:
    """Resuming must not mix answers made with another top-k or model."""
    earlier = read_results(files.results)
    if not earlier:
        return ""
    last = earlier[-1]
    differences = []
    if last.get("top_k") not in (None, settings.top_k):
        differences.append(f"top_k {last['top_k']} vs {settings.top_k}")
    if settings.generator == "none" and last.get("backend") not in (None, "none"):
        differences.append(f"backend {last['backend']} vs none")
    elif settings.generator != "none" and last.get("backend") == "none":
        differences.append(f"backend none vs {settings.generator}")
    return ", ".join(differences)


def format_summary(metrics: dict[str, Any]) -> str:
    """The headline metrics as aligned text lines."""
    lines = []
    for key, value in metrics.items():
        if value is None:
            continue
        shown = f"{value:.3f}" if isinstance(value, float) and not key.endswith(("p50", "p95")) else str(value)
        lines.append(f"  {key:22} {shown}")
    return "\n".join(lines)


def run_compare(run_a: Path, run_b: Path, out: Path | None = None) -> int:
    """Print and write what changed from run A to run B."""
    records_a, records_b = read_results(run_a / RESULTS), read_results(run_b / RESULTS)
    for path, records in ((run_a, records_a), (run_b, records_b)):
        if not records:
            print(f"rag eval: no results in {path / RESULTS}", file=sys.stderr)
            return 2
    diff = {"a": str(run_a), "b": str(run_b), **compare(records_a, records_b)}
    target = out or run_b / COMPARE
    if target.suffix.lower() != ".json":
        target = target / COMPARE
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(diff, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"A = {run_a}\nB = {run_b}")
    print(f"fixed (fail -> pass): {', '.join(diff['fixed']) or '-'}")
    print(f"broken (pass -> fail): {', '.join(diff['broken']) or '-'}")
    if diff["only_in_a"] or diff["only_in_b"]:
        print(f"only in A: {len(diff['only_in_a'])}, only in B: {len(diff['only_in_b'])}")
    print(f"{'metric':36} {'A':>10} {'B':>10} {'delta':>10}")
    for name, move in diff["metrics"].items():
        if move["a"] is None and move["b"] is None:
            continue
        print(f"{name:36} {_cell(move['a']):>10} {_cell(move['b']):>10} {_cell(move['delta'], signed=True):>10}")
    print(f"wrote {target}")
    return 0


def _cell(value: object, signed: bool = False) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:+.3f}" if signed else f"{value:.3f}"
    return f"{value:+d}" if signed and isinstance(value, int) else str(value)
