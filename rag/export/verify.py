"""Re-check the quotes of a JSON export against the library as it is now.

An export claims ``document.text[start:end] == quote``. Articles get edited,
renamed or removed, so the claim is checked again by reading each cited file
exactly the way ingestion reads it (``read_document``), never through the
index, which may itself be stale.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.core.records import Document
from rag.ingest.read import IngestError, read_document

if TYPE_CHECKING:
    from rag.assistant.pipeline import Assistant

SUPPORTED_SCHEMA_MAJOR = "1"


def verify_export(data: dict[str, Any], assistant_or_library: "Assistant | Path | str") -> list[str]:
    """One line per quote that no longer matches its source (empty when every quote still holds)."""
    library = _library(assistant_or_library)
    problems = _shape_problems(data)
    if problems:
        return problems
    documents: dict[str, Document | str] = {}  # doc_id -> document, or why it cannot be read
    for turn in data["turns"]:
        for citation in turn["citations"]:
            where = f"turn {turn.get('n', '?')} [{citation.get('n', '?')}] {citation.get('doc_id', '?')}"
            problem = _check_citation(citation, library, documents)
            if problem:
                problems.append(f"{where}: {problem}")
    return problems


def _library(assistant_or_library: "Assistant | Path | str") -> Path:
    if isinstance(assistant_or_library, (str, Path)):
        return Path(assistant_or_library)
    return Path(assistant_or_library.index.library())


def _shape_problems(data: object) -> list[str]:
    """Problems that stop the check before any quote is read: not an export, or an unknown schema."""
    if not isinstance(data, dict):
        return ["not an export: the JSON is not an object"]
    version = str(data.get("schema_version", ""))
    if version.split(".")[0] != SUPPORTED_SCHEMA_MAJOR:
        return [f"unsupported schema_version {version or '(missing)'!s} (this version reads {SUPPORTED_SCHEMA_MAJOR}.x)"]
    turns = data.get("turns")
    if not isinstance(turns, list) or not all(isinstance(t, dict) and isinstance(t.get("citations"), list) for t in turns):
        return ["not an export: 'turns' must be a list of objects with a 'citations' list"]
    return []


def _check_citation(citation: dict[str, Any], library: Path, documents: dict[str, Document | str]) -> str | None:
    doc_id, quote = citation.get("doc_id"), citation.get("quote")
    start, end = citation.get("start"), citation.get("end")
    if not isinstance(doc_id, str) or not isinstance(quote, str) or not isinstance(start, int) or not isinstance(end, int):
        return "malformed citation (needs doc_id, quote, start, end)"
    if doc_id not in documents:
        documents[doc_id] = _read(library, doc_id)
    doc = documents[doc_id]
    if isinstance(doc, str):
        return doc
    if doc.text[start:end] == quote:
        return None
    moved = doc.text.find(quote)
    if moved >= 0:
        return f"quote moved: now at [{moved}:{moved + len(quote)}], not [{start}:{end}]"
    current = " ".join(doc.text[start:end].split())
    current = current if len(current) <= 80 else current[:77] + "..."
    return f"quote no longer matches the source at [{start}:{end}] (the text there is now: \"{current}\")"


def _read(library: Path, doc_id: str) -> Document | str:
    """The document as ingestion would read it now, or the reason it cannot be read."""
    root = library.resolve()
    path = (root / doc_id).resolve()
    if root != path and root not in path.parents:
        return "doc_id points outside the library"
    if not path.is_file():
        return f"source file is gone from {library}"
    try:
        return read_document(path, doc_id)
    except IngestError as exc:
        return f"source file can no longer be read: {exc}"
