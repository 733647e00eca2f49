"""OpenDocument ``.odt`` files: headings, lists, tables and code from ``content.xml`` in reading order.

Read with zipfile and lxml rather than odfpy: odfpy's SAX loader rejects the
``styles.xml`` that pandoc writes (a namespace declared twice) and prints the
whole part to stdout when it does, and the body needs no more than one XML
parse. ``text:h`` carries its outline level, ``text:list`` its items, a
``table:table`` its header rows; a paragraph whose style (or the style that
style derives from) is preformatted text is code. Notes, tracked deletions
and a generated table of contents are left out. A password-protected file
says so in its manifest and is refused as encrypted.
"""

from __future__ import annotations

import io
import zipfile
import zlib

from lxml import etree

from rag.ingest.extract.blocks import ExtractError, Extracted
from rag.ingest.extract.outline import Outline
from rag.ingest.extract.sniff import refuse_zip_bomb

EXTRACTOR = "odt/1"
TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
STYLE = "urn:oasis:names:tc:opendocument:xmlns:style:1.0"
MANIFEST = "urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"
DC = "http://purl.org/dc/elements/1.1/"
# Inline content that is not part of the running text.
SKIP_INLINE = {f"{{{TEXT}}}note", f"{{{TEXT}}}tracked-changes", f"{{{OFFICE}}}annotation"}
SKIP_BLOCKS = {f"{{{TEXT}}}table-of-content", f"{{{TEXT}}}sequence-decls", f"{{{TEXT}}}tracked-changes",
               f"{{{OFFICE}}}forms", f"{{{TEXT}}}alphabetical-index", f"{{{TEXT}}}illustration-index"}
CODE_STYLES = {"preformatted_20_text", "source_20_text", "source_20_code", "code"}


def extract_odt(data: bytes) -> Extracted:
    """The blocks of an .odt file; ``ExtractError`` with a one-line reason for a locked or damaged one."""
    refuse_zip_bomb(data, ".odt")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            if "META-INF/manifest.xml" in names and b"encryption-data" in archive.read("META-INF/manifest.xml"):
                raise ExtractError("encrypted .odt file (password-protected); save a copy without a password")
            if "content.xml" not in names:
                raise ExtractError("damaged .odt file (no content.xml inside)")
            content = _parse(archive.read("content.xml"))
            meta = _parse(archive.read("meta.xml")) if "meta.xml" in names else None
    except ExtractError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, ValueError, RuntimeError):
        raise ExtractError("damaged .odt file (not a readable ZIP archive; truncated?)") from None
    except etree.XMLSyntaxError as exc:
        raise ExtractError(f"damaged .odt file (bad XML: {' '.join(str(exc).split())[:120]})") from None
    outline = Outline()
    title = meta.find(f".//{{{DC}}}title") if meta is not None else None
    outline.title = " ".join((title.text or "").split()) if title is not None else ""
    body = content.find(f"{{{OFFICE}}}body/{{{OFFICE}}}text")
    if body is None:
        raise ExtractError("not a text document (.odt without office:text; a spreadsheet or drawing?)")
    _Reader(outline, _parent_styles(content)).blocks(body)
    return outline.extract(EXTRACTOR)


def _parse(xml: bytes):
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    return etree.fromstring(xml, parser)


def _parent_styles(content) -> dict[str, str]:
    """Automatic style name -> the named style it derives from ("P2" -> "Preformatted_20_Text")."""
    return {
        style.get(f"{{{STYLE}}}name"): style.get(f"{{{STYLE}}}parent-style-name", "")
        for style in content.iter(f"{{{STYLE}}}style")
    }


class _Reader:
    def __init__(self, outline: Outline, parents: dict[str, str]) -> None:
        self.outline = outline
        self.parents = parents

    def blocks(self, element, in_list: bool = False) -> None:
        for child in element:
            tag = child.tag
            if tag == f"{{{TEXT}}}h":
                self.outline.heading(_text(child), _number(child.get(f"{{{TEXT}}}outline-level"), 6))
            elif tag == f"{{{TEXT}}}p":
                self._paragraph(child, in_list)
            elif tag == f"{{{TEXT}}}list":
                self.blocks(child, in_list=True)
            elif tag in {f"{{{TEXT}}}list-item", f"{{{TEXT}}}list-header"}:
                self.blocks(child, in_list=True)
            elif tag == f"{{{TABLE}}}table":
                self.outline.table(*_table(child))
            elif tag not in SKIP_BLOCKS and isinstance(tag, str):
                self.blocks(child, in_list)  # sections, frames, soft page breaks: their content is the text

    def _paragraph(self, element, in_list: bool) -> None:
        text = _text(element)
        if not text.strip():
            return
        style = element.get(f"{{{TEXT}}}style-name", "")
        if {style.lower(), self.parents.get(style, "").lower()} & CODE_STYLES:
            self.outline.code(text)
        elif in_list:
            self.outline.list_item(text)
        else:
            self.outline.paragraph(text)


def _table(table) -> tuple[list[list[str]], int]:
    """Cell texts row by row, and how many leading rows sit in ``table:table-header-rows``."""
    rows: list[list[str]] = []
    header_rows = 0
    for row in table.iter(f"{{{TABLE}}}table-row"):
        if _owner_table(row) is not table:
            continue  # a row of a table nested in a cell
        cells = [" ".join(_text(cell).split()) for cell in row if cell.tag == f"{{{TABLE}}}table-cell"]
        if row.getparent().tag == f"{{{TABLE}}}table-header-rows" and header_rows == len(rows):
            header_rows += 1
        rows.append(cells)
    return rows, header_rows


def _owner_table(row):
    parent = row.getparent()
    while parent is not None and parent.tag != f"{{{TABLE}}}table":
        parent = parent.getparent()
    return parent


def _number(value: str | None, limit: int) -> int:
    """A count or level attribute, 1 when absent or malformed, at most ``limit``."""
    return min(int(value), limit) if value and value.isascii() and value.isdigit() and int(value) > 0 else 1


def _text(element) -> str:
    """The running text of an element: ``text:s`` spaces, tabs and line breaks kept; notes and comments left out."""
    parts: list[str] = [element.text or ""]
    for child in element:
        tag = child.tag
        if tag == f"{{{TEXT}}}s":
            parts.append(" " * _number(child.get(f"{{{TEXT}}}c"), 100))
        elif tag == f"{{{TEXT}}}tab":
            parts.append("\t")
        elif tag == f"{{{TEXT}}}line-break":
            parts.append("\n")
        elif tag == f"{{{TEXT}}}number":  # a rendered list or outline number ("3.2"), followed by the text
            parts.append(_text(child).strip() + " ")
        elif tag in {f"{{{TEXT}}}p", f"{{{TEXT}}}h"}:
            parts.append(" " + _text(child) + " ")  # paragraphs inside a table cell or frame
        elif tag not in SKIP_INLINE and isinstance(tag, str):
            parts.append(_text(child))
        parts.append(child.tail or "")
    return "".join(parts)
