"""Word ``.docx`` files through python-docx: headings, lists, tables and code in reading order.

The body is read paragraph by paragraph and table by table, in document
order. A paragraph is a heading when its style (or a style it is based on)
is "Heading N" or carries an outline level, a list item when it is numbered
or bulleted, code when its style is a code style. Headers, footers, comments
and footnotes are left out: they are page furniture or asides, not the text.
A password-protected file is an OLE container, not a ZIP, and is refused as
such; a damaged one is refused with what broke.
"""

from __future__ import annotations

import io
import re
import zipfile

import docx
from docx.table import Table

from rag.ingest.extract.blocks import ExtractError, Extracted
from rag.ingest.extract.outline import Outline
from rag.ingest.extract.sniff import refuse_zip_bomb

EXTRACTOR = "docx/1"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ENCRYPTED_MARK = "EncryptionInfo".encode("utf-16-le")  # the stream an encrypted OOXML package keeps its keys in
HEADING_STYLE = re.compile(r"heading\s*(\d)", re.IGNORECASE)
CODE_STYLES = {"source code", "html preformatted", "code", "preformatted text", "plain text"}
BODY_OUTLINE_LEVEL = 9  # w:outlineLvl 0-8 are heading levels 1-9; 9 is body text


def extract_docx(data: bytes) -> Extracted:
    """The blocks of a .docx file; ``ExtractError`` with a one-line reason for a locked or damaged one."""
    if data.startswith(OLE_MAGIC):
        if ENCRYPTED_MARK in data:
            raise ExtractError("encrypted .docx file (password-protected); save a copy without a password")
        raise ExtractError("a legacy Word .doc file (OLE), not .docx; save it as .docx")
    refuse_zip_bomb(data, ".docx")
    try:
        document = docx.Document(io.BytesIO(data))
        outline = Outline()
        outline.title = (document.core_properties.title or "").strip()
        for item in document.iter_inner_content():
            if isinstance(item, Table):
                outline.table(*_table(item))
            else:
                _paragraph(outline, item)
    except zipfile.BadZipFile:
        raise ExtractError("damaged .docx file (not a readable ZIP archive; truncated?)") from None
    except KeyError as exc:
        raise ExtractError(f"damaged .docx file (missing part {exc})") from None
    except Exception as exc:  # noqa: BLE001 - python-docx and lxml raise many types on broken XML
        reason = " ".join(str(exc).split())[:120]
        raise ExtractError(f"damaged .docx file ({type(exc).__name__}: {reason})") from None
    return outline.extract(EXTRACTOR)


def _paragraph(outline: Outline, paragraph) -> None:
    text = paragraph.text
    if not text.strip():
        return
    styles = _style_chain(paragraph.style)
    names = [style.name.lower() for style in styles if style.name]
    level = _heading_level(paragraph._p, styles, names)
    if "title" in names[:1]:
        outline.title = outline.title or " ".join(text.split())
        outline.paragraph(text)
    elif level:
        outline.heading(text, level)
    elif CODE_STYLES & set(names):
        outline.code(text)
    elif paragraph._p.xpath("./w:pPr/w:numPr") or any(s.element.xpath("./w:pPr/w:numPr") for s in styles) \
            or any(name.startswith("list") for name in names):
        outline.list_item(text)
    else:
        outline.paragraph(text)


def _style_chain(style) -> list:
    """The paragraph's style and the styles it is based on, nearest first."""
    chain = []
    while style is not None and style not in chain and len(chain) < 10:
        chain.append(style)
        style = style.base_style
    return chain


def _heading_level(element, styles: list, names: list[str]) -> int:
    for name in names:
        match = HEADING_STYLE.fullmatch(name)
        if match:
            return int(match.group(1))
    for node in [element] + [style.element for style in styles]:
        found = node.xpath("./w:pPr/w:outlineLvl/@w:val")
        if found and found[0].isdigit():
            level = int(found[0])
            return level + 1 if level < BODY_OUTLINE_LEVEL else 0
    return 0


def _table(table: Table) -> tuple[list[list[str]], int]:
    """The cell texts row by row (a merged cell once) and how many leading rows are marked as header rows."""
    rows: list[list[str]] = []
    header_rows = 0
    for row in table.rows:
        cells, seen = [], set()
        for cell in row.cells:
            if id(cell._tc) not in seen:
                seen.add(id(cell._tc))
                cells.append(" ".join(cell.text.split()))
        marked = bool(row._tr.xpath("./w:trPr/w:tblHeader[not(@w:val='false' or @w:val='0')]"))
        if marked and header_rows == len(rows):
            header_rows += 1
        rows.append(cells)
    return rows, header_rows
