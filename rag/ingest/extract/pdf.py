"""PDF text that reads like the page: paragraphs, headings, code, no page furniture.

pdfminer.six gives every printed line with its position and fonts; the page
is then rebuilt by general layout rules:

- a page set in two columns is read column by column (between the lines that
  span both, such as a title or a wide figure's caption): a column gutter is
  a vertical strip near the middle that few lines cross, with lines of prose
  on both sides, so a definition list's narrow terms make no column;
- lines on one baseline are one row ("-c  If the -c option is present …"), so
  definition lists keep the term beside its definition;
- lines in the top or bottom margin that repeat across pages (running heads,
  page numbers) and dot-leader lines (tables of contents) are dropped;
- rows continue a paragraph while they keep its left edge and line spacing,
  across a page break too; a line-end hyphen is removed where the joined word
  is a word (seen elsewhere in the document or in the encoder's vocabulary) or
  the part after it is none ("Re-dundancy"; "non-numeric" stays);
- a short unpunctuated row in a larger or bold, outdented font is a heading;
  rows in a monospaced font are code and keep their line breaks;
- a short term row followed by indented rows leads them ("HISTSIZE: The …").
"""

from __future__ import annotations

import io
import re
import statistics
import unicodedata
from collections import Counter
from functools import lru_cache
from pathlib import Path

from embeddings.encoder import resolve_model
from rag.ingest.extract.blocks import BlockKind, Extracted, TextBuilder
from rag.ingest.extract.pdf_columns import Row, reading_groups, same_baseline

EXTRACTOR = "pdfminer-layout/5"
MARGIN = 0.085  # share of the page height at top and bottom where running heads and page numbers sit
REPEATED_ON = 3  # a margin line (digits aside) on this many pages is a running head
TOC_RUN = 5  # this many rows in a row that end in a page number are a table of contents
TOC_ROW = re.compile(r"^\D.{0,100}?\s(?:\d{1,4}|[ivxlc]{1,6})$")
HEADING_SIZE = 1.15  # a row this much larger than body text can be a heading
SHORT_ROW = 80  # headings and terms are at most this long
TERM_ROW = 40
MONO = re.compile(r"mono|courier|typewriter|cmtt|code|consol", re.IGNORECASE)
BOLD = re.compile(r"bold|black|heavy|cmbx|semibold", re.IGNORECASE)
DOT_LEADER = re.compile(r"(?:\.\s?){4,}\s*(?:[\divxlc]+\b|$)|\.{6,}", re.IGNORECASE)
PAGE_NUMBER = re.compile(r"^\s*(?:page\s+)?(?:\d+|[ivxlc]+)(?:\s*(?:/|of)\s*\d+)?\s*$", re.IGNORECASE)
TYPOGRAPHY = str.maketrans({"\u2212": "-", "\u02dc": "~", "\u00ad": "-", "\u2010": "-", "\u2011": "-"})
CID = re.compile(r"\(cid:\d+\)")
HYPHENATED = re.compile(r"([A-Za-zÀ-ÿ]+)-$")
SENTENCE_END = re.compile(r"[.!?:;)\]\"”’]$")


class PdfError(Exception):
    """A PDF that cannot be read; the message is the one-line reason."""


def extract_pdf(data: bytes) -> Extracted:
    rows, title = _rows(data)
    if not any(row.text.strip() for row in rows):
        raise PdfError("no text layer (a scanned PDF needs OCR first)")
    rows = _without_furniture(rows)
    out = TextBuilder()
    _Layout(rows, *_vocabulary(rows)).write(out)
    extracted = out.build(extractor=EXTRACTOR)
    if not title:
        heading = next((b for b in extracted.blocks if b.kind is BlockKind.HEADING), None)
        title = extracted.text[heading.start:heading.end] if heading else ""
    return Extracted(extracted.text, extracted.blocks, title[:200], None, EXTRACTOR)


def _rows(data: bytes) -> tuple[list[Row], str]:
    from pdfminer.high_level import extract_pages
    from pdfminer.layout import LAParams, LTChar, LTTextBox, LTTextLine
    from pdfminer.pdfdocument import PDFDocument
    from pdfminer.pdfparser import PDFParser

    try:
        document = PDFDocument(PDFParser(io.BytesIO(data)))
        title = _metadata_title(document)
        rows: list[Row] = []
        for number, page in enumerate(extract_pages(io.BytesIO(data), laparams=LAParams())):
            lines: list[tuple[Row, float]] = []  # each line with its right edge
            for box in page:
                if not isinstance(box, LTTextBox):
                    continue
                for line in box:
                    if not isinstance(line, LTTextLine):
                        continue
                    chars = [c for c in line if isinstance(c, LTChar)]
                    text = _clean(line.get_text())
                    if not chars or not text.strip():
                        continue
                    fonts = Counter(c.fontname for c in chars)
                    font = fonts.most_common(1)[0][0]
                    lines.append((Row(number, page.height - line.y1, page.height - line.y0, line.x0, line.x0, text,
                                      statistics.median(c.size for c in chars), bool(BOLD.search(font)),
                                      sum(n for f, n in fonts.items() if MONO.search(f)) > len(chars) / 2,
                                      page.height), line.x1))
            for group in reading_groups(lines):
                rows += same_baseline(group, page.height)
    except PdfError:
        raise
    except Exception as exc:  # noqa: BLE001 - a parser of untrusted bytes fails in many ways
        name = type(exc).__name__
        if "Encrypt" in name or "Password" in name:
            raise PdfError("encrypted PDF (remove the password first)") from None
        detail = " ".join(str(exc).split())[:160] or name
        raise PdfError(f"unreadable PDF: {detail}") from None
    return rows, title


def _metadata_title(document) -> str:
    for info in getattr(document, "info", []) or []:
        raw = info.get("Title")
        value = getattr(raw, "resolve", lambda: raw)() if raw is not None else None
        if isinstance(value, bytes):
            value = value.decode("utf-16") if value.startswith(b"\xfe\xff") else value.decode("latin-1")
        if isinstance(value, str) and value.strip() and len(value.strip()) > 3:
            return " ".join(value.split())
    return ""


def _clean(text: str) -> str:
    text = re.sub(r"c\(cid:13\)", "©", text)  # TeX draws © as "c" inside a circle glyph
    text = CID.sub("", text)
    text = unicodedata.normalize("NFKC", text.translate(TYPOGRAPHY))  # NFKC turns a spacing tilde into " \u0303"
    return " ".join(text.split())


def _without_furniture(rows: list[Row]) -> list[Row]:
    """Drop running heads, page numbers, dot-leader lines and tables of contents."""

    def in_margin(r: Row) -> bool:
        return r.top < MARGIN * r.page_height or r.bottom > (1 - MARGIN) * r.page_height

    def key(r: Row) -> str:
        return re.sub(r"\d+", "#", r.text.lower())

    pages_with = Counter(k for _page, k in {(r.page, key(r)) for r in rows if in_margin(r)})
    toc = _toc_rows(rows)
    kept = []
    for i, r in enumerate(rows):
        if in_margin(r) and (pages_with[key(r)] >= REPEATED_ON or PAGE_NUMBER.match(r.text)):
            continue
        if DOT_LEADER.search(r.text) or i in toc:
            continue
        kept.append(r)
    return kept


def _toc_rows(rows: list[Row]) -> set[int]:
    """Indexes of rows in runs of TOC_RUN or more short rows that each end in a page number."""
    found: set[int] = set()
    run: list[int] = []
    for i, r in enumerate(rows + [None]):  # type: ignore[list-item]
        if r is not None and len(r.text) <= 100 and TOC_ROW.match(r.text) and not r.mono:
            run.append(i)
            continue
        if len(run) >= TOC_RUN:
            found.update(run)
        run = []
    return found


@lru_cache(maxsize=1)
def _encoder_vocabulary() -> frozenset[str]:
    """Whole words of the packaged encoder's tokenizer: an English word list that is always installed."""
    try:
        vocab = Path(resolve_model("default")) / "vocab.txt"
        words = vocab.read_text(encoding="utf-8").split()
    except Exception:  # noqa: BLE001 - without it, only the document's own words count
        return frozenset()
    return frozenset(w for w in words if w.isalpha() and len(w) > 2)


def _vocabulary(rows: list[Row]) -> tuple[set[str], set[str]]:
    """The document's words, and those of them seen past the start of a line (so not a hyphenated word's tail)."""
    words: set[str] = set()
    inner: set[str] = set()
    for r in rows:
        found = [w.lower() for w in re.findall(r"[A-Za-zÀ-ÿ_]+", r.text)]
        words.update(found)
        inner.update(found[1:])
    return words, inner


class _Layout:
    """Rows to blocks: paragraphs by left edge and spacing, headings, code, terms."""

    def __init__(self, rows: list[Row], vocabulary: set[str], inner_words: set[str]):
        self.rows = rows
        self.vocabulary = vocabulary
        self.inner_words = inner_words
        sizes = Counter(round(r.size, 1) for r in rows for _ in range(len(r.text)))
        self.body_size = sizes.most_common(1)[0][0] if sizes else 10.0
        edges = Counter(round(r.x0) for r in rows if not r.mono for _ in range(len(r.text)))
        self.body_x0 = edges.most_common(1)[0][0] if edges else 0.0
        lefts = sorted(r.x0 for r in rows)
        self.margin_x0 = lefts[len(lefts) // 50] if lefts else 0.0  # the leftmost edge text starts at
        heading_sizes = sorted({round(r.size, 1) for r in rows if self._is_heading(r)}, reverse=True)
        self.levels = {size: n + 1 for n, size in enumerate(heading_sizes)}

    def _is_heading(self, r: Row) -> bool:
        if r.mono or len(r.text) > SHORT_ROW or SENTENCE_END.search(r.text) or r.text.endswith(","):
            return False
        if not any(ch.isalpha() for ch in r.text):
            return False
        larger = r.size >= HEADING_SIZE * self.body_size
        outdented_bold = r.bold and r.x0 < self.body_x0 - 5 and r.x0 <= self.margin_x0 + 3
        return larger or outdented_bold

    def write(self, out: TextBuilder) -> None:
        paragraph: list[Row] = []
        code: list[Row] = []
        term = ""

        def flush_paragraph() -> None:
            nonlocal term
            if paragraph:
                text = self._join(paragraph)
                if term:
                    text, term = f"{term}{' ' if term[-1] in ':.' else ': '}{text}", ""
                if len(text) > 1:  # a lone character (an index's group letter, a stray glyph) says nothing
                    out.add(text)
                paragraph.clear()

        def flush_term() -> None:
            nonlocal term
            if len(term) > 1:
                out.add(term)
            term = ""

        def flush_code() -> None:
            if code:
                left = min(r.x0 for r in code)
                width = max(1.0, statistics.median(r.size for r in code) * 0.6)
                out.add("\n".join(" " * int(round((r.x0 - left) / width)) + r.text for r in code), BlockKind.CODE)
                code.clear()

        for i, row in enumerate(self.rows):
            if row.mono:  # a row mostly in a monospaced font is code (inline code stays in its sentence)
                flush_paragraph()
                flush_term()
                code.append(row)
                continue
            flush_code()
            if self._is_heading(row):
                flush_paragraph()
                flush_term()
                out.add(row.text, BlockKind.HEADING, self.levels.get(round(row.size, 1), 1))
                continue
            if paragraph and self._continues(paragraph, row):
                paragraph.append(row)
                continue
            flush_paragraph()
            nxt = self.rows[i + 1] if i + 1 < len(self.rows) else None
            if self._is_term(row, nxt):
                flush_term()
                term = row.text
                continue
            paragraph.append(row)
        flush_paragraph()
        flush_term()
        flush_code()

    def _is_term(self, row: Row, nxt: Row | None) -> bool:
        """A short label on its own row, with its definition on the rows below, indented further."""
        return (nxt is not None and len(row.text) <= TERM_ROW and not SENTENCE_END.search(row.text)
                and nxt.x0 > row.x0 + 8 and (nxt.page, nxt.column) == (row.page, row.column)
                and 0 <= nxt.top - row.bottom <= 1.2 * row.height and not nxt.mono)

    def _continues(self, paragraph: list[Row], row: Row) -> bool:
        first, last = paragraph[0], paragraph[-1]
        if row.body_x0 != row.x0:
            return False  # a term with its definition beside it starts an entry of its own
        edge = first.body_x0 if len(paragraph) == 1 else paragraph[1].x0
        unfinished = not SENTENCE_END.search(last.text) and row.text[:1].islower()
        if (row.page, row.column) != (last.page, last.column):
            # margins move between odd and even pages and from column to column: read the words, not the edges
            return unfinished or (not SENTENCE_END.search(last.text) and abs(row.x0 - edge) <= 3)
        gap = row.top - last.bottom
        if unfinished and -0.5 * row.height <= gap <= 1.5 * last.height:
            return True
        if gap < -0.5 * row.height or gap > 0.9 * last.height:
            return False
        if len(paragraph) == 1 and row.x0 < first.x0 and first.x0 - row.x0 <= 30 and first.body_x0 == first.x0:
            return True  # the first line was indented
        return abs(row.x0 - edge) <= 3

    def _join(self, rows: list[Row]) -> str:
        text = rows[0].text
        for row in rows[1:]:
            match = HYPHENATED.search(text)
            first = re.match(r"[a-zà-ÿ][\w]*", row.text)
            if match and first:
                head, tail = match.group(1), first.group(0)
                joined = (head + tail).lower()
                letters = re.sub(r"[^a-zà-ÿ]", "", joined)
                words = _encoder_vocabulary()
                known = joined in self.vocabulary or letters in words or joined.split("_")[0] in words
                # The part after the hyphen is no word of its own ("Re-dundancy"): not in the encoder's vocabulary,
                # nor anywhere in the document but at the start of a line ("non-numeric" stays).
                fragment = len(tail) >= 3 and tail.lower() not in words and tail.lower() not in self.inner_words
                if known or fragment:
                    text = text[:-1] + row.text
                    continue
                text = text + row.text
                continue
            text = f"{text} {row.text}"
        return text
