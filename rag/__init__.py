"""A local, cited RAG assistant: answers from your documents, every sentence checked against its source.

The public API is small: ``Assistant`` (ingest, search, ask, stream), ``Settings`` and the records
(``Quotes`` and ``CancelToken`` for streams that show evidence first and can be stopped).
"""

from rag.assistant.pipeline import Assistant
from rag.core.config import Settings
from rag.core.errors import BadQuestion, GeneratorError, IndexUnusable
from rag.core.progress import Cancelled, CancelToken, Quotes
from rag.core.records import Answer, Chunk, Citation, Document, Hit, IngestReport, Skipped, Statement, Turn

__all__ = [
    "Answer", "Assistant", "BadQuestion", "CancelToken", "Cancelled", "Chunk", "Citation", "Document",
    "GeneratorError", "Hit", "IndexUnusable", "IngestReport", "Quotes", "Settings", "Skipped", "Statement", "Turn",
]
