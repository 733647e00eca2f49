"""Candidate sentences for an answer, each scored as features x weights.

Candidates are the sentences of the retrieved chunks, plus the text just
around the top few (the answer often sits in the sentence after the one that
matched). Each gets a few features (similarity to the question, share of
the question's words, whether it holds the kind of fact asked for, ...);
its score is their sum weighted by ``tuning.WEIGHTS``. Similarity uses the
English encoder for English text and the multilingual encoder on the original
for other languages: a machine translation is good enough to find a document,
not to rank its sentences.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from difflib import SequenceMatcher

import numpy as np

from embeddings.multilingual import load_multilingual
from rag import lang
from rag.answer.plan import Plan
from rag.tuning import (
    EVIDENCE_LIMIT, FOCUS_MAX, KEEP_RATIO, LIST_EVIDENCE, NEXT_SENTENCE_GAP, SIMILAR_PREFIX, SIMILAR_RATIO,
    TRANSLATE_CANDIDATES,
    WEIGHTS, WINDOW_CHARS, WINDOW_HITS,
)
from rag.calibration import calibrated
from rag.index import Index
from rag.records import Hit
from rag.verify import content_words, leading_name, names, numbers


@dataclass(frozen=True)
class Evidence:
    """One sentence (or a few adjacent ones) of a retrieved chunk, scored against the question."""

    hit: Hit
    start: int
    end: int
    text: str  # the original sentence, == document text[start:end]
    text_en: str | None  # its English rendering, for non-English documents
    score: float

    @property
    def english(self) -> str:
        return self.text_en or self.text


@dataclass(frozen=True)
class Features:
    """What a candidate sentence is scored on; ``score`` weighs them with ``tuning.WEIGHTS``."""

    similarity: float
    overlap: float
    answer_type: float
    focus: float
    rank: float
    outside: float

    def score(self) -> float:
        return sum(WEIGHTS[name] * value for name, value in vars(self).items())


def select_evidence(index: Index, hits: list[Hit], question_vector: np.ndarray, plan: Plan,
                    translate: Callable[[str, str], str] | None = None) -> list[Evidence]:
    """The sentences that best answer the question, best first.

    With ``translate``, the best few non-English candidates are rendered in
    English (once; the index caches it) and their word overlap with the
    question is counted on the rendering too, as it is for English sentences.
    """
    limit = LIST_EVIDENCE if plan.is_list else EVIDENCE_LIMIT
    focus = focus_missing(index, hits, plan.question)
    multilingual_question: np.ndarray | None = None
    # Multilingual cosines run on another scale than the English encoder's; the factor that makes
    # them comparable is the one `make calibrate` fits for retrieval (rag/data/calibration.json).
    multilingual_scale = calibrated(index.encoder.name).multilingual_scale
    scored: dict[tuple[str, int], Evidence] = {}
    features_of: dict[tuple[str, int], Features] = {}
    for rank, hit in enumerate(hits):
        chunk = hit.chunk
        window = WINDOW_CHARS if rank < WINDOW_HITS else 0
        for sentence in index.sentences_in(chunk.doc_id, max(0, chunk.start - window), chunk.end + window):
            english = sentence.text_en or sentence.text
            if sentence.vector_ml is not None:
                if multilingual_question is None:
                    multilingual_question = load_multilingual().encode([plan.question])[0]
                similarity = multilingual_scale * float(np.dot(sentence.vector_ml, multilingual_question))
            else:
                similarity = float(np.dot(sentence.vector, question_vector))
            words = set(content_words(english)) | set(content_words(sentence.text))
            features = Features(
                similarity=similarity,
                overlap=len(plan.words & words) / len(plan.words) if plan.words else 0.0,
                answer_type=float(has_answer_type(plan, sentence.text)),
                focus=focus[chunk.doc_id],
                rank=rank,
                outside=float(not (chunk.start <= sentence.start and sentence.end <= chunk.end)),
            )
            score = features.score()
            key = (sentence.doc_id, sentence.start)
            if key not in scored or scored[key].score < score:
                scored[key] = Evidence(hit, sentence.start, sentence.end, sentence.text, sentence.text_en, score)
                features_of[key] = features
    if translate is not None:
        _rescore_translated(index, scored, features_of, plan, translate)
    ranked = sorted(scored.values(), key=lambda e: -e.score)
    if not ranked:
        return []
    best = ranked[0].score
    # The best one always; the others only if close to it (scores can be negative for junk questions).
    chosen = [_with_answer_after(index, _with_context(index, ranked[0]), plan)]
    chosen += [_with_context(index, e) for e in ranked[1:limit] if e.score >= best - abs(best) * (1 - KEEP_RATIO)]
    return _without_overlaps(chosen)


def _rescore_translated(index: Index, scored: dict[tuple[str, int], Evidence], features_of: dict,
                        plan: Plan, translate: Callable[[str, str], str]) -> None:
    """Give the best non-English candidates an English rendering and count overlap on it too."""
    ranked = sorted(scored, key=lambda key: -scored[key].score)[:TRANSLATE_CANDIDATES]
    for key in ranked:
        e = scored[key]
        if e.hit.lang == "en" or e.text_en or not plan.words:
            continue
        english = index.translation(e.text, e.hit.lang, translate)
        words = set(content_words(english)) | set(content_words(e.text))
        features = replace(features_of[key], overlap=len(plan.words & words) / len(plan.words))
        scored[key] = replace(e, text_en=english, score=features.score())


def has_answer_type(plan: Plan, text: str) -> bool:
    """Whether ``text`` contains the kind of fact the question asks for (a number, a date, a new name)."""
    kind = plan.answer_type
    if kind == "quantity":
        return bool(numbers(text) - numbers(plan.question))
    if kind == "time":
        time_words = lang.pattern(plan.language, "time_words")
        return bool(time_words and time_words.search(text))
    if kind in ("place", "name"):
        return bool(new_names(text, plan.question))
    return False


def new_names(text: str, question: str) -> set[str]:
    """Names in ``text`` that the question does not already mention (China ~ Chinese count as mentioned)."""
    asked = set(content_words(question))
    return {n for n in names(text) if not any(similar_words(n, a) for a in asked)}


def similar_words(a: str, b: str) -> bool:
    """Spelling variants of one name: Siberian/Siberische, China/Chinese, Irkutsk/Irkoetsk.

    Used to rank evidence only: a refusal never rests on it (it takes Bitmain for Bitmall).
    """
    if a == b:
        return True
    if min(len(a), len(b)) <= SIMILAR_PREFIX or a[:SIMILAR_PREFIX] != b[:SIMILAR_PREFIX]:
        return False
    return SequenceMatcher(None, a, b).ratio() >= SIMILAR_RATIO


def focus_missing(index: Index, hits: list[Hit], question: str) -> dict[str, float]:
    """For each retrieved document, how many of the question's names it lacks that another one has.

    "How does Deng plan to move his computers?" is about Deng: a sentence
    about moving computers from an article that never mentions Deng answers
    a different question.
    """
    doc_ids = list(dict.fromkeys(h.chunk.doc_id for h in hits))
    wanted = sorted(names(question) | leading_name(question))
    counts = index.mentions(doc_ids, wanted)
    best = max(counts.values(), default=0)
    return {d: float(min(FOCUS_MAX, best - counts.get(d, 0))) for d in doc_ids}


def _with_answer_after(index: Index, evidence: Evidence, plan: Plan) -> Evidence:
    """Append the next sentence when it holds the kind of fact asked for and this one does not.

    "Many mining pools are divesting." answers "which pools?" only together with
    the sentence after it: "Well-known pools such as Huobi Mining Pool ...".
    """
    if plan.answer_type == "other" or has_answer_type(plan, evidence.text):
        return evidence
    after = index.sentence_beside(evidence.hit.chunk.doc_id, evidence.end, after=True)
    if after is None or not has_answer_type(plan, after.text) or after.start - evidence.end > NEXT_SENTENCE_GAP:
        return evidence
    english = f"{evidence.text_en} {after.text_en or after.text}" if evidence.text_en else None
    return _widened(index, evidence, evidence.start, after.end, english)


def _with_context(index: Index, evidence: Evidence) -> Evidence:
    """Prepend the previous sentence to a piece that starts mid-sentence ("for mining machines.")."""
    first = next((ch for ch in evidence.text if ch.isalnum()), "")
    if not first.islower():
        return evidence
    before = index.sentence_beside(evidence.hit.chunk.doc_id, evidence.start, after=False)
    if before is None:
        return evidence
    english = f"{before.text_en or before.text} {evidence.text_en}" if evidence.text_en else None
    return _widened(index, evidence, before.start, evidence.end, english)


def _widened(index: Index, evidence: Evidence, start: int, end: int, english: str | None) -> Evidence:
    """``evidence`` stretched to the document's text[start:end], keeping its hit and score."""
    return Evidence(evidence.hit, start, end, index.text_span(evidence.hit.chunk.doc_id, start, end), english,
                    evidence.score)


def _without_overlaps(evidence: list[Evidence]) -> list[Evidence]:
    """Drop pieces that overlap a better one (a widened piece can swallow its neighbour)."""
    kept: list[Evidence] = []
    for e in evidence:
        if not any(k.hit.chunk.doc_id == e.hit.chunk.doc_id and k.start < e.end and e.start < k.end for k in kept):
            kept.append(e)
    return kept
