"""The SQLite store's full-text side: FTS5 ranks with its own ``bm25()``, best first, ``LIMIT k``.

FTS5 stems (porter), folds case and drops diacritics, and reads the question
through the same tokenizer as the passages. Only FTS5's SQL interface is used
(``MATCH``, ``rank``, ``bm25()``), never its shadow tables. A part of ``ChunkStore``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from rag.store.lexical import match_expression


class SqliteFullText:
    """BM25 search and term counts over ``chunks_fts`` (mixed into ``ChunkStore``)."""

    def lexical_search(self, query: str, limit: int) -> list[tuple[int, float]]:
        """(chunk row id, BM25 score) best first, at most ``limit``; the score is ``-bm25()``: positive, higher is
        better. Any text is a safe query (``rag.store.lexical.match_expression``)."""
        expression = match_expression(query)
        if not expression or limit <= 0:
            return []
        with self._use():  # rank is bm25() unless configured otherwise; ORDER BY rank lets FTS5 sort while it scores
            rows = self._db.execute("SELECT rowid, -rank FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY rank LIMIT ?",
                                    (expression, int(limit))).fetchall()
        return [(int(row), float(score)) for row, score in rows]

    def term_document_frequency(self, terms: Iterable[str], chunk_ids: Iterable[str] | None = None) -> dict[str, int]:
        """In how many passages each term occurs (only among ``chunk_ids`` if given), as the full-text index matches.

        The FTS5 tokenizer stems (porter), folds case and drops diacritics, so
        "Miners" counts "miner" and "Käufer" counts "kaufer". A term of several
        tokens ("max_workers", "3,000") counts as a phrase.
        """
        within = list(chunk_ids) if chunk_ids is not None else None
        where = "" if within is None else \
            f" AND rowid IN (SELECT id FROM chunks WHERE chunk_id IN ({','.join('?' * len(within))}))"
        counts: dict[str, int] = {}
        with self._use():
            for term in terms:
                tokens = re.findall(r"\w+", term.lower().replace("_", " "))
                if not tokens or within == []:
                    counts[term] = 0
                    continue
                phrase = '"' + " ".join(tokens) + '"'
                row = self._db.execute(f"SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH ?{where}",
                                       (phrase, *(within or []))).fetchone()
                counts[term] = int(row[0])
        return counts

