"""Plain records that flow between the pipeline steps.

Every offset is a character offset into ``Document.text``, the document's
original text as read from its file, so a citation can always be checked by
slicing: ``document.text[start:end] == quote``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Document:
    """One source file as ingested."""

    doc_id: str  # path relative to the corpus folder, with forward slashes
    sha256: str  # of the file's bytes; identical files are ingested once
    title: str
    date: str | None  # as written in the article, e.g. "2021-05-26" or "2021-12"
    lang: str  # ISO 639-1 code, e.g. "en", "nl"
    text: str  # the extracted text; every offset points into this
    # The structure extraction found (paragraphs, headings, code, rows); not stored, re-read from the file.
    blocks: tuple = field(default=(), compare=False, repr=False)


@dataclass(frozen=True)
class Chunk:
    """A contiguous span of a document, the unit that is embedded and retrieved."""

    chunk_id: str
    doc_id: str
    start: int
    end: int
    text: str  # == Document.text[start:end]
    text_en: str | None = None  # machine translation for non-English chunks
    section: str = ""  # the headings above the chunk, "Chapter › Section"


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with the scores that ranked it."""

    chunk: Chunk
    score: float  # fused rank score, higher is better
    dense: float | None = None  # cosine similarity of question and chunk, if ranked by vectors
    lexical: float | None = None  # BM25 score, if matched by words
    title: str = ""
    date: str | None = None
    lang: str = "en"

    def to_dict(self) -> dict[str, Any]:
        return {
            "doc_id": self.chunk.doc_id,
            "chunk_id": self.chunk.chunk_id,
            "score": round(self.score, 6),
            "dense": None if self.dense is None else round(self.dense, 6),
            "lexical": None if self.lexical is None else round(self.lexical, 6),
            "start": self.chunk.start,
            "end": self.chunk.end,
            "title": self.title,
            "date": self.date,
            "text": self.chunk.text,
        }


@dataclass(frozen=True)
class Citation:
    """The exact passage that supports one or more sentences of an answer."""

    n: int  # the number shown as [n] in the answer
    doc_id: str
    chunk_id: str
    start: int
    end: int
    quote: str  # == Document.text[start:end]
    title: str = ""
    date: str | None = None
    lang: str = "en"
    translation: str | None = None  # English machine translation of a non-English quote
    support: float = 0.0  # how well the quote supports the sentence citing it, 0..1
    section: str = ""  # the headings above the quote, "Chapter › Section" ("" when the document has none)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Passage:
    """A text a claim is checked against: the original, and its machine rendering if any."""

    text: str  # the original text (names and numbers must come from here)
    translation: str | None = None  # English machine translation of a non-English text


STATEMENT_ROLES = ("lead", "quote", "translation", "summary")


@dataclass(frozen=True)
class Statement:
    """One statement of an answer, as built (never parsed back out of the rendered text).

    ``lead`` is the model's short answer, ``quote`` a sentence of a document,
    ``translation`` a machine rendering of the quote before it (a reading aid,
    not a claim), ``summary`` a statement composed from several quotes.
    """

    text: str  # without [n] markers or labels
    role: str  # one of STATEMENT_ROLES
    citation: int | None = None  # Citation.n of the passage that backs it
    verified: bool = True  # False only for a model sentence shown unverified (--no-strict): never a fact

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Statement":
        return cls(text=str(data.get("text", "")), role=str(data.get("role", "quote")),
                   citation=data.get("citation"), verified=bool(data.get("verified", True)))


@dataclass(frozen=True)
class Turn:
    """One earlier exchange of a conversation, used to resolve follow-up questions."""

    question: str
    answer: str  # the rendered answer text
    statements: tuple[Statement, ...] = ()  # the answer's statements, when the caller has them


@dataclass
class Answer:
    """The result of asking one question; ``to_dict`` is the shape `rag eval` writes."""

    question: str
    answer: str  # the rendered text, with [n] markers that refer to ``citations``, for display
    refused: bool
    citations: list[Citation] = field(default_factory=list)
    retrieved: list[Hit] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    resolved_question: str = ""  # the question after follow-up resolution
    reason: str = ""  # why the answer was refused or fell back to quotes
    model: str = ""
    backend: str = ""
    index_version: str = ""
    statements: list[Statement] = field(default_factory=list)  # what ``answer`` renders, as records

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answer": self.answer,
            "refused": self.refused,
            "citations": [c.to_dict() for c in self.citations],
            "statements": [s.to_dict() for s in self.statements],
            "retrieved": [
                {"doc_id": h.chunk.doc_id, "chunk_id": h.chunk.chunk_id, "score": round(h.score, 6)}
                for h in self.retrieved
            ],
            "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()},
            "resolved_question": self.resolved_question,
            "reason": self.reason,
            "model": self.model,
            "backend": self.backend,
            "index_version": self.index_version,
        }


@dataclass(frozen=True)
class Skipped:
    """A file that ingestion passed over, with the one-line reason shown to the user."""

    path: str
    reason: str


@dataclass
class IngestReport:
    """What one ingestion run changed."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    chunks: int = 0  # chunks in the index after the run

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)
