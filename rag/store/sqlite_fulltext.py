"""The SQLite store's full-text side: FTS5's own tokens and counts, read for ``rag.store.lexical``.

FTS5 stems (porter), folds case and drops diacritics; the lexical scorer reads
its vocabulary, positions and averages from here so that no query is
re-analysed differently from the passages. A part of ``ChunkStore``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from rag.store import lexical
from rag.store.lexical import sqlite_varints


class SqliteFullText:
    """BM25 search, term statistics and phrase counts over ``chunks_fts`` (mixed into ``ChunkStore``)."""

    def lexical_search(self, query: str, limit: int) -> list[tuple[int, float]]:
        """(chunk row id, BM25 score) best first; the score is positive, higher is better (``rag.store.lexical``)."""
        return lexical.search(self, query, limit)

    def _vocab(self) -> None:
        """fts5vocab views of the full-text index, in this connection's temp schema (nothing is written to the file)."""
        if not getattr(self, "_vocab_ready", False):
            self._db.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.chunks_fts_rows USING fts5vocab(main, 'chunks_fts', 'row')")
            self._db.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.chunks_fts_instances "
                             "USING fts5vocab(main, 'chunks_fts', 'instance')")
            self._vocab_ready = True

    def lexical_totals(self) -> tuple[int, int]:
        """(rows, tokens) from FTS5's own averages record, as its ``bm25()`` reads them."""
        with self._use():
            row = self._db.execute("SELECT block FROM chunks_fts_data WHERE id = 1").fetchone()
        if row is None or not row[0]:
            return 0, 0
        values = sqlite_varints(row[0])
        return values[0], (values[1] if len(values) > 1 else 0)

    def lexical_frequency(self, terms: Iterable[tuple[str, ...]]) -> dict[tuple[str, ...], int]:
        terms = list(terms)
        single = [t[0] for t in terms if len(t) == 1]
        with self._use():
            self._vocab()
            found = dict(self._db.execute(
                f"SELECT term, doc FROM temp.chunks_fts_rows WHERE term IN ({','.join('?' * len(single))})", single
            ).fetchall()) if single else {}
            for term in terms:
                if len(term) > 1:
                    found[term] = self._db.execute("SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH ?",
                                                   (_phrase(term),)).fetchone()[0]
        return {t: int(found.get(t[0] if len(t) == 1 else t, 0)) for t in terms}

    def lexical_rows(self, terms: Iterable[tuple[str, ...]], limit: int) -> list[int]:
        terms = list(terms)
        single = [t[0] for t in terms if len(t) == 1]
        rows: set[int] = set()
        with self._use():
            self._vocab()
            if single:
                rows.update(r[0] for r in self._db.execute(
                    f"SELECT DISTINCT doc FROM temp.chunks_fts_instances WHERE term IN ({','.join('?' * len(single))}) "
                    "ORDER BY doc LIMIT ?", (*single, int(limit))))
            for term in terms:
                if len(term) > 1:
                    rows.update(r[0] for r in self._db.execute(
                        "SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY rowid LIMIT ?",
                        (_phrase(term), int(limit))))
        return sorted(int(r) for r in rows)[:limit]

    def lexical_positions(self, ids: Iterable[int], tokens: Iterable[str]) -> tuple[dict[int, dict[str, set[int]]], dict[int, int], dict]:
        ids, tokens = [int(i) for i in ids], list(tokens)
        if not ids:
            return {}, {}, {}
        found: dict[int, dict[str, set[int]]] = {}
        with self._use():
            self._vocab()
            if tokens:  # the vocabulary table walks each term's whole posting list; SQLite drops other rows
                for doc, term, offset in self._db.execute(
                        f"SELECT doc, term, offset FROM temp.chunks_fts_instances WHERE term IN ({','.join('?' * len(tokens))}) "
                        f"AND doc IN ({','.join('?' * len(ids))})", (*tokens, *ids)):
                    found.setdefault(doc, {}).setdefault(term, set()).add(offset)
            sizes = self._db.execute(
                f"SELECT id, sz FROM chunks_fts_docsize WHERE id IN ({','.join('?' * len(ids))})", ids).fetchall()
        return found, {int(i): sqlite_varints(sz)[0] for i, sz in sizes if sz}, {}

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


def _phrase(tokens: tuple[str, ...]) -> str:
    """An FTS5 phrase of analysed tokens (Porter stems are their own stems, so matching them again finds the same)."""
    return '"' + " ".join(tokens) + '"'
