"""Export cited answers (one, or a whole conversation) and re-check exported quotes later.

Every format is rendered from one plain record, the JSON export (see
docs/export-schema.md), so Markdown, HTML, JSON and PDF always say the same
thing: the questions, the answers (their statements, and the text with [n] markers rendered from them), each citation's
exact passage and span, and what is needed to reproduce the answer (models,
index version, settings, each cited document's sha256).

``rag verify EXPORT.json`` lives here too, because it reads that record.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.assistant.check import CheckResult, write_check
from rag.core.config import Settings
from rag.core.records import Answer
from rag.export.text import to_html, to_markdown
from rag.export.verify import verify_export

if TYPE_CHECKING:
    from rag.assistant.pipeline import Assistant

SCHEMA_VERSION = "1.1"  # 1.1: turns[].statements
FORMATS = ("md", "html", "json", "pdf")
CHECK_FORMATS = ("md", "json")  # a check is a list of verdicts: readable text or the record
SUFFIX_FORMAT = {".md": "md", ".markdown": "md", ".html": "html", ".htm": "html", ".json": "json", ".pdf": "pdf"}
NOT_RECORDED = {"api_key", "home", "corpus_dir", "index_dir"}  # a secret, and paths recorded under "index"

__all__ = ["CHECK_FORMATS", "FORMATS", "SCHEMA_VERSION", "build_record", "export_answers",
           "export_check", "export_check_to_file", "export_to_file", "render", "verify_export"]


def build_record(answers: list[Answer], assistant: "Assistant", now: datetime | None = None) -> dict[str, Any]:
    """The export as plain data: the JSON format, and the source every other format is drawn from."""
    if not answers:
        raise ValueError("nothing to export: no answers")
    info = assistant.info()
    settings = assistant.settings
    documents: dict[str, dict[str, Any]] = {}
    turns = []
    for number, answer in enumerate(answers, start=1):
        for citation in answer.citations:
            if citation.doc_id not in documents:
                documents[citation.doc_id] = _document_entry(assistant, citation.doc_id, citation.title,
                                                             citation.date, citation.lang)
        turns.append(_turn(number, answer, documents))
    exported = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return {
        "schema_version": SCHEMA_VERSION,
        "exported_at": exported.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "software": {"name": "cited-rag", "version": _version()},
        "index": {
            "version": info.get("index_version", ""),
            "embedding_model": info.get("embedding_model", settings.embedding_model),
            "library": info.get("library", str(settings.library)),
            "path": info.get("index", str(settings.index)),
            "documents": info.get("documents"),
            "chunks": info.get("chunks"),
        },
        "settings": _settings(settings),
        "turns": turns,
        "documents": documents,
    }


def _turn(number: int, answer: Answer, documents: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        "n": number,
        "question": answer.question,
        "resolved_question": answer.resolved_question or answer.question,
        "answer": answer.answer,
        "statements": [s.to_dict() for s in answer.statements],
        "refused": answer.refused,
        "reason": answer.reason,
        "model": answer.model,
        "backend": answer.backend,
        "index_version": answer.index_version,
        "citations": [
            {
                "n": c.n,
                "doc_id": c.doc_id,
                "chunk_id": c.chunk_id,
                "title": documents[c.doc_id]["title"] or c.title,
                "section": c.section,
                "date": c.date,
                "lang": c.lang,
                "start": c.start,
                "end": c.end,
                "quote": c.quote,
                "translation": c.translation,
                "support": round(float(c.support), 4),
                "sha256": documents[c.doc_id]["sha256"],
            }
            for c in answer.citations
        ],
        "retrieved": [
            {"doc_id": h.chunk.doc_id, "chunk_id": h.chunk.chunk_id, "start": h.chunk.start, "end": h.chunk.end,
             "score": round(h.score, 6)}
            for h in answer.retrieved
        ],
        "timings_ms": {k: round(v, 1) for k, v in answer.timings_ms.items()},
    }


def _document_entry(assistant: "Assistant", doc_id: str, title: str, date: str | None, lang: str) -> dict[str, Any]:
    """Title and sha256 as indexed; the citation's own fields if the document has gone since."""
    doc = assistant.document(doc_id)
    if doc is None:
        return {"title": title, "date": date, "lang": lang, "sha256": None}
    return {"title": doc.title or title, "date": doc.date, "lang": doc.lang, "sha256": doc.sha256}


def _settings(settings: Settings) -> dict[str, Any]:
    """Every setting that shapes an answer (the server address only when a server answered)."""
    skip = NOT_RECORDED | ({"base_url"} if settings.generator != "openai" else set())
    return {f.name: _plain(getattr(settings, f.name)) for f in dataclasses.fields(settings) if f.name not in skip}


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("cited-rag")
    except PackageNotFoundError:
        return "unknown"  # running from a source tree that was not pip-installed


def _plain(value: object) -> object:
    return value if isinstance(value, (str, int, float, bool)) or value is None else str(value)


# -- writing files --------------------------------------------------------------------


def render(record: dict[str, Any], fmt: str) -> bytes:
    """One export record in one format, as the bytes of the file."""
    if fmt == "json":
        return (json.dumps(record, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    if fmt == "md":
        return to_markdown(record).encode("utf-8")
    if fmt == "html":
        return to_html(record).encode("utf-8")
    if fmt == "pdf":
        from rag.export.pdf import to_pdf

        return to_pdf(record)
    raise ValueError(f"unknown export format '{fmt}' (use one of {', '.join(FORMATS)})")


def format_of(path: Path) -> str:
    fmt = SUFFIX_FORMAT.get(Path(path).suffix.lower())
    if fmt is None:
        raise ValueError(f"cannot tell the export format of '{path}' (end it in .md, .html, .json or .pdf)")
    return fmt


def export_answers(answers: list[Answer], path: Path, assistant: "Assistant") -> Path:
    """Write ``answers`` (one answer, or a conversation in order) to ``path``; the suffix picks the format."""
    path = Path(path)
    data = render(build_record(list(answers), assistant), format_of(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name("." + path.name + ".part")
    tmp.write_bytes(data)  # written whole, then renamed: a reader never sees half a file
    tmp.replace(path)
    return path


def export_to_file(answers: list[Answer], fmt: str, assistant: "Assistant", directory: Path) -> Path:
    """A download file for the chat: a fresh, timestamped name in ``directory``."""
    fmt = fmt.lower().lstrip(".")
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format '{fmt}' (use one of {', '.join(FORMATS)})")
    kind = "answer" if len(answers) == 1 else "conversation"
    return export_answers(answers, _fresh_path(directory, kind, fmt), assistant)


def export_check(text: str, results: list["CheckResult"], path: Path, assistant: "Assistant | None" = None) -> Path:
    """Write a `rag check` result to ``path`` (.md or .json, by suffix), whole and then renamed.

    The content is ``rag.assistant.check.write_check``'s: every quote with its file (relative to the
    library) and span, so an exported check can be re-read against the documents.
    """
    path = Path(path)
    fmt = SUFFIX_FORMAT.get(path.suffix.lower())
    if fmt not in CHECK_FORMATS:
        raise ValueError(f"cannot export a check to {path.name}: use .md or .json")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name("." + path.stem + ".part" + path.suffix)  # write_check picks the format by suffix
    write_check(tmp, text, list(results), assistant)
    tmp.replace(path)
    return path


def export_check_to_file(text: str, results: list["CheckResult"], fmt: str, assistant: "Assistant | None",
                         directory: Path) -> Path:
    """A download file of a check for the chat: a fresh, timestamped name in ``directory``."""
    fmt = fmt.lower().lstrip(".") if isinstance(fmt, str) else ""
    if fmt not in CHECK_FORMATS:
        raise ValueError(f"unknown check export format '{fmt}' (use one of {', '.join(CHECK_FORMATS)})")
    if not results:
        raise ValueError("nothing to export: check a text first")
    return export_check(text, results, _fresh_path(directory, "check", fmt), assistant)


def _fresh_path(directory: Path, kind: str, fmt: str) -> Path:
    """``directory/KIND-STAMP.FMT``, numbered when that name is taken."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    path = directory / f"{kind}-{stamp}.{fmt}"
    for n in range(2, 1000):
        if not path.exists():
            break
        path = directory / f"{kind}-{stamp}-{n}.{fmt}"
    return path
