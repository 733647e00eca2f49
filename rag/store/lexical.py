"""The lexical side of retrieval: one BM25 ranking, whichever store holds the index.

A store only *finds* passages: which rows contain a term, how many rows hold
each term, how many rows and tokens there are in all, and the text that was
indexed. The ranking is computed here, the same way for SQLite and for
PostgreSQL, so both stores return the same passages in the same order and a
question gets the same answer from either.

Words are analysed by SQLite's FTS5 tokenizer (``porter unicode61
remove_diacritics 2``: case folded, diacritics dropped, Porter-stemmed), which
is what the embedded store's full-text index uses; an in-memory FTS5 table
does the analysing, so the tokens are exactly the ones the SQLite index holds.
PostgreSQL stores the same tokens per chunk (``lex`` column, GIN index).

The score is FTS5's ``bm25()`` (k1 1.2, b 0.75, idf ``ln((N - n + .5) / (n + .5))``,
at least 1e-6), summed over the query's terms, with corpus-wide N, document
frequencies and mean length. Only a capped candidate set is scored
(``CANDIDATES`` rows): the rows of the rarest terms first, in row order, so a
question made of common words does not rank half the corpus. Below the cap the
ranking is exact BM25 over every matching row.
"""

from __future__ import annotations

import math
import re
import sqlite3
import threading
from collections import Counter
from collections.abc import Sequence
from typing import Protocol

from rag import lang

TOKENIZER = "porter unicode61 remove_diacritics 2"
K1 = 1.2
B = 0.75
CANDIDATES = 1000  # rows scored per question


class LexicalIndex(Protocol):
    """What a store provides for lexical search (``rag.store.sqlite.ChunkStore``, ``rag.store.postgres.PgStore``)."""

    def lexical_totals(self) -> tuple[int, int]:
        """(rows, tokens) of the whole full-text index."""
        ...

    def lexical_frequency(self, terms: Sequence[tuple[str, ...]]) -> dict[tuple[str, ...], int]:
        """How many rows hold each term (analysed tokens; several tokens are a phrase)."""
        ...

    def lexical_rows(self, terms: Sequence[tuple[str, ...]], limit: int) -> list[int]:
        """Ids of rows holding any of ``terms``, lowest ids first, at most ``limit``."""
        ...

    def lexical_positions(self, ids: Sequence[int], tokens: Sequence[str]) -> tuple[dict[int, dict[str, set[int]]], dict[int, int], dict[int, dict[str, int]]]:
        """Where each token occurs in each row (token offsets), each row's length in tokens, and the counts of
        tokens that occur more often than their positions show (PostgreSQL keeps at most 256 per token)."""
        ...


def body(title: str | None, section: str, text: str, text_en: str | None) -> str:
    """What the full-text index holds for a chunk: its document's title, section path, text and English rendering,
    then the word parts of its letter-digit identifiers (``identifier_parts``)."""
    indexed = "\n".join(part for part in (title, section, text, text_en) if part)
    parts = identifier_parts(indexed)
    return f"{indexed}\n{parts}" if parts else indexed


def identifier_parts(text: str) -> str:
    """The word parts of tokens that join letters and digits ("Debconf0" -> "Debconf", "CP437" -> "CP"), so a
    question naming the word alone ("the first DebConf") finds them; the whole token stays indexed too."""
    parts = []
    for token in re.findall(r"\w+", text):
        if any(ch.isdigit() for ch in token) and any(ch.isalpha() for ch in token):
            parts += re.findall(r"[^\W\d_]{2,}", token)
    return " ".join(parts)


class Analyzer:
    """Texts to FTS5 tokens, through a private in-memory FTS5 table (thread-safe)."""

    def __init__(self):
        self._db = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        self._db.execute(f"CREATE VIRTUAL TABLE t USING fts5(body, tokenize='{TOKENIZER}')")
        self._db.execute("CREATE VIRTUAL TABLE temp.v USING fts5vocab(main, 't', 'instance')")
        self._lock = threading.Lock()

    def offsets(self, texts: Sequence[str]) -> list[dict[str, list[int]]]:
        """Each text's tokens with their offsets (0, 1, … in token order), as FTS5 indexes them."""
        with self._lock:
            self._db.execute("BEGIN")
            try:
                self._db.executemany("INSERT INTO t (rowid, body) VALUES (?, ?)", enumerate(texts))
                rows = self._db.execute("SELECT doc, term, offset FROM temp.v").fetchall()
            finally:
                self._db.execute("ROLLBACK")
        out: list[dict[str, list[int]]] = [{} for _ in texts]
        for doc, term, offset in rows:
            out[doc].setdefault(term, []).append(offset)
        return out


_analyzer: Analyzer | None = None
_analyzer_lock = threading.Lock()


def analyzer() -> Analyzer:
    global _analyzer
    with _analyzer_lock:
        if _analyzer is None:
            _analyzer = Analyzer()
        return _analyzer


Term = tuple[str, ...]  # the tokens of one query word; several tokens ("pg_dump") are a phrase


def fts_terms(text: str) -> list[str]:
    """Distinct content words of ``text`` in a form safe for an FTS5 query."""
    words = re.findall(r"\w+", text.lower())
    stopwords = lang.for_text(text).stopwords
    seen: dict[str, None] = {}
    for word in words:
        if word not in stopwords and (len(word) > 1 or word.isdigit()):
            seen.setdefault(word, None)
    return list(seen)[:64]


def query_terms(question: str) -> list[Term]:
    """The analysed terms of the question's content words, in order, repeats kept (each counts, as in FTS5)."""
    words = fts_terms(question)
    if not words:
        return []
    analysed = analyzer().offsets(words)
    terms = [tuple(token for _, token in sorted((at, token) for token, offsets in found.items() for at in offsets))
             for found in analysed]
    return [term for term in terms if term]


def tsvector(found: dict[str, list[int]]) -> str:
    """A PostgreSQL ``tsvector`` literal of analysed tokens and their offsets (positions are 1-based, at most 16383)."""
    return " ".join("'" + token.replace("\\", "\\\\").replace("'", "''") + "':"
                    + ",".join(str(min(at + 1, 16383)) for at in sorted(offsets)[:256])
                    for token, offsets in sorted(found.items()))


def overflow(found: dict[str, list[int]]) -> dict[str, int] | None:
    """Counts of the tokens a ``tsvector`` cannot hold whole (over 256 positions, or past position 16383)."""
    many = {token: len(offsets) for token, offsets in found.items()
            if len({min(at + 1, 16383) for at in sorted(offsets)[:256]}) != len(offsets)}
    return many or None


def tsquery(terms: Sequence[Term]) -> str:
    """A PostgreSQL ``tsquery`` literal matching any of ``terms`` (a phrase's tokens in a row: ``<->``)."""
    def lexeme(token: str) -> str:
        return "'" + token.replace("\\", "\\\\").replace("'", "''") + "'"
    return " | ".join("(" + " <-> ".join(lexeme(t) for t in term) + ")" for term in terms)


def idf(rows: int, frequency: int) -> float:
    value = math.log((rows - frequency + 0.5) / (frequency + 0.5))
    return value if value > 0 else 1e-6


def candidates(store: LexicalIndex, frequency: dict[Term, int], cap: int = CANDIDATES) -> list[int]:
    """Rows to score: every matching row when there are at most ``cap``, else the rarest terms' rows first."""
    present = sorted((t for t, n in frequency.items() if n), key=lambda t: (frequency[t], t))
    if not present:
        return []
    if sum(frequency[t] for t in present) <= cap:
        return store.lexical_rows(present, cap)
    chosen: dict[int, None] = {}
    for term in present:
        for row in store.lexical_rows([term], cap):
            chosen.setdefault(row, None)
            if len(chosen) >= cap:
                return list(chosen)
    return list(chosen)


def occurrences(found: dict[str, set[int]], term: Term) -> int:
    """How often ``term`` occurs in a row, given where its tokens are; a phrase counts where its tokens follow each other."""
    first = found.get(term[0])
    if not first:
        return 0
    if len(term) == 1:
        return len(first)
    rest = [found.get(t, ()) for t in term[1:]]
    return sum(all(at + i + 1 in offsets for i, offsets in enumerate(rest)) for at in first)


def search(store: LexicalIndex, question: str, limit: int, cap: int = CANDIDATES) -> list[tuple[int, float]]:
    """(row id, BM25 score) best first, at most ``limit``; only rows holding a query term."""
    asked = query_terms(question)
    if not asked:
        return []
    weights = Counter(asked)  # a term asked twice counts twice, as FTS5 sums its phrases
    terms = sorted(weights)
    frequency = store.lexical_frequency(terms)
    rows = candidates(store, frequency, cap)
    if not rows:
        return []
    total_rows, total_tokens = store.lexical_totals()
    total_rows = max(total_rows, 1)
    mean_length = total_tokens / total_rows if total_tokens else 1.0
    term_idf = {t: idf(total_rows, frequency.get(t, 0)) for t in terms}
    positions, lengths, many = store.lexical_positions(rows, sorted({t for term in terms for t in term}))
    scored: list[tuple[int, float]] = []
    for row, found in positions.items():
        norm = K1 * (1 - B + B * lengths.get(row, 0) / mean_length)
        counted = many.get(row, {})
        score = 0.0
        for term in terms:
            tf = counted[term[0]] if len(term) == 1 and term[0] in counted else occurrences(found, term)
            if tf:
                score += weights[term] * term_idf[term] * (tf * (K1 + 1)) / (tf + norm)
        if score > 0:
            scored.append((row, score))
    scored.sort(key=lambda item: (-item[1], item[0]))
    return scored[:limit]


def sqlite_varints(blob: bytes) -> list[int]:
    """Decode SQLite's big-endian varints (FTS5's record format)."""
    values, i = [], 0
    while i < len(blob):
        value = 0
        for n in range(9):
            byte = blob[i]
            i += 1
            if n == 8:
                value = (value << 8) | byte
                break
            value = (value << 7) | (byte & 0x7F)
            if not byte & 0x80:
                break
        values.append(value)
    return values
