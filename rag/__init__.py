"""A local, cited RAG assistant: answers from your documents, every sentence checked against its source.

The public API is small: ``Assistant`` (ingest, search, ask, stream), ``Settings`` and the records
(``Quotes`` and ``CancelToken`` for streams that show evidence first and can be stopped).
"""

from rag.config import Settings
from rag.generate import GeneratorError
from rag.pipeline import Assistant
from rag.progress import Cancelled, CancelToken, Quotes
from rag.records import Answer, Chunk, Citation, Document, Hit, IngestReport, Skipped, Statement, Turn
from rag.retrieve import BadQuestion
from rag.store import IndexUnusable

__all__ = [
    "Answer", "Assistant", "BadQuestion", "CancelToken", "Cancelled", "Chunk", "Citation", "Document",
    "GeneratorError", "Hit", "IndexUnusable", "IngestReport", "Quotes", "Settings", "Skipped", "Statement", "Turn",
]
