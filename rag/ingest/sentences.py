"""The one sentence splitter of the project.

pysbd does the splitting (abbreviations, decimals, quotes, per language);
this module feeds it one paragraph at a time in pieces it can handle, keeps
exact offsets, and glues back what it splits wrongly: a two-word piece ("He."
of a name split by a stray full stop) and a full stop inside brackets
("Canaan Inc (CAN.O), a maker, said …"). Every other module that needs
sentences calls ``split_sentences`` or ``sentences``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from rag import lang as languages

PYSBD_LANGUAGES = {
    "en", "hi", "mr", "zh", "es", "am", "ar", "hy", "bg", "ur", "ru", "pl", "fa", "nl", "da", "fr",
    "my", "el", "it", "ja", "de", "kk", "sk",
}
MAX_SENTENCE_CHARS = 1000  # longer "sentences" (run-on text) are cut at word boundaries
MAX_SEGMENTER_CHARS = 4000  # pysbd takes time quadratic in its input, so long paragraphs go in pieces
PROSE = ("sentence", "item")  # the unit kinds that are running text (a heading, code or table row is not)
PIECE_END = re.compile(r"[.!?…。！？][\"'”’)\]]*\s+")


@dataclass(frozen=True)
class Sentence:
    start: int
    end: int


@lru_cache(maxsize=8)
def _segmenter(lang: str):
    import pysbd

    return pysbd.Segmenter(language=lang if lang in PYSBD_LANGUAGES else "en", clean=False)


def split_span(text: str, start: int, end: int, lang: str = "en") -> list[Sentence]:
    """Sentence spans of ``text[start:end]``, one paragraph."""
    spans: list[Sentence] = []
    for piece_start, piece_end in _pieces(text, start, end):
        spans += _split_piece(text, piece_start, piece_end, lang)
    return spans


def split_sentences(text: str, lang: str = "en") -> list[Sentence]:
    """Sentence spans of a plain text; a line break always ends a sentence."""
    spans: list[Sentence] = []
    for line in re.finditer(r"[^\n]+", text):
        spans += split_span(text, line.start(), line.end(), lang)
    return spans


def sentences(text: str, lang: str = "en") -> list[str]:
    """The sentences of ``text`` as strings."""
    return [text[s.start:s.end] for s in split_sentences(text, lang)]


def leans_on_previous(previous: str, previous_kind: str, text: str, lang: str = "en") -> bool:
    """Whether a unit cannot be read without the prose sentence before it.

    It continues that sentence (starts lower-case: "for mining machines."), points back to it
    (the language's ``refers_back``: "It is quite possibly the most badly maintained …"), or that
    sentence introduces it ("… have the following meanings:" above a list, a table or code).
    """
    if previous_kind not in PROSE:
        return False
    if previous.rstrip().endswith(":"):
        return True
    first = next((ch for ch in text if ch.isalnum()), "")
    pattern = languages.pattern(lang, "refers_back")
    return first.islower() or (pattern is not None and pattern.match(text.lstrip()) is not None)


def _pieces(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Cut a long paragraph before a sentence end (else a space) so no piece exceeds MAX_SEGMENTER_CHARS."""
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


def _split_piece(text: str, start: int, end: int, lang: str) -> list[Sentence]:
    line = text[start:end]
    if not line.strip():
        return []
    out: list[Sentence] = []
    cursor = 0
    # Within one paragraph a line break is a space: pysbd would end a sentence at each hard wrap
    # ("… and was based" / "on the …"). Same length, so offsets found in it hold for ``line``.
    line = line.replace("\n", " ")
    for piece in _segmenter(lang).segment(line):
        stripped = piece.strip()
        if not stripped:
            continue
        found = line.find(stripped, cursor)
        if found < 0:  # pysbd changed the text; fall back to the remaining line
            found, stripped = cursor, line[cursor:].strip()
        cursor = found + len(stripped)
        if out and (_is_fragment(stripped) or _open_parenthesis(text[out[-1].start:out[-1].end])):
            out[-1] = Sentence(out[-1].start, start + cursor)
        else:
            out.append(Sentence(start + found, start + cursor))
    out = [piece for s in out for piece in cut_long(text, s.start, s.end)]
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


def cut_long(text: str, start: int, end: int, limit: int = MAX_SENTENCE_CHARS, at: str = " ") -> list[Sentence]:
    """``text[start:end]`` in pieces of at most ``limit`` characters, cut at ``at`` where possible."""
    out = []
    while end - start > limit:
        cut = text.rfind(at, start + limit // 2, start + limit)
        cut = cut if cut > start else start + limit
        out.append(Sentence(start, cut))
        start = cut
        while start < end and text[start].isspace():
            start += 1
    if end > start:
        out.append(Sentence(start, end))
    return out
