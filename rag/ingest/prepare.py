"""Read → extract → split → chunk → embed for one file: a pure step, no store involved.

The plain ingest loop (``rag.retrieval.index.Index.sync``) and the Ray ingest
(``rag.retrieval.distributed``) call the same function, so a document prepared on a
Ray worker is stored exactly as one prepared in process. Writing the result
is the caller's job, one transaction per document.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag.core.config import Settings
from rag.core.profile import Profile
from rag.core.records import Chunk, Document
from rag.ingest.chunk import SECTION_SEPARATOR, chunk_sentences, split_units
from rag.ingest.read import IngestError, detect_language, extract_file, read_document, sha256_bytes


class Encoder:  # the part of embeddings' encoders used here (structural, for type hints only)
    def encode(self, texts: list[str]) -> np.ndarray: ...  # pragma: no cover


@dataclass(frozen=True)
class Prepared:
    """One document ready to store: its text, chunks with vectors, and sentence units."""

    doc: Document
    chunks: list[Chunk]
    vectors: np.ndarray  # one unit-length row per chunk
    units: list[tuple[int, int, str]]  # (start, end, kind) of every sentence-like unit
    multilingual: np.ndarray | None  # one row per unit, non-English documents only

    def without_blocks(self) -> "Prepared":
        """The same record minus the extractor's layout blocks, which nothing stores (smaller to ship between processes)."""
        doc = Document(self.doc.doc_id, self.doc.sha256, self.doc.title, self.doc.date, self.doc.lang, self.doc.text)
        return Prepared(doc, self.chunks, self.vectors, self.units, self.multilingual)


def prepare_file(path: Path, doc_id: str, settings: Settings, encoder: Encoder,
                 multilingual: Callable[[], Encoder] | None = None, profile: Profile | None = None) -> Prepared:
    """Read and prepare one file; ``IngestError`` says why a file cannot be indexed."""
    with _stage(profile, "read + extract"):
        doc = read_document(path, doc_id, int(settings.max_file_mb * 1e6))
    return prepare_document(doc, settings, encoder, multilingual, profile)


def prepare_bytes(data: bytes, doc_id: str, settings: Settings, encoder: Encoder,
                  multilingual: Callable[[], Encoder] | None = None) -> Prepared:
    """Prepare a file's bytes read elsewhere (a Ray worker gets the bytes, not a path it may not see)."""
    extracted = extract_file(data, Path(doc_id).suffix)
    doc = Document(doc_id=doc_id, sha256=sha256_bytes(data), title=extracted.title or Path(doc_id).stem,
                   date=extracted.date, lang=detect_language(extracted.text), text=extracted.text,
                   blocks=extracted.blocks)
    return prepare_document(doc, settings, encoder, multilingual)


def prepare_document(doc: Document, settings: Settings, encoder: Encoder,
                     multilingual: Callable[[], Encoder] | None = None, profile: Profile | None = None) -> Prepared:
    """Split, chunk and embed a read document.

    Only chunks are embedded with the English encoder; sentence vectors are
    made when an answer first looks at a sentence, so ingestion costs about
    one encoder pass over the text. ``multilingual`` (loaded only when a
    non-English document needs it) embeds the units of non-English text.
    """
    with _stage(profile, "split"):
        units = split_units(doc.text, doc.blocks, doc.lang)
    if not units:
        raise IngestError("no text left after removing navigation and boilerplate")
    with _stage(profile, "chunk"):
        chunks = chunk_sentences(doc, units, settings.chunk_chars, settings.chunk_overlap_sentences)
    with _stage(profile, "embed chunks"):
        vectors = encoder.encode([search_text(doc, c) for c in chunks])
    ml = None
    if doc.lang != "en" and settings.multilingual and multilingual is not None:
        with _stage(profile, "multilingual vectors"):
            ml = multilingual().encode([doc.text[u.start:u.end] for u in units])
    return Prepared(doc, chunks, np.asarray(vectors, dtype=np.float32), [(u.start, u.end, u.kind) for u in units], ml)


def search_text(doc: Document, chunk: Chunk) -> str:
    """What the encoder sees for a chunk: the title and section path for context, then the text."""
    body = chunk.text_en or chunk.text
    context = [doc.title] if doc.title and doc.title not in body else []
    context += [part for part in chunk.section.split(SECTION_SEPARATOR) if part and part not in body
                and part != doc.title]
    return "\n".join([" › ".join(context), body]) if context else body


def _stage(profile: Profile | None, name: str):
    return profile.stage(name) if profile is not None else nullcontext()
