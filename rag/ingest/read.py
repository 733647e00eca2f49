"""Read one source file into a ``Document``: extracted text and blocks, plus title, date and language.

The format-specific work is in ``rag.ingest.extract``; this module checks the file
itself (type, size, links) and turns extraction failures into ``IngestError``
with a one-line reason, so a batch can report it and carry on.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from rag.core.records import Document
from rag.ingest.extract import SUPPORTED_SUFFIXES, Extracted, ExtractError, extract

__all__ = ["SUPPORTED_SUFFIXES", "IngestError", "detect_language", "read_bytes", "read_document", "sha256_bytes"]


class IngestError(Exception):
    """A file that cannot be ingested; the message is the one-line reason."""


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_document(path: Path, doc_id: str, max_bytes: int = 20_000_000) -> Document:
    """Parse ``path`` into a Document whose id is ``doc_id``."""
    data = read_bytes(path, max_bytes)
    extracted = extract_file(data, path.suffix)
    return Document(
        doc_id=doc_id,
        sha256=sha256_bytes(data),
        title=extracted.title or Path(doc_id).stem,
        date=extracted.date,
        lang=detect_language(extracted.text),
        text=extracted.text,
        blocks=extracted.blocks,
    )


def extract_file(data: bytes, suffix: str) -> Extracted:
    """The extraction of a file's bytes; ``IngestError`` if nothing readable is left."""
    try:
        extracted = extract(data, suffix)
    except ExtractError as exc:
        raise IngestError(str(exc)) from None
    if not extracted.text.strip() or not extracted.blocks:
        raise IngestError("no content left after removing navigation and boilerplate")
    return extracted


def read_bytes(path: Path, max_bytes: int) -> bytes:
    """The file's bytes, after the checks that need no parsing (its type is read from the bytes, not the name)."""
    if path.is_symlink():
        raise IngestError("symbolic links are not followed")
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise IngestError(f"file too large ({size / 1e6:.1f} MB, limit {max_bytes / 1e6:.0f} MB)")
        data = path.read_bytes()
    except IngestError:
        raise
    except OSError as exc:
        raise IngestError(f"cannot read file: {exc.strerror or exc}") from None
    if not data.strip():
        raise IngestError("empty file")
    return data


@lru_cache(maxsize=1)
def _language_detector():
    from lingua import Language, LanguageDetectorBuilder

    common = [
        Language.ENGLISH, Language.DUTCH, Language.GERMAN, Language.FRENCH, Language.SPANISH,
        Language.ITALIAN, Language.PORTUGUESE, Language.RUSSIAN, Language.CHINESE, Language.JAPANESE,
        Language.POLISH, Language.SWEDISH, Language.DANISH, Language.TURKISH, Language.ARABIC,
    ]
    return LanguageDetectorBuilder.from_languages(*common).with_low_accuracy_mode().build()


def detect_language(text: str) -> str:
    """ISO 639-1 code of the text's main language ("en" when unsure)."""
    sample = " ".join(text[:4000].split())
    if len(sample) < 20:
        return "en"
    language = _language_detector().detect_language_of(sample)
    return language.iso_code_639_1.name.lower() if language else "en"
