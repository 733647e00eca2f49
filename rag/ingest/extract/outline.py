"""A word-processor document's structure as an HTML tree, so the HTML walker reads it.

``.docx`` and ``.odt`` say the same things in different XML: headings with a
level, paragraphs, list items, tables with header rows, preformatted code.
Their extractors put those into an ``Outline``; the outline builds the small
HTML tree (``h1``-``h6``, ``p``, ``ul``/``li``, ``table``/``tr``/``th``/``td``,
``pre``) that ``rag.ingest.extract.html`` turns into blocks, so short list items,
table rows and section paths come out exactly as they do for a web page.
"""

from __future__ import annotations

from lxml import html as lxml_html
from lxml.etree import SubElement

from rag.ingest.extract.blocks import Extracted
from rag.ingest.extract.html import extract_tree


class Outline:
    """The structure read so far; consecutive list items share one list."""

    def __init__(self) -> None:
        self.title = ""
        self.root = lxml_html.Element("html")
        self.head = SubElement(self.root, "head")
        self.body = SubElement(self.root, "body")
        self._list = None  # the <ul> that the next list item joins

    def heading(self, text: str, level: int) -> None:
        self._add(f"h{min(max(level, 1), 6)}", text)

    def paragraph(self, text: str) -> None:
        self._add("p", text)

    def code(self, text: str) -> None:
        """One preformatted line; consecutive lines join into one code block, as a code listing is one unit."""
        last = self.body[-1] if len(self.body) else None
        if last is not None and last.tag == "pre" and self._list is None:
            last.text += "\n" + text
        else:
            self._add("pre", text)

    def list_item(self, text: str) -> None:
        if self._list is None:
            self._list = SubElement(self.body, "ul")
        SubElement(self._list, "li").text = text

    def table(self, rows: list[list[str]], header_rows: int) -> None:
        """A table; with no marked header row the first row is taken as the header, as it nearly always is."""
        self._list = None
        if len(rows) > 1 and header_rows == 0:
            header_rows = 1
        table = SubElement(self.body, "table")
        for number, cells in enumerate(rows):
            row = SubElement(table, "tr")
            for text in cells:
                SubElement(row, "th" if number < header_rows else "td").text = text

    def extract(self, extractor: str) -> Extracted:
        if self.title:
            SubElement(self.head, "title").text = self.title
        return extract_tree(self.root, extractor)

    def _add(self, tag: str, text: str) -> None:
        self._list = None
        SubElement(self.body, tag).text = text
