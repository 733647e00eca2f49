"""The PostgreSQL store's full-text side: FTS5's tokens kept in ``lex`` (GIN), read for ``rag.store.lexical``.

The tokens come from the same analyzer as the SQLite store's, so both stores
rank a question's passages alike. A part of ``PgStore``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from rag.store import lexical
from rag.store.lexical import analyzer


class PgFullText:
    """BM25 search, term statistics and phrase counts over the ``lex`` column (mixed into ``PgStore``)."""

    def lexical_search(self, query: str, limit: int) -> list[tuple[int, float]]:
        """(chunk id, BM25 score) best first: the same ranking as the SQLite store (``rag.store.lexical``)."""
        return lexical.search(self, query, limit)

    def lexical_totals(self) -> tuple[int, int]:
        generation = self.generation()
        cached = getattr(self, "_totals", None)
        if cached is None or cached[0] != generation:
            with self._lock:
                rows, tokens = self._conn.execute("SELECT count(*), coalesce(sum(lex_len), 0) FROM chunks").fetchone()
            cached = self._totals = (generation, (int(rows), int(tokens)))
        return cached[1]

    def lexical_frequency(self, terms: Iterable[tuple[str, ...]]) -> dict[tuple[str, ...], int]:
        terms = list(terms)
        counts: dict[tuple[str, ...], int] = {}
        with self._lock:
            for term in terms:
                row = self._conn.execute("SELECT count(*) FROM chunks WHERE lex @@ %s::tsquery",
                                         (lexical.tsquery([term]),)).fetchone()
                counts[term] = int(row[0])
        return counts

    def lexical_rows(self, terms: Iterable[tuple[str, ...]], limit: int) -> list[int]:
        terms = list(terms)
        if not terms:
            return []
        with self._lock:  # "id + 0": order after the GIN lookup, never by walking the primary key
            rows = self._conn.execute("SELECT id FROM chunks WHERE lex @@ %s::tsquery ORDER BY id + 0 LIMIT %s",
                                      (lexical.tsquery(terms), int(limit))).fetchall()
        return [int(r[0]) for r in rows]

    def lexical_positions(self, ids: Iterable[int], tokens: Iterable[str]) -> tuple[dict[int, dict[str, set[int]]], dict[int, int], dict[int, dict[str, int]]]:
        ids, tokens = [int(i) for i in ids], list(tokens)
        if not ids:
            return {}, {}, {}
        with self._lock:
            rows = self._conn.execute(
                "SELECT c.id, c.lex_len, c.lex_many, u.lexeme, u.positions FROM chunks c "
                "LEFT JOIN LATERAL unnest(c.lex) u ON u.lexeme = ANY(%s) WHERE c.id = ANY(%s)", (tokens, ids)).fetchall()
        found: dict[int, dict[str, set[int]]] = {}
        lengths: dict[int, int] = {}
        many: dict[int, dict[str, int]] = {}
        for row, length, counts, lexeme, positions in rows:
            lengths[row] = int(length or 0)
            if counts:
                many[row] = counts
            if lexeme is not None:
                found.setdefault(row, {})[lexeme] = {p - 1 for p in positions}
        return found, lengths, many

    def term_document_frequency(self, terms: Iterable[str], chunk_ids: Iterable[str] | None = None) -> dict[str, int]:
        """In how many passages each term (a phrase if it has several words) occurs, analysed as SQLite's FTS5 does."""
        within = list(chunk_ids) if chunk_ids is not None else None
        where = "" if within is None else " AND chunk_id = ANY(%s)"
        terms = list(terms)
        phrases = [" ".join(re.findall(r"\w+", term.lower().replace("_", " "))) for term in terms]
        analysed = analyzer().offsets(phrases)
        counts: dict[str, int] = {}
        with self._lock:
            for term, found in zip(terms, analysed):
                tokens = tuple(token for _, token in sorted((at, t) for t, offsets in found.items() for at in offsets))
                if not tokens or within == []:
                    counts[term] = 0
                    continue
                row = self._conn.execute(f"SELECT count(*) FROM chunks WHERE lex @@ %s::tsquery{where}",
                                         (lexical.tsquery([tokens]), *([within] if within is not None else []))).fetchone()
                counts[term] = int(row[0])
        return counts
