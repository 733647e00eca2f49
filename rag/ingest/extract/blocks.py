"""The structured result of extraction: one text plus the blocks it is made of.

Every extractor (HTML, PDF, plain text, Markdown) builds its text through a
``TextBuilder``, so every format hands the chunker the same record: block
spans into the text, the kind of each block and the headings above it. The
stored document text *is* this extracted text, so citations stay exact
slices of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class ExtractError(Exception):
    """A file whose content cannot be extracted; the message is the one-line reason."""


class BlockKind(str, Enum):
    """What a block is; headings and code are units of their own, never split into sentences."""

    HEADING = "heading"
    PARAGRAPH = "paragraph"
    CODE = "code"
    ROW = "row"  # one table row, read as "column: value; column: value"
    ITEM = "item"  # a list item: split into sentences like a paragraph, quoted with the lead-in above its list


@dataclass(frozen=True)
class Block:
    start: int
    end: int
    kind: BlockKind
    section: tuple[str, ...] = ()  # the headings above this block, outermost first
    level: int = 0  # heading level (1 = top), 0 for other blocks


@dataclass(frozen=True)
class Extracted:
    """What an extractor read from one file."""

    text: str
    blocks: tuple[Block, ...]
    title: str = ""
    date: str | None = None
    extractor: str = ""  # name and version, recorded in the index manifest


@dataclass
class TextBuilder:
    """Appends blocks to one text, separated by blank lines, and tracks the section path."""

    parts: list[str] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    length: int = 0
    headings: list[tuple[int, str]] = field(default_factory=list)  # (level, text) of open sections

    @property
    def section(self) -> tuple[str, ...]:
        return tuple(text for _level, text in self.headings)

    def add(self, text: str, kind: BlockKind = BlockKind.PARAGRAPH, level: int = 0) -> None:
        text = text.strip("\n") if kind is BlockKind.CODE else text.strip()
        if not text or not any(ch.isalnum() for ch in text):
            return
        if kind is BlockKind.HEADING:
            level = max(1, level)
            while self.headings and self.headings[-1][0] >= level:
                self.headings.pop()
            self.headings.append((level, " ".join(text.split())))
        if self.parts:
            self.parts.append("\n\n")
            self.length += 2
        self.blocks.append(Block(self.length, self.length + len(text), kind, self.section, level))
        self.parts.append(text)
        self.length += len(text)

    def build(self, title: str = "", date: str | None = None, extractor: str = "") -> Extracted:
        return Extracted("".join(self.parts), tuple(self.blocks), title, date, extractor)
