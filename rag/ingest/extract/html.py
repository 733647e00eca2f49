"""Main content of an HTML page as blocks: paragraphs, headings, code, table rows.

A structure walk over lxml's tree, because the usual extractors lose what a
reference page needs (trafilatura drops the section headings of DocBook and
Sphinx pages, which the section path of every chunk is built from).

Site chrome is removed by general structure rules, never by names of a site:
navigation elements and landmark roles, class/id tokens that name chrome
(nav…, breadcrumb, sidebar, footer, toc, related, pager…), and short blocks
made mostly of links. Inline elements stay inline; block elements end a
paragraph; ``<pre>`` stays whole; a table row reads "column: value; …"; a
definition term leads its definition ("port (integer): The TCP port …").
"""

from __future__ import annotations

import re
import textwrap

from rag.ingest.extract.blocks import BlockKind, Extracted, TextBuilder

EXTRACTOR = "html-walk/1"

DROP_TAGS = {
    "script", "style", "noscript", "template", "iframe", "object", "embed", "canvas", "svg", "math",
    "form", "button", "select", "input", "textarea", "nav", "aside", "dialog", "menu", "head", "link", "meta",
}
CHROME_ROLES = {"navigation", "banner", "contentinfo", "search", "complementary", "menu", "menubar", "toolbar",
                "dialog", "alertdialog", "tablist"}
# Whole class/id tokens that name page furniture, and stems that do wherever they appear in a token.
CHROME_TOKENS = {"nav", "toc", "menu", "footer", "related", "pager", "pagination", "breadcrumb", "breadcrumbs",
                 "sidebar", "share", "social", "cookie", "cookies", "masthead", "skip", "skiplink", "banner",
                 "feedback", "edit", "editlink", "sourcelink", "searchbox", "advert", "ads", "copyright"}
CHROME_STEMS = ("navbar", "navheader", "navfooter", "navigation", "breadcrumb", "sidebar", "footer", "pagination")
BLOCK_TAGS = {
    "address", "article", "blockquote", "body", "center", "dd", "details", "div", "dl", "dt", "fieldset",
    "figcaption", "figure", "footer", "header", "hgroup", "hr", "li", "main", "ol", "p", "section", "summary",
    "ul", "caption", "html", "td", "th", "tr", "tbody", "thead", "tfoot",
}
HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
LINK_DENSITY = 0.5  # a short block whose text is more than half link text is navigation
LINK_BLOCK_MAX_CHARS = 400  # longer blocks are content even when they link a lot
SHORT_ITEM = 60  # consecutive list items this short read as one "a; b; c" line
LABEL_WORDS = 3  # a standalone unpunctuated paragraph this short ("Note", "Tipp") labels the next one
XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")  # list items this short, all of them, read as one "a; b; c" line


def extract_html(markup: str) -> Extracted:
    import lxml.html

    markup = XML_DECLARATION.sub("", markup, count=1)  # lxml refuses a str that declares its encoding
    try:
        root = lxml.html.document_fromstring(markup)
    except Exception:  # noqa: BLE001 - lxml rejects some inputs (empty, only comments) outright
        return TextBuilder().build(extractor=EXTRACTOR)
    return extract_tree(root)


def extract_tree(root, extractor: str = EXTRACTOR) -> Extracted:
    """Blocks of an lxml HTML tree; other formats (docx, odt) build such a tree to be read exactly like HTML."""
    title = _title(root)
    date = _date(root)
    _drop_chrome(root)
    content = _main_content(root)
    walker = _Walker()
    walker.visit(content)
    walker.flush()
    walker.end()
    return walker.out.build(title=title, date=date, extractor=extractor)


def _norm(text: str) -> str:
    return " ".join(text.split())


def _title(root) -> str:
    node = root.find(".//title")
    title = _norm(node.text_content()) if node is not None else ""
    if not title:
        heading = root.find(".//h1")
        title = _norm(heading.text_content()) if heading is not None else ""
    return title[:200]


def _date(root) -> str | None:
    for meta in root.iter("meta"):
        key = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").lower()
        if key in {"article:published_time", "datepublished", "pubdate", "date", "dc.date", "dcterms.date"}:
            match = re.match(r"\d{4}-\d{2}(?:-\d{2})?", meta.get("content") or "")
            if match:
                return match.group(0)
    node = root.find(".//time[@datetime]")
    if node is not None:
        match = re.match(r"\d{4}-\d{2}(?:-\d{2})?", node.get("datetime") or "")
        if match:
            return match.group(0)
    return None


def _tokens(element) -> set[str]:
    words = f"{element.get('class') or ''} {element.get('id') or ''}".lower()
    return {t for t in re.split(r"[^a-z0-9]+", words) if t}


def _is_chrome(element) -> bool:
    tag = element.tag
    if tag in DROP_TAGS:
        return True
    if element.get("hidden") is not None or (element.get("aria-hidden") or "").lower() == "true":
        return True
    if (element.get("role") or "").lower() in CHROME_ROLES:
        return True
    if tag in {"header", "footer"} and not _inside_content(element):
        return True
    tokens = _tokens(element)
    if tokens & CHROME_TOKENS or any(stem in token for token in tokens for stem in CHROME_STEMS):
        return tag not in {"body", "html", "main", "article"}
    return False


def _inside_content(element) -> bool:
    return any(a.tag in {"article", "main"} or (a.get("role") or "") == "main" for a in element.iterancestors())


def _drop_chrome(root) -> None:
    for element in list(root.iter()):
        if not isinstance(element.tag, str):  # comments, processing instructions
            if element.getparent() is not None:
                element.drop_tree()
            continue
        if element.getparent() is not None and _is_chrome(element):
            element.drop_tree()
    for element in list(root.iter("div", "ul", "ol", "table", "p", "dl", "td", "section", "span")):
        if element.getparent() is not None and _mostly_links(element):
            element.drop_tree()


def _mostly_links(element) -> bool:
    text = _norm(element.text_content())
    if not text or len(text) > LINK_BLOCK_MAX_CHARS:
        return False
    links = element.findall(".//a")
    if len(links) < 2:
        return False
    linked = sum(len(_norm(a.text_content())) for a in links)
    return linked / len(text) > LINK_DENSITY


def _main_content(root):
    """<main>, role=main or a single <article> when it holds most of the text; else <body>."""
    body = root.find(".//body")
    body = body if body is not None else root
    total = len(_norm(body.text_content())) or 1
    for path in (".//main", ".//*[@role='main']", ".//article"):
        found = root.findall(path)
        if len(found) == 1 and len(_norm(found[0].text_content())) >= 0.3 * total:
            return found[0]
    return body


class _Walker:
    """Turns the cleaned tree into blocks, keeping inline text together."""

    def __init__(self) -> None:
        self.out = TextBuilder()
        self.buffer: list[str] = []
        self.term = ""  # a definition term waiting for its definition
        self.prose = BlockKind.PARAGRAPH  # the kind of the running text's blocks: ITEM inside a list item

    def flush(self) -> None:
        text = _norm("".join(self.buffer))
        self.buffer = []
        if not text:
            return
        if len(text.split()) <= LABEL_WORDS and text[-1].isalnum() and not self.term:
            self.term = text  # a label such as "Note" leads the paragraph it labels
            return
        if self.term:
            joiner = " " if self.term[-1] in ":.?!" else ": "
            text, self.term = self.term + joiner + text, ""
        self.out.add(text, self.prose)

    def end(self) -> None:
        """A label or term with nothing after it stands alone."""
        if self.term:
            self.out.add(self.term)
            self.term = ""

    def _block(self, text: str, kind: BlockKind, level: int = 0) -> None:
        self.flush()
        if self.term:
            self.out.add(self.term)
            self.term = ""
        self.out.add(text, kind, level)

    def visit(self, element) -> None:
        tag = element.tag if isinstance(element.tag, str) else ""
        if tag in HEADINGS:
            self._block(_norm(element.text_content()), BlockKind.HEADING, HEADINGS[tag])
        elif tag == "pre":
            self._block(_code(element.text_content()), BlockKind.CODE)
        elif tag == "table":
            self.flush()
            self._table(element)
        elif tag in {"ul", "ol"}:
            self._list(element)
        elif tag == "dt":
            self.flush()
            term = _norm(element.text_content())
            self.term = f"{self.term}, {term}" if self.term and term else (term or self.term)
        elif tag in {"br", "hr"}:
            self.flush()
        elif tag in BLOCK_TAGS:
            self.flush()
            self._children(element)
            self.flush()
        else:
            self._children(element)
        if element.tail:
            self.buffer.append(element.tail)

    def _children(self, element) -> None:
        if element.text:
            self.buffer.append(element.text)
        for child in element:
            self.visit(child)

    def _list(self, element) -> None:
        """Runs of short items (names, versions, options) read as one "a; b; c" line; longer items stay paragraphs."""
        self.flush()
        run: list[str] = []

        def end_run() -> None:
            if len(run) == 1:
                self.out.add(run[0], BlockKind.ITEM)
            elif run:
                self.out.add("; ".join(run), BlockKind.ITEM)
            run.clear()

        if element.text and element.text.strip():
            self.buffer.append(element.text)
        for child in element:
            text = _norm(child.text_content()) if isinstance(child.tag, str) else ""
            nested = isinstance(child.tag, str) and any(child.find(f".//{tag}") is not None for tag in ("ul", "ol", "pre"))
            if child.tag == "li" and text and len(text) <= SHORT_ITEM and not text.endswith((".", ":")) and not nested:
                self.flush()
                run.append(text)
                if child.tail and child.tail.strip():
                    self.buffer.append(child.tail)
                continue
            end_run()
            outer, self.prose = self.prose, BlockKind.ITEM if child.tag == "li" else self.prose
            self.visit(child)
            self.flush()
            self.prose = outer
        end_run()

    def _table(self, table) -> None:
        caption = table.find("caption")
        if caption is not None:
            self.out.add(_norm(caption.text_content()))
        rows = table.xpath("./tr|./thead/tr|./tbody/tr|./tfoot/tr")
        cells = [[_norm(c.text_content()) for c in row if c.tag in {"td", "th"}] for row in rows]
        if all(sum(1 for c in row if c) <= 1 for row in cells):  # a layout table: walk its content
            for row in rows:
                for cell in row:
                    if cell.tag in {"td", "th"}:
                        self.visit(cell)
            self.flush()
            return
        header: list[str] = []
        for row, texts in zip(rows, cells):
            is_header = all(c.tag == "th" for c in row if isinstance(c.tag, str)) or row.getparent().tag == "thead"
            if is_header and not header:
                header = texts
                continue
            if header and len(header) == len(texts):
                line = "; ".join(f"{h}: {v}" if h else v for h, v in zip(header, texts) if v)
            else:
                line = "; ".join(v for v in texts if v)
            self.out.add(line, BlockKind.ROW)


def _code(text: str) -> str:
    lines = [line.rstrip() for line in textwrap.dedent(text.replace("\t", "    ")).split("\n")]
    while lines and not lines[0].strip():
        lines.pop(0)
    return "\n".join(lines).rstrip()
