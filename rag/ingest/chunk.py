"""Split an extracted document into units and sentence-aligned, overlapping chunks.

Units are what evidence is made of: sentences of paragraphs, and whole
headings, code blocks and table rows, which are never split into sentences or
glued to one. A heading starts a new chunk; every chunk records the section
path it sits in. Every span is an offset pair into the document text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rag.core.records import Chunk, Document
from rag.ingest.extract import Block, BlockKind, extract_text
from rag.ingest.sentences import MAX_SENTENCE_CHARS, Sentence, cut_long, leans_on_previous, split_span

# Bump when extraction, cleaning or sentence/chunk rules change: indexes record it, so one
# built with other rules asks for `rag ingest --rebuild` instead of serving stale offsets.
TEXT_RULES_VERSION = "8"
SECTION_SEPARATOR = " › "


@dataclass(frozen=True)
class Unit:
    """A sentence, heading, code block or table row: the smallest piece that is cited."""

    start: int
    end: int
    kind: str = "sentence"  # "sentence" | "item" (of a list) | "heading" | "code" | "row"
    section: tuple[str, ...] = ()


def split_units(text: str, blocks: Sequence[Block], lang: str = "en") -> list[Unit]:
    """The units of every block, in document order."""
    units: list[Unit] = []
    for block in blocks:
        if block.kind in (BlockKind.PARAGRAPH, BlockKind.ITEM):
            kind = "item" if block.kind is BlockKind.ITEM else "sentence"
            units += [Unit(s.start, s.end, kind, block.section) for s in split_span(text, block.start, block.end, lang)]
        else:
            at = "\n" if block.kind is BlockKind.CODE else " "
            units += [Unit(s.start, s.end, block.kind.value, block.section)
                      for s in cut_long(text, block.start, block.end, MAX_SENTENCE_CHARS, at)]
    return units


def split_sentences(text: str, lang: str = "en") -> list[Unit]:
    """Units of a plain text (boilerplate left out, hard-wrapped lines joined)."""
    extracted = extract_text(text)
    return split_units(text, extracted.blocks, lang)


def chunk_sentences(doc: Document, units: Sequence[Unit | Sentence], chunk_chars: int = 600,
                    overlap: int = 1) -> list[Chunk]:
    """Group consecutive units into chunks of about ``chunk_chars`` characters.

    Neighbouring chunks share ``overlap`` units within a section, and a shared unit brings along the
    sentence it leans on (a list's lead-in, the sentence an "It …" points back to). A heading
    starts a new chunk, and a chunk never spans a boilerplate gap, since its
    text must be the exact original slice.
    """
    groups: list[list] = []
    current: list = []
    for unit in units:
        heading = getattr(unit, "kind", "") == "heading"
        crosses_gap = bool(current) and _has_noise_between(doc.text, current[-1].end, unit.start)
        new_section = bool(current) and getattr(unit, "section", ()) != getattr(current[-1], "section", ())
        only_headings = all(getattr(u, "kind", "") == "heading" for u in current)
        heading = heading and not only_headings  # a heading right under another stays with it
        new_section = new_section and not only_headings
        if current and (heading or crosses_gap or new_section or unit.end - current[0].start > chunk_chars):
            groups.append(current)
            carry = overlap and not (heading or crosses_gap or new_section) and len(current) > overlap
            current = _carried(doc, current, overlap, chunk_chars // 2) if carry else []
        current.append(unit)
    if current and not (groups and set(current) <= set(groups[-1])):
        groups.append(current)
    chunks = []
    for ordinal, group in enumerate(groups):
        start, end = group[0].start, group[-1].end
        section = SECTION_SEPARATOR.join(getattr(group[0], "section", ()) or ())
        chunks.append(Chunk(f"{doc.doc_id}#{ordinal}", doc.doc_id, start, end, doc.text[start:end], section=section))
    return chunks


def _carried(doc: Document, group: list, overlap: int, limit: int) -> list:
    """The units of a closed chunk that open the next one: its last ``overlap`` units, and before them
    what the first of those leans on (``leans_on_previous``: the sentence a list item's lead-in or an
    "It …" needs), while that fits in ``limit`` characters and stays in the chunk."""
    keep = [u for u in group[-overlap:] if getattr(u, "kind", "sentence") != "heading"]
    at = len(group) - len(keep)
    while keep and at > 1:
        before, first = group[at - 1], keep[0]
        if first.end - before.start > limit or _has_noise_between(doc.text, before.end, first.start):
            break
        if not leans_on_previous(doc.text[before.start:before.end], getattr(before, "kind", "sentence"),
                                 doc.text[first.start:first.end], doc.lang):
            break
        keep.insert(0, before)
        at -= 1
    return keep


def _has_noise_between(text: str, a: int, b: int) -> bool:
    """Whether the gap between two units holds anything but white space and punctuation."""
    return any(ch.isalnum() for ch in text[a:b])
