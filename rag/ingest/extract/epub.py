"""EPUB books through ebooklib: the spine's XHTML chapters, each read by the HTML extractor, in reading order.

An EPUB is a ZIP of XHTML documents plus a package file that orders them
(the spine) and names the book. Each chapter goes through
``rag.ingest.extract.html`` exactly like a web page, so headings, lists and tables
become the same blocks; the chapters' texts are joined with blank lines and
their block offsets shifted, so every offset is into the one joined text.
The navigation document is a table of contents, not content, and is left
out. Chapters encrypted by DRM (listed in ``META-INF/encryption.xml``) make
the book unreadable and it is refused as encrypted.
"""

from __future__ import annotations

import dataclasses
import io
import re
import zipfile

import ebooklib
from ebooklib import epub

from rag.ingest.extract.blocks import Block, ExtractError, Extracted
from rag.ingest.extract.html import extract_html
from rag.ingest.extract.sniff import decode_text, refuse_zip_bomb

EXTRACTOR = "epub/1"
SEPARATOR = "\n\n"  # between chapters, as between blocks
ENCRYPTED_DOCUMENT = re.compile(rb'URI="[^"]+\.(?:x?html?|xml)"', re.IGNORECASE)  # font obfuscation alone is harmless
DATE = re.compile(r"\d{4}-\d{2}(?:-\d{2})?")


def extract_epub(data: bytes) -> Extracted:
    """The blocks of an .epub book; ``ExtractError`` with a one-line reason for a locked or damaged one."""
    refuse_zip_bomb(data, ".epub")
    _refuse_encrypted(data)
    try:
        book = epub.read_epub(io.BytesIO(data), options={"ignore_ncx": True})
        chapters = [book.get_item_with_id(idref) for idref, _linear in book.spine]
        sources = [item.get_content() for item in chapters
                   if item is not None and item.get_type() == ebooklib.ITEM_DOCUMENT and not isinstance(item, epub.EpubNav)]
        title = _metadata(book, "title")
        date = DATE.match(_metadata(book, "date"))
    except Exception as exc:  # noqa: BLE001 - ebooklib raises EpubException, KeyError, zip and XML errors alike
        reason = " ".join(str(exc).split())[:120]
        raise ExtractError(f"damaged .epub file ({type(exc).__name__}: {reason})") from None
    parts = []
    for source in sources:
        try:
            parts.append(extract_html(decode_text(source)))
        except ExtractError:
            continue  # a chapter that is not text (a cover image page gone wrong) costs only itself
    text, blocks = _join(parts)
    title = title or next((part.title for part in parts if part.title), "")
    return Extracted(text, blocks, title, date.group(0) if date else None, EXTRACTOR)


def _refuse_encrypted(data: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if "META-INF/encryption.xml" not in archive.namelist():
                return
            listing = archive.read("META-INF/encryption.xml")
    except Exception:  # noqa: BLE001 - a damaged archive is reported by the reader that follows
        return
    if ENCRYPTED_DOCUMENT.search(listing):
        raise ExtractError("encrypted .epub file (DRM-protected chapters); only DRM-free books can be read")


def _metadata(book: epub.EpubBook, name: str) -> str:
    values = book.get_metadata("DC", name)
    return " ".join(str(values[0][0] or "").split()) if values else ""


def _join(parts: list[Extracted]) -> tuple[str, tuple[Block, ...]]:
    """One text of the chapters that have content, with each chapter's blocks moved to its place in it."""
    texts: list[str] = []
    blocks: list[Block] = []
    offset = 0
    for part in parts:
        if not part.blocks:
            continue
        if texts:
            texts.append(SEPARATOR)
            offset += len(SEPARATOR)
        blocks += [dataclasses.replace(b, start=b.start + offset, end=b.end + offset) for b in part.blocks]
        texts.append(part.text)
        offset += len(part.text)
    return "".join(texts), tuple(blocks)
