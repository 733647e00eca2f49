"""Hybrid retrieval: dense vectors and full-text ranking, merged by reciprocal rank fusion.

Dense search finds paraphrases; the store's full-text engine (FTS5's BM25,
PostgreSQL's idf-weighted ``ts_rank``) finds rare names and numbers that a
small encoder blurs. Fusing ranks (not raw scores) needs no calibration
between the two, nor between the two stores' lexical scores. Non-English
chunks are matched by the multilingual encoder (its cosines put on the
English scale, ``rag.store.crosslingual``) and by the full-text query
extended with the question's words translated into the library's words
(``rag.retrieval.lexicon``).

A question is encoded once per encoder: the English encoder's vector here,
the multilingual encoder's vector together with the question's words in one
batch (``rag.retrieval.lexicon.encode_multilingual``); both are kept per
question, so the evidence step and a retry reuse them.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from embeddings.threads import one_thread
from rag.core.calibration import calibrated
from rag.core.errors import BadQuestion
from rag.core.records import Hit
from rag.retrieval.index import Index
from rag.retrieval.lexicon import encode_multilingual
from rag.store.crosslingual import CrossLingualScale

SCOPED_POOL = 10_000  # candidates read per retriever when a scope filters them afterwards
HUB_POOL = 32  # sentences per candidate whose hubness is measured (the rest are below them by plain cosine)


class Scoped:
    """An index seen through a document scope: ``retrieve`` returns only chunks of ``doc_ids``.

    Every other attribute is the index's own, so answering code needs no change.
    """

    def __init__(self, index: Index, doc_ids: Collection[str]):
        self._index = index
        self.scope = frozenset(doc_ids)

    def __getattr__(self, name: str):
        return getattr(self._index, name)


@dataclass
class Retrieval:
    """The hits for one question, with the question's vector for later steps."""

    question: str
    vector: np.ndarray
    hits: list[Hit]


def retrieve(index: Index, question: str, k: int = 5, candidates: int = 30, rrf_k: int | None = None,
             lexical_weight: float | None = None, crosslingual_z: float | None = None,
             crosslingual_hub: float | None = None, lexicon_threshold: float | None = None,
             doc_ids: Collection[str] | None = None) -> Retrieval:
    """The ``k`` best chunks for ``question``, best first, without duplicate texts.

    Weights left as None come from the calibration for the index's encoder. With
    ``doc_ids`` (or a ``Scoped`` index) only chunks of those documents are returned. The encoders and FAISS
    run on one thread (``embeddings.threads``): their calls here are a single question.
    """
    with one_thread():
        return _retrieve(index, question, k, candidates, rrf_k, lexical_weight, crosslingual_z, crosslingual_hub,
                         lexicon_threshold, doc_ids)


def _retrieve(index: Index, question: str, k: int, candidates: int, rrf_k: int | None, lexical_weight: float | None,
              crosslingual_z: float | None, crosslingual_hub: float | None, lexicon_threshold: float | None,
              doc_ids: Collection[str] | None) -> Retrieval:
    calibration = calibrated(index.encoder.name)
    rrf_k = calibration.rrf_k if not rrf_k else rrf_k
    lexical_weight = calibration.lexical_weight if lexical_weight is None else lexical_weight
    question = " ".join(question.split())
    if not any(ch.isalnum() for ch in question):
        raise BadQuestion("the question is empty: type a question about the documents")
    scope = frozenset(doc_ids) if doc_ids is not None else getattr(index, "scope", None)
    if scope is not None:
        candidates = max(candidates, min(index.vectors().size, SCOPED_POOL))
    vector = encode_question(index.encoder.encoder, question)
    dense = index.vectors().search(vector, candidates)
    to_english = _crosslingual(index, question, vector, crosslingual_z, crosslingual_hub)
    crosslingual = _multilingual_search(index, to_english, candidates)
    if crosslingual:  # one dense ranking: MiniLM cosines and multilingual cosines on the same scale
        best = dict(dense)
        for row, score in crosslingual:
            best[row] = max(best.get(row, -1.0), score)
        dense = sorted(best.items(), key=lambda kv: -kv[1])[:candidates]
    lexical = index.store.lexical_search(_with_translations(index, question, lexicon_threshold), candidates)

    fused: dict[int, float] = {}
    for ranking, weight in ((dense, 1.0), (lexical, lexical_weight)):
        for rank, (row, _score) in enumerate(ranking):
            fused[row] = fused.get(row, 0.0) + weight / (rrf_k + rank + 1)
    dense_score = dict(dense)
    lexical_score = dict(lexical)

    order = sorted(fused, key=lambda row: -fused[row])
    if scope is not None:
        chunks = index.store.chunks_by_ids(order)
        order = [row for row in order if row in chunks and chunks[row].doc_id in scope]
    chunks = index.store.chunks_by_ids(order[: k * 3])
    meta = index.doc_meta()
    hits: list[Hit] = []
    seen_texts: set[str] = set()
    for row in order:
        chunk = chunks.get(row)
        if chunk is None or chunk.text in seen_texts:
            continue
        seen_texts.add(chunk.text)
        doc = meta.get(chunk.doc_id, {})
        hits.append(Hit(
            chunk=chunk,
            score=fused[row],
            dense=dense_score.get(row, _cosine(index, vector, row)),
            lexical=lexical_score.get(row),
            title=doc.get("title") or chunk.doc_id,
            date=doc.get("date"),
            lang=doc.get("lang") or "en",
        ))
        if len(hits) == k:
            break
    return Retrieval(question, vector, hits)


def _crosslingual(index: Index, question: str, question_vector: np.ndarray, z_scale: float | None,
                  hub_weight: float | None) -> CrossLingualScale | None:
    """The question's multilingual similarities on the English scale (None for a library without non-English text)."""
    ids, _matrix = index.multilingual_vectors()
    if not len(ids):
        return None
    question_ml = encode_multilingual(index.multilingual_encoder.encoder, question).vector
    return index.crosslingual_scale(question_vector, question_ml, z_scale, hub_weight)


def _multilingual_search(index: Index, to_english: CrossLingualScale | None, candidates: int) -> list[tuple[int, float]]:
    """Chunks of non-English documents closest to the question in the multilingual space.

    The English encoder cannot match an English question to a German passage;
    the multilingual encoder can. Its cosines run on another scale, so they are
    put on the English one (``rag.store.crosslingual``) before they join the English
    encoder's ranking. The hubness correction only lowers sentences, so it is
    measured for the best ``HUB_POOL`` × ``candidates`` sentences by plain cosine, not for all.
    """
    if to_english is None:
        return []
    ids, matrix = index.multilingual_vectors()
    raw = matrix @ to_english.question_ml
    pool = _top(raw, candidates * HUB_POOL)
    scores = to_english(matrix[pool], raw[pool])
    best: dict[int, float] = {}
    for i in np.argsort(-scores)[: candidates * 8]:  # a chunk scores as its best sentence
        best.setdefault(int(ids[pool[i]]), float(scores[i]))
    return sorted(best.items(), key=lambda kv: -kv[1])[:candidates]


def _with_translations(index: Index, question: str, threshold: float | None) -> str:
    """The question's full-text query with its words' translations into the library's other languages (``rag.retrieval.lexicon``).

    One query rather than a ranking of its own: a passage is scored on the
    words it holds, English ones or their translations, so an English question
    about an English passage is not outvoted by a second ranking of passages
    in another language.
    """
    translated = index.word_translations(question, threshold)
    if not translated:
        return question
    return question + " " + " ".join(sorted(set().union(*translated.values())))


@lru_cache(maxsize=512)
def encode_question(encoder, question: str) -> np.ndarray:
    """A question's vector; asked again (the eval's deep search, a retry, calibration) it is not re-encoded."""
    vector = encoder.encode([question])[0]
    vector.setflags(write=False)
    return vector


def _top(scores: np.ndarray, count: int) -> np.ndarray:
    """Positions of the ``count`` highest ``scores``, best first, without sorting all of them."""
    if count < len(scores):
        scores_at = np.argpartition(-scores, count - 1)[:count]
        return scores_at[np.argsort(-scores[scores_at], kind="stable")]
    return np.argsort(-scores, kind="stable")


def _cosine(index: Index, vector: np.ndarray, row: int) -> float | None:
    """Dense similarity of a chunk that only the full-text search found (for display and thresholds)."""
    try:
        stored = index.vectors().reconstruct(row)
    except (RuntimeError, KeyError):
        return None
    return float(np.dot(stored, vector))
