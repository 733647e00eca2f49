"""Read one source file into a ``Document``: text plus title, date and language.

Only maintained parsers read the formats (BeautifulSoup for HTML, pypdf for
PDF). Anything that cannot be read raises ``IngestError`` with a one-line
reason, so a batch can report it and carry on.
"""

from __future__ import annotations

import hashlib
import io
import re
from functools import lru_cache
from pathlib import Path

from rag.clean import clean_segments, date_header, find_noise
from rag.records import Document

TEXT_SUFFIXES = {".txt", ".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm"}
PDF_SUFFIXES = {".pdf"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | PDF_SUFFIXES


class IngestError(Exception):
    """A file that cannot be ingested; the message is the one-line reason."""


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_document(path: Path, doc_id: str, max_bytes: int = 20_000_000) -> Document:
    """Parse ``path`` into a Document whose id is ``doc_id``."""
    data = read_bytes(path, max_bytes)
    text = extract_text(data, path.suffix.lower())
    if not text.strip():
        raise IngestError("no text in file")
    return Document(
        doc_id=doc_id,
        sha256=sha256_bytes(data),
        title=guess_title(text, data if path.suffix.lower() in HTML_SUFFIXES else None),
        date=date_header(text) or _html_date(data, path.suffix.lower()),
        lang=detect_language(text),
        text=text,
    )


def read_bytes(path: Path, max_bytes: int) -> bytes:
    """The file's bytes, after the checks that need no parsing."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise IngestError(f"unsupported file type '{suffix or path.name}' (use .txt, .md, .html or .pdf)")
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


def extract_text(data: bytes, suffix: str) -> str:
    if suffix in PDF_SUFFIXES:
        return _pdf_text(data)
    if b"\x00" in data[:8192]:
        raise IngestError("binary file, not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise IngestError(f"not UTF-8 text (bad byte at offset {exc.start})") from None
    if suffix in HTML_SUFFIXES:
        return _html_text(text)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _html_text(markup: str) -> str:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(markup, "html.parser")
    for tag in soup(["script", "style", "noscript", "nav", "footer", "aside", "form", "iframe", "template"]):
        tag.decompose()
    root = soup.find("article") or soup.body or soup
    text = root.get_text("\n")
    lines = [" ".join(line.split()) for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _pdf_text(data: bytes) -> str:
    if not data.startswith(b"%PDF"):
        raise IngestError("not a PDF file (missing %PDF header)")
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise IngestError("encrypted PDF")
        pages = [page.extract_text() or "" for page in reader.pages]
    except IngestError:
        raise
    except Exception as exc:  # noqa: BLE001 - a parser of untrusted bytes fails in many ways
        detail = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise IngestError(f"unreadable PDF: {detail}") from None
    return "\n\n".join(p.strip() for p in pages if p.strip())


def _html_date(data: bytes, suffix: str) -> str | None:
    if suffix not in HTML_SUFFIXES:
        return None
    match = re.search(
        rb'(?:article:published_time|datePublished|pubdate|date)["\']?\s+content=["\'](\d{4}-\d{2}(?:-\d{2})?)',
        data,
        re.IGNORECASE,
    )
    return match.group(1).decode() if match else None


def guess_title(text: str, html: bytes | None = None) -> str:
    """The headline: an HTML <title>, else the first short line, else the first sentence."""
    if html:
        match = re.search(rb"<title[^>]*>(.*?)</title>", html, re.IGNORECASE | re.DOTALL)
        if match:
            title = " ".join(match.group(1).decode("utf-8", "replace").split())
            if title:
                return title[:200]
    for start, end in clean_segments(text, find_noise(text)):
        first_line = text[start:end].split("\n", 1)[0].strip()
        if 0 < len(first_line) <= 200:
            return first_line
        sentence = re.split(r"(?<=[.!?])\s", first_line, maxsplit=1)[0]
        return sentence if len(sentence) <= 120 else sentence[:117].rstrip() + "…"
    return ""


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
