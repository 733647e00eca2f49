"""Extract: file bytes to an ``Extracted`` record (text, blocks, title, date) for every supported format.

One module per format; each returns the same record, so chunking never
needs to know where a document came from.
"""

from __future__ import annotations

from rag.extract.blocks import Block, BlockKind, ExtractError, Extracted, TextBuilder
from rag.extract.html import EXTRACTOR as HTML_EXTRACTOR
from rag.extract.html import extract_html
from rag.extract.pdf import EXTRACTOR as PDF_EXTRACTOR
from rag.extract.pdf import PdfError, extract_pdf
from rag.extract.sniff import content_suffix, decode_text, sniff_text
from rag.extract.text import MARKDOWN_EXTRACTOR, TEXT_EXTRACTOR, extract_markdown, extract_text

TEXT_SUFFIXES = {".txt"}
MARKDOWN_SUFFIXES = {".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm"}
PDF_SUFFIXES = {".pdf"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | MARKDOWN_SUFFIXES | HTML_SUFFIXES | PDF_SUFFIXES
# Recorded in the index manifest: a change here asks for `rag ingest --rebuild`.
EXTRACTORS = ",".join(sorted({HTML_EXTRACTOR, PDF_EXTRACTOR, TEXT_EXTRACTOR, MARKDOWN_EXTRACTOR}))


def extract(data: bytes, suffix: str) -> Extracted:
    """The text and blocks of a file's bytes; ``ExtractError`` with a one-line reason otherwise.

    A known suffix picks the reader; a file with no or an unknown suffix is
    read by what its bytes are: a PDF, else plain text if it decodes as text.
    """
    suffix = suffix.lower()
    named = suffix in SUPPORTED_SUFFIXES
    if not named:
        suffix = content_suffix(data) or ""
    if suffix in PDF_SUFFIXES:
        if not data.startswith(b"%PDF"):
            raise ExtractError("not a PDF file (missing %PDF header)")
        try:
            return extract_pdf(data)
        except PdfError as exc:
            raise ExtractError(str(exc)) from None
    text = decode_text(data) if named else sniff_text(data)
    if suffix in HTML_SUFFIXES:
        return extract_html(text)
    if suffix in MARKDOWN_SUFFIXES:
        return extract_markdown(text)
    return extract_text(text)


__all__ = [
    "Block", "BlockKind", "EXTRACTORS", "ExtractError", "Extracted", "SUPPORTED_SUFFIXES", "TextBuilder", "extract",
    "HTML_SUFFIXES", "PDF_SUFFIXES",
]
