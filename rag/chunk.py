"""Split a document into sentences and sentence-aligned, overlapping chunks.

Sentences never cross a line break or a boilerplate span, so a one-paragraph
article still splits cleanly and no chunk contains a "Read more" fragment.
Every span is an offset pair into the original text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from rag.clean import clean_segments, find_noise
from rag.records import Chunk, Document

PYSBD_LANGUAGES = {
    "en", "hi", "mr", "zh", "es", "am", "ar", "hy", "bg", "ur", "ru", "pl", "fa", "nl", "da", "fr",
    "my", "el", "it", "ja", "de", "kk", "sk",
}
MAX_SENTENCE_CHARS = 1000  # longer "sentences" (tables, run-on text) are cut at word boundaries
# Bump when cleaning or sentence/chunk rules change: indexes record it, so one built
# with other rules asks for `rag ingest --rebuild` instead of serving stale offsets.
TEXT_RULES_VERSION = "4"
MAX_SEGMENTER_CHARS = 4000  # pysbd takes time quadratic in its input, so long lines are fed in pieces
PIECE_END = re.compile(r"[.!?…。！？][\"'”’)\]]*\s+")


@dataclass(frozen=True)
class Sentence:
    start: int
    end: int


@lru_cache(maxsize=8)
def _segmenter(lang: str):
    import pysbd

    return pysbd.Segmenter(language=lang if lang in PYSBD_LANGUAGES else "en", clean=False)


def split_sentences(text: str, lang: str = "en") -> list[Sentence]:
    """Sentence spans of the article content of ``text``, boilerplate left out."""
    spans: list[Sentence] = []
    for seg_start, seg_end in clean_segments(text, find_noise(text)):
        for line in re.finditer(r"[^\n]+", text[seg_start:seg_end]):
            line_start = seg_start + line.start()
            for start, end in _pieces(text, line_start, seg_start + line.end()):
                spans += _split_line(text, start, end, lang)
    return spans


def _pieces(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Cut a long line before a sentence end (else a space) so no piece exceeds MAX_SEGMENTER_CHARS."""
    out = []
    while end - start > MAX_SEGMENTER_CHARS:
        limit = start + MAX_SEGMENTER_CHARS
        ends = [m.end() for m in PIECE_END.finditer(text, start + MAX_SEGMENTER_CHARS // 2, limit)]
        cut = ends[-1] if ends else text.rfind(" ", start + MAX_SEGMENTER_CHARS // 2, limit) + 1
        cut = cut if cut > start else limit
        out.append((start, cut))
        start = cut
    out.append((start, end))
    return out


def _split_line(text: str, start: int, end: int, lang: str) -> list[Sentence]:
    line = text[start:end]
    if not line.strip():
        return []
    out: list[Sentence] = []
    cursor = 0
    for piece in _segmenter(lang).segment(line):
        stripped = piece.strip()
        if not stripped:
            continue
        found = line.find(stripped, cursor)
        if found < 0:  # pysbd changed the text; fall back to the remaining line
            found, stripped = cursor, line[cursor:].strip()
        cursor = found + len(stripped)
        if out and (_is_fragment(stripped) or _open_parenthesis(text[out[-1].start:out[-1].end])):
            # "...Premier Liu. He." and "Canaan Inc (CAN. O), a maker, said..." stay one sentence
            out[-1] = Sentence(out[-1].start, start + cursor)
        else:
            out.append(Sentence(start + found, start + cursor))
    out = [piece for s in out for piece in _cut_long(s.start, s.end, text)]
    return [s for s in out if any(ch.isalnum() for ch in text[s.start:s.end])]


def _open_parenthesis(sentence: str) -> bool:
    """A full stop just inside brackets ("Ebang International (EBON.O)") ends no sentence.

    Only a bracket opened in the last few words counts, so a stray "(" cannot glue a
    whole paragraph together.
    """
    opened = sentence.rfind("(")
    return opened >= 0 and ")" not in sentence[opened:] and len(sentence) - opened <= 30


def _is_fragment(sentence: str) -> bool:
    """A piece too short to stand alone, such as the "He." of a name split by a stray full stop."""
    return len(sentence.split()) <= 2


def _cut_long(start: int, end: int, text: str) -> list[Sentence]:
    out = []
    while end - start > MAX_SENTENCE_CHARS:
        cut = text.rfind(" ", start + MAX_SENTENCE_CHARS // 2, start + MAX_SENTENCE_CHARS)
        cut = cut if cut > start else start + MAX_SENTENCE_CHARS
        out.append(Sentence(start, cut))
        start = cut
        while start < end and text[start].isspace():
            start += 1
    if end > start:
        out.append(Sentence(start, end))
    return out


def chunk_sentences(
    doc: Document, sentences: list[Sentence], chunk_chars: int = 600, overlap: int = 1
) -> list[Chunk]:
    """Group consecutive sentences into chunks of about ``chunk_chars`` characters.

    Neighbouring chunks share ``overlap`` sentences. A chunk never spans a
    boilerplate gap, since its text must be the exact original slice.
    """
    groups: list[list[Sentence]] = []
    current: list[Sentence] = []
    for sentence in sentences:
        crosses_gap = bool(current) and _has_noise_between(doc.text, current[-1].end, sentence.start)
        if current and (crosses_gap or sentence.end - current[0].start > chunk_chars):
            groups.append(current)
            keep = current[-overlap:] if overlap and not crosses_gap and len(current) > overlap else []
            current = list(keep)
        current.append(sentence)
    if current and not (groups and set(current) <= set(groups[-1])):
        groups.append(current)
    chunks = []
    for ordinal, group in enumerate(groups):
        start, end = group[0].start, group[-1].end
        chunks.append(Chunk(f"{doc.doc_id}#{ordinal}", doc.doc_id, start, end, doc.text[start:end]))
    return chunks


def _has_noise_between(text: str, a: int, b: int) -> bool:
    """Whether the gap between two sentences holds anything but white space and punctuation."""
    return any(ch.isalnum() for ch in text[a:b])
