"""Reading sentences and vector samples: the same SQL for both stores, written once.

SQLite and PostgreSQL differ here only in the offset columns' names and the
placeholder, so ``ChunkStore`` and ``PgStore`` share this base.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rag.store.crosslingual import fixed_sample


@dataclass(frozen=True)
class StoredSentence:
    doc_id: str
    start: int
    end: int
    text: str
    text_en: str | None
    vector: np.ndarray | None  # English encoder, of text_en or text (filled in by ``Index.sentences_in``)
    vector_ml: np.ndarray | None  # multilingual encoder, of the original text (non-English only)
    kind: str = "sentence"


SAMPLE_BATCH = 900  # ids per query when reading a sample (below SQLite's default limit of 999 parameters)


class SentenceReads:
    """``sentences_in`` and ``sentence_beside`` for both stores: the same SQL but for the offset columns'
    names (``start``/``end`` in SQLite, ``start_at``/``end_at`` in PostgreSQL) and the placeholder."""

    _start, _end, _placeholder = "start", "end", "?"

    def _fetch(self, sql: str, params: tuple) -> list[tuple]:
        raise NotImplementedError

    def _vector(self, stored, dim: int) -> np.ndarray:
        """A chunk vector as the store returns it, decoded."""
        raise NotImplementedError

    def sample_vectors(self, dim: int, size: int, seed: int = 0) -> np.ndarray:
        """Up to ``size`` chunk vectors, a fixed sample of the library: statistics of a large library (its mean
        vector and covariance) without reading every vector."""
        ids = [row[0] for row in self._fetch("SELECT id FROM chunks ORDER BY id", ())]
        ids = [ids[i] for i in fixed_sample(len(ids), size, seed)]
        vectors = []
        for at in range(0, len(ids), SAMPLE_BATCH):
            batch = tuple(ids[at:at + SAMPLE_BATCH])
            marks = ",".join([self._placeholder] * len(batch))
            vectors += [self._vector(row[0], dim) for row in
                        self._fetch(f"SELECT vector FROM chunks WHERE id IN ({marks}) ORDER BY id", batch)]
        return np.stack(vectors) if vectors else np.zeros((0, dim), dtype=np.float32)

    def sentences_in(self, doc_id: str, start: int, end: int) -> list[StoredSentence]:
        """The units inside ``[start, end)`` with their text; vectors are left to the caller."""
        s, e, p = self._start, self._end, self._placeholder
        rows = self._fetch(
            f"SELECT s.{s}, s.{e}, s.kind, s.vector_ml, substr(d.text, s.{s} + 1, s.{e} - s.{s}) "
            f"FROM sentences s JOIN documents d USING (doc_id) "
            f"WHERE s.doc_id = {p} AND s.{s} >= {p} AND s.{e} <= {p} ORDER BY s.{s}", (doc_id, start, end))
        return [StoredSentence(doc_id, a, b, text, None, None,
                               None if m is None else np.frombuffer(m, dtype=np.float16).astype(np.float32), kind)
                for a, b, kind, m, text in rows]

    def sentence_beside(self, doc_id: str, position: int, after: bool) -> StoredSentence | None:
        """The sentence that starts first at or after ``position`` (``after``), or ends last before it."""
        s, e, p = self._start, self._end, self._placeholder
        query = (f"SELECT {s}, {e} FROM sentences WHERE doc_id = {p} AND {s} >= {p} ORDER BY {s} LIMIT 1" if after
                 else f"SELECT {s}, {e} FROM sentences WHERE doc_id = {p} AND {e} <= {p} ORDER BY {e} DESC LIMIT 1")
        rows = self._fetch(query, (doc_id, position))
        if not rows:
            return None
        found = self.sentences_in(doc_id, rows[0][0], rows[0][1])
        return found[0] if found else None
