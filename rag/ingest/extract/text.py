"""Plain text and Markdown as blocks.

Plain text keeps its exact characters (the bundled news articles are cited by
offsets into their files); blocks skip the boilerplate that ``rag.ingest.clean``
finds and join hard-wrapped lines into one paragraph. Markdown is rendered to
plain text: headings lose their ``#`` and become the section path, fenced code
stays whole, list items and table rows become blocks, front matter gives the
title and date.
"""

from __future__ import annotations

import re

from rag.ingest.clean import clean_segments, date_header, find_noise
from rag.ingest.extract.blocks import Block, BlockKind, Extracted, TextBuilder

TEXT_EXTRACTOR = "text/1"
MARKDOWN_EXTRACTOR = "markdown/1"
SENTENCE_END = re.compile(r"[.!?:;][\"'”’)\]]*\s*$")  # a closing quote or bracket ends nothing by itself
OVERSTRIKE = re.compile(r"_\x08(?=[^\n])|([^\n])\x08(?=\1)")  # nroff's underline ("_\bB") and bold ("B\bB")
LIST_START = re.compile(r"^(?:[-*+•]|\d+[.)])\s")
WRAPPED_LINE_CHARS = 50  # a line this long that stops mid-sentence was wrapped, whatever starts the next


def extract_text(text: str) -> Extracted:
    """Blocks over the original text: one per paragraph, boilerplate left out.

    Manual pages saved as text (Postfix's READMEs) set headings in nroff overstrike; those
    are read as the characters they print, so the text differs from the file only there.
    """
    text = OVERSTRIKE.sub("", text)
    blocks: list[Block] = []
    for seg_start, seg_end in clean_segments(text, find_noise(text)):
        start = None
        end = seg_start
        previous = ""
        for line in re.finditer(r"[^\n]+", text[seg_start:seg_end]):
            line_start, line_end = seg_start + line.start(), seg_start + line.end()
            body = line.group().strip()
            if not body:
                continue
            if start is not None and not _continues(previous, body, text[end:line_start]):
                blocks.append(Block(start, end, _kind_of(text[start:end])))
                start = None
            if start is None:
                start = line_start + (len(line.group()) - len(line.group().lstrip()))
            end = line_start + len(line.group().rstrip())
            previous = body
        if start is not None:
            blocks.append(Block(start, end, _kind_of(text[start:end])))
    title = _first_line_title(text, blocks)
    return Extracted(text, tuple(blocks), title, date_header(text), TEXT_EXTRACTOR)


def _kind_of(paragraph: str) -> BlockKind:
    """A paragraph that starts with a bullet or a number ("* ", "2) ") is a list item."""
    return BlockKind.ITEM if LIST_START.match(paragraph) else BlockKind.PARAGRAPH


def _continues(previous: str, line: str, gap: str) -> bool:
    """A hard-wrapped line: no blank line before it, the previous line unfinished, and this one in
    lower case or the previous one long (a wrapped line, not a title), and not a list item."""
    if gap.count("\n") != 1 or SENTENCE_END.search(previous) or LIST_START.match(line):
        return False
    return line[:1].islower() or len(previous) >= WRAPPED_LINE_CHARS


def _first_line_title(text: str, blocks: list[Block]) -> str:
    for block in blocks:
        first_line = text[block.start:block.end].split("\n", 1)[0].strip()
        if 0 < len(first_line) <= 200:
            return first_line
        sentence = re.split(r"(?<=[.!?])\s", first_line, maxsplit=1)[0]
        return sentence if len(sentence) <= 120 else sentence[:117].rstrip() + "…"
    return ""


FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n(?:---|\.\.\.)\s*\n", re.DOTALL)
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
SETEXT = re.compile(r"^(=+|-+)\s*$")
FENCE = re.compile(r"^\s*(```|~~~)")
LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
INLINE = [
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),  # images: their alt text
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),  # links: their text
    (re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1"), r"\2"),
    (re.compile(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?!\w)"), r"\1"),
    (re.compile(r"<[^>\n]+>"), ""),  # inline HTML tags
]


def extract_markdown(source: str) -> Extracted:
    title, date = "", None
    match = FRONT_MATTER.match(source)
    if match:
        meta = dict(re.findall(r"^(\w+)\s*:\s*(.+?)\s*$", match.group(1), re.MULTILINE))
        title = meta.get("title", "").strip("\"'")
        found = re.match(r"\d{4}-\d{2}(?:-\d{2})?", meta.get("date", "").strip("\"'"))
        date = found.group(0) if found else None
        source = source[match.end():]
    out = TextBuilder()
    lines = source.split("\n")
    paragraph: list[str] = []
    table_header: list[str] = []
    item = [False]  # whether the paragraph being gathered is a list item

    def flush() -> None:
        if paragraph:
            out.add(_inline(" ".join(p.strip() for p in paragraph)), BlockKind.ITEM if item[0] else BlockKind.PARAGRAPH)
            paragraph.clear()
        item[0] = False

    i = 0
    while i < len(lines):
        line = lines[i]
        heading = HEADING.match(line)
        if FENCE.match(line):
            flush()
            fence = FENCE.match(line).group(1)
            code = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith(fence):
                code.append(lines[i])
                i += 1
            out.add("\n".join(code), BlockKind.CODE)
        elif heading:
            flush()
            out.add(_inline(heading.group(2)), BlockKind.HEADING, len(heading.group(1)))
        elif paragraph and len(paragraph) == 1 and SETEXT.match(line) and paragraph[0].strip():
            text = paragraph.pop()
            out.add(_inline(text), BlockKind.HEADING, 1 if line.strip().startswith("=") else 2)
        elif line.strip().startswith("|") and "|" in line.strip()[1:]:
            flush()
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if i + 1 < len(lines) and TABLE_RULE.match(lines[i + 1]):
                table_header = cells
                i += 1
            elif table_header and len(table_header) == len(cells):
                out.add(_inline("; ".join(f"{h}: {c}" if h else c for h, c in zip(table_header, cells) if c)),
                        BlockKind.ROW)
            else:
                out.add(_inline("; ".join(c for c in cells if c)), BlockKind.ROW)
        elif not line.strip():
            flush()
            table_header = []
        elif LIST_ITEM.match(line):
            flush()
            item[0] = True
            paragraph.append(LIST_ITEM.sub("", line, count=1))
        else:
            paragraph.append(line)
        i += 1
    flush()
    extracted = out.build(date=date, extractor=MARKDOWN_EXTRACTOR)
    if not title:
        first_heading = next((b for b in extracted.blocks if b.kind is BlockKind.HEADING), None)
        title = extracted.text[first_heading.start:first_heading.end] if first_heading else _first_line_title(
            extracted.text, list(extracted.blocks))
    return Extracted(extracted.text, extracted.blocks, title, date, MARKDOWN_EXTRACTOR)


def _inline(text: str) -> str:
    for pattern, replacement in INLINE:
        text = pattern.sub(replacement, text)
    return text.replace("`", "")
