"""The lexical side of retrieval: what the full-text index holds, and how a question becomes a query.

Each store ranks with its own engine (SQLite: FTS5's ``bm25()``; PostgreSQL:
``ts_rank`` over a GIN-indexed ``tsvector``), top ``k`` first, so the cost of
a question is the engine's index lookup and nothing that walks the library in
Python. The two stores do not score alike; retrieval fuses ranks, not scores
(``rag.retrieval.retrieve``), and parity is judged on answers and hit@5.

Words are analysed by SQLite's FTS5 tokenizer (``porter unicode61
remove_diacritics 2``: case folded, diacritics dropped, Porter-stemmed), which
is what the embedded store's full-text index uses; an in-memory FTS5 table
does the analysing through the documented ``fts5vocab`` view, so PostgreSQL's
``lex`` column holds exactly the tokens the SQLite index holds, and a question
matches the same passages in either store.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Sequence

from rag import lang

TOKENIZER = "porter unicode61 remove_diacritics 2"
MAX_TERMS = 64  # query words kept per question (a pasted page must not become a 10,000-term query)
LEXEME_BYTES = 2046  # the longest token PostgreSQL's tsvector and tsquery hold (longer ones are an error there)


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
    """Distinct content words of ``text`` (lower case, word characters only, not stopwords of its language)."""
    words = re.findall(r"\w+", text.lower())
    stopwords = lang.for_text(text).stopwords
    seen: dict[str, None] = {}
    for word in words:
        if word not in stopwords and (len(word) > 1 or word.isdigit()):
            seen.setdefault(word, None)
    return list(seen)[:MAX_TERMS]


def match_expression(question: str) -> str:
    """An FTS5 query matching any content word of ``question``; "" when it has none.

    Every word is a quoted string (quotes doubled), so nothing a user types is
    read as FTS5 syntax (``AND``, ``NEAR``, ``*``, ``:``, parentheses); a word
    FTS5 splits ("pg_dump") is matched as the phrase of its parts.
    """
    return " OR ".join('"' + word.replace('"', '""') + '"' for word in fts_terms(question))


def query_terms(question: str) -> list[Term]:
    """The analysed terms of the question's content words, in order (for stores that hold the analysed tokens)."""
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
                    for token, offsets in sorted(found.items()) if fits_postgres(token))


def fits_postgres(token: str) -> bool:
    """Whether PostgreSQL can hold ``token`` as a lexeme (a 2 KB run of letters cannot, nor be searched for there)."""
    return len(token.encode("utf-8")) <= LEXEME_BYTES


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


