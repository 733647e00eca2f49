"""The PostgreSQL store's full-text side: the database ranks, over the GIN-indexed ``lex`` tsvector, ``LIMIT k``.

``lex`` holds the tokens SQLite's FTS5 index holds (``rag.store.lexical``), so
a question matches the same passages in either store. PostgreSQL's own
``ts_rank`` has no inverse document frequency, so each query term's rank is
weighted by BM25's idf, ``ln((N - n + .5) / (n + .5))`` (at least 1e-6), with
``n`` read from ``lexeme_df`` (kept by triggers, migration 3): a question naming
a rare word ("Kazakhstan") is not outvoted by one naming a common one ("take").
Ranking every row that holds any query term cost ~0.9 s at 100k passages (a
common word matches a third of them, and each row's ``lex`` was decompressed
once per term), so only the rows holding the question's rarest terms are ranked
(``CANDIDATES``): a bounded, approximate top k. A part of ``PgStore``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from rag.store import lexical
from rag.store.lexical import analyzer, fits_postgres, query_terms

# Per term: its document frequency (``lexeme_df``, kept by triggers; a phrase is counted through the GIN
# index) and idf. Candidates: the rows holding the rarest terms, taken while their postings together stay
# within ``%(budget)s`` rows (the rarest term always), one bitmap scan of the GIN index; only they are ranked,
# with every query term: the idf-weighted sum of ts_rank (normalization 1: divided by 1 + log length).
SEARCH = """
WITH terms AS MATERIALIZED (
    SELECT u.query::tsquery AS query, n.df, greatest(ln((%(rows)s - n.df + 0.5) / (n.df + 0.5)), 1e-6) AS idf
    FROM unnest(%(terms)s::text[], %(lexemes)s::text[]) AS u(query, lexeme),
         LATERAL (SELECT CASE WHEN u.lexeme IS NULL THEN (SELECT count(*) FROM chunks WHERE lex @@ u.query::tsquery)
                              ELSE coalesce((SELECT df FROM lexeme_df WHERE lexeme = u.lexeme), 0) END AS df) AS n
),
chosen AS (
    SELECT string_agg('(' || query::text || ')', ' | ')::tsquery AS query
    FROM (SELECT query, df, sum(df) OVER (ORDER BY df, query::text ROWS UNBOUNDED PRECEDING) AS running
          FROM terms WHERE df > 0) AS rarest
    WHERE running - df < %(budget)s
),
candidates AS MATERIALIZED (  -- each lex read and decompressed once (|| makes an in-memory copy), not once per term
    SELECT c.id, c.lex || ''::tsvector AS lex FROM chunks c, chosen WHERE c.lex @@ chosen.query
)
SELECT c.id, sum(terms.idf * ts_rank(c.lex, terms.query, 1)) AS score
FROM candidates c CROSS JOIN terms
GROUP BY c.id ORDER BY score DESC, c.id LIMIT %(limit)s
"""
CANDIDATES = 1000  # rows ranked at most, unless the rarest term alone holds more (docs/scaling.md: the curve)


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
                                                "lexemes": [t[0] if len(t) == 1 else None for t in terms],
                                                "budget": CANDIDATES, "limit": int(limit)}).fetchall()
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
