"""Extract: file bytes to an ``Extracted`` record (text, blocks, title, date) for every supported format.

One module per format; each returns the same record, so chunking never
needs to know where a document came from.
"""

from __future__ import annotations

from rag.ingest.extract.blocks import Block, BlockKind, Extracted, TextBuilder
from rag.ingest.extract.html import EXTRACTOR as HTML_EXTRACTOR, extract_html
from rag.ingest.extract.pdf import EXTRACTOR as PDF_EXTRACTOR, PdfError, extract_pdf
from rag.ingest.extract.text import MARKDOWN_EXTRACTOR, TEXT_EXTRACTOR, extract_markdown, extract_text

TEXT_SUFFIXES = {".txt"}
MARKDOWN_SUFFIXES = {".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm"}
PDF_SUFFIXES = {".pdf"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | MARKDOWN_SUFFIXES | HTML_SUFFIXES | PDF_SUFFIXES
# Recorded in the index manifest: a change here asks for `rag ingest --rebuild`.
EXTRACTORS = ",".join(sorted({HTML_EXTRACTOR, PDF_EXTRACTOR, TEXT_EXTRACTOR, MARKDOWN_EXTRACTOR}))


class ExtractError(Exception):
    """A file whose content cannot be extracted; the message is the one-line reason."""


def extract(data: bytes, suffix: str) -> Extracted:
    """The text and blocks of a file's bytes; ``ExtractError`` with a one-line reason otherwise."""
    suffix = suffix.lower()
    if suffix in PDF_SUFFIXES:
        if not data.startswith(b"%PDF"):
            raise ExtractError("not a PDF file (missing %PDF header)")
        try:
            return extract_pdf(data)
        except PdfError as exc:
            raise ExtractError(str(exc)) from None
    if b"\x00" in data[:8192]:
        raise ExtractError("binary file, not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ExtractError(f"not UTF-8 text (bad byte at offset {exc.start})") from None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if suffix in HTML_SUFFIXES:
        return extract_html(text)
    if suffix in MARKDOWN_SUFFIXES:
        return extract_markdown(text)
    return extract_text(text)


__all__ = [
    "Block", "BlockKind", "EXTRACTORS", "ExtractError", "Extracted", "SUPPORTED_SUFFIXES", "TextBuilder", "extract",
    "HTML_SUFFIXES", "PDF_SUFFIXES",
]
