"""Extract: file bytes to an ``Extracted`` record (text, blocks, title, date) for every supported format.

One module per format; each returns the same record, so chunking never
needs to know where a document came from.
"""

from __future__ import annotations

from rag.ingest.extract.blocks import Block, BlockKind, ExtractError, Extracted, TextBuilder
from rag.ingest.extract.docx import EXTRACTOR as DOCX_EXTRACTOR
from rag.ingest.extract.docx import extract_docx
from rag.ingest.extract.epub import EXTRACTOR as EPUB_EXTRACTOR
from rag.ingest.extract.epub import extract_epub
from rag.ingest.extract.html import EXTRACTOR as HTML_EXTRACTOR
from rag.ingest.extract.html import extract_html
from rag.ingest.extract.odt import EXTRACTOR as ODT_EXTRACTOR
from rag.ingest.extract.odt import extract_odt
from rag.ingest.extract.pdf import EXTRACTOR as PDF_EXTRACTOR
from rag.ingest.extract.pdf import PdfError, extract_pdf
from rag.ingest.extract.sniff import content_suffix, decode_text, sniff_text
from rag.ingest.extract.text import MARKDOWN_EXTRACTOR, TEXT_EXTRACTOR, extract_markdown, extract_text

TEXT_SUFFIXES = {".txt"}
MARKDOWN_SUFFIXES = {".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm"}
PDF_SUFFIXES = {".pdf"}
# Word-processor files and books: ZIP containers, each read by its own module.
CONTAINERS = {".docx": extract_docx, ".odt": extract_odt, ".epub": extract_epub}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | MARKDOWN_SUFFIXES | HTML_SUFFIXES | PDF_SUFFIXES | set(CONTAINERS)
# Recorded in the index manifest: a change here asks for `rag ingest --rebuild`.
EXTRACTORS = ",".join(sorted({HTML_EXTRACTOR, PDF_EXTRACTOR, TEXT_EXTRACTOR, MARKDOWN_EXTRACTOR,
                              DOCX_EXTRACTOR, ODT_EXTRACTOR, EPUB_EXTRACTOR}))


def extract(data: bytes, suffix: str) -> Extracted:
    """The text and blocks of a file's bytes; ``ExtractError`` with a one-line reason otherwise.

    A known suffix picks the reader; a file with no or an unknown suffix is
    read by what its bytes are: a PDF, a .docx/.odt/.epub container, else
    plain text if it decodes as text.
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
    if suffix in CONTAINERS:
        return CONTAINERS[suffix](data)
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
