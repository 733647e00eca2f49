"""The PostgreSQL store's full-text side: the database ranks, over the GIN-indexed ``lex`` tsvector, ``LIMIT k``.

``lex`` holds the tokens SQLite's FTS5 index holds (``rag.store.lexical``), so
a question matches the same passages in either store. PostgreSQL's own
``ts_rank`` has no inverse document frequency, so each query term's rank is
weighted by BM25's idf, ``ln((N - n + .5) / (n + .5))`` (at least 1e-6), with
``n`` counted through the GIN index in the same statement: a question naming a
rare word ("Kazakhstan") is not outvoted by one naming a common one ("take").
A part of ``PgStore``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from rag.store import lexical
from rag.store.lexical import analyzer, fits_postgres, query_terms

# Per term: its idf; per matching chunk: the idf-weighted sum of ts_rank (normalization 1: divided by
# 1 + log(length)), computed only for rows the GIN index returns for some term, best first.
SEARCH = """
WITH terms AS (
    SELECT t::tsquery AS query, greatest(ln((%(rows)s - df + 0.5) / (df + 0.5)), 1e-6) AS idf
    FROM unnest(%(terms)s::text[]) AS t,
         LATERAL (SELECT count(*) AS df FROM chunks WHERE lex @@ t::tsquery) AS counted
)
SELECT c.id, sum(terms.idf * ts_rank(c.lex, terms.query, 1)) AS score
FROM terms JOIN chunks c ON c.lex @@ terms.query
GROUP BY c.id ORDER BY score DESC, c.id LIMIT %(limit)s
"""


class PgFullText:
    """Ranked search and term counts over the ``lex`` column (mixed into ``PgStore``)."""

    def lexical_search(self, query: str, limit: int) -> list[tuple[int, float]]:
        """(chunk id, score) best first, at most ``limit``; higher is better (not on the SQLite store's scale)."""
        terms = [term for term in query_terms(query) if all(map(fits_postgres, term))]
        if not terms or limit <= 0:
            return []
        rows = self._passages()
        with self._lock:
            found = self._conn.execute(SEARCH, {"rows": rows, "terms": [lexical.tsquery([t]) for t in terms],
                                                "limit": int(limit)}).fetchall()
        return [(int(row), float(score)) for row, score in found]

    def _passages(self) -> int:
        """How many chunks there are (the N of idf), counted once per generation."""
        generation = self.generation()
        cached = getattr(self, "_passage_count", None)
        if cached is None or cached[0] != generation:
            with self._lock:
                count = int(self._conn.execute("SELECT count(*) FROM chunks").fetchone()[0])
            cached = self._passage_count = (generation, count)
        return cached[1]

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
