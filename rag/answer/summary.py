"""Summaries of one document: "summarise X", "give an overview of X", "what does the Dutch article say?".

A request is recognised by each language's patterns (``rag.lang``:
``summary_request``, ``summary_question``) and scoped to the document(s)
meant through their metadata, never their names in code: a language word
before a source noun ("the Dutch article") keeps the documents in that
language, and the remaining words pick a document by its title or file name
or, failing that, by what it is about (retrieval within those documents).

With the default (base) model the summary is extractive: the most central
sentences of the document (cosine to its mean sentence vector, with
maximal-marginal-relevance so no two say the same), in document order, each
an exact cited quote, non-English ones followed by their labelled machine
rendering. With a capable model (generative mode) the model summarises the
central sentences, numbered, and every sentence it writes is verified as a
generative answer's are; if none verifies, the extractive summary is shown.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np

from rag import lang
from rag.answer import compose
from rag.answer.evidence import Evidence
from rag.answer.generative import Source, Written, instruction, write_verified
from rag.answer.plan import is_override
from rag.answer.refuse import relevance_threshold
from rag.answer.translation import with_translations
from rag.answer.verifier import Verifier, WordOverlapVerifier
from rag.core import statements as rendering
from rag.core.config import Settings
from rag.core.progress import Quotes
from rag.core.records import Answer, Hit
from rag.ingest.sentences import PROSE
from rag.models.generate import Generator
from rag.retrieval.index import Index
from rag.retrieval.retrieve import retrieve
from rag.verify.overlap import content_words

SUMMARY_MIN_SENTENCES = 3
SUMMARY_MAX_SENTENCES = 5
"""A summary is 3 to 5 sentences (issue 13): fewer says too little of an article, more is no longer short."""

SENTENCES_PER_SUMMARY_SENTENCE = 10
"""One summary sentence per this many sentences of the document, within the bounds above: a 30-sentence
news article gets 3, one of 50 or more gets 5."""

MMR_LAMBDA = 0.7
"""Weight of centrality against redundancy in maximal marginal relevance (Carbonell & Goldstein's usual
0.7): the next sentence is the most central one that does not repeat a sentence already chosen."""

SUMMARY_MIN_WORDS = 6
"""Content words a sentence needs to be a summary sentence: datelines, bylines, "he said." and short
headings are central to nothing."""

SUMMARY_CHUNKS = 60
"""Chunks of a document read for its summary (about 60,000 characters with 1,000-character chunks): the
chunks are found by retrieval on the title within the document, and longer documents are summarised
from these."""

GENERATIVE_SUMMARY_PASSAGES = 8
"""Central sentences a capable model summarises from: enough for 3-5 sentences to choose from, short
enough for a 2,048-token window."""

TITLE_MATCH_MIN = 0.5
"""Share of the request's subject words a document's title or file name must hold to be the document
meant; below it the subject is taken as a topic and matched by retrieval instead."""


@dataclass(frozen=True)
class SummaryRequest:
    """A request for a summary and the documents it is scoped to (none: ``reason`` says why)."""

    subject: str  # the words that name the source, as written ("the Dutch article")
    doc_ids: tuple[str, ...]
    reason: str = ""


# -- recognising a request -----------------------------------------------------------


def requested_source(question: str) -> str | None:
    """The words naming the source when ``question`` asks for a summary, in any registered language; else None."""
    for code in lang.codes():
        whole = lang.pattern(code, "summary_question")
        match = whole.search(question) if whole else None
        if match:
            source = next((v for v in match.groupdict().values() if v), "")
            if _source_nouns_in(source):
                return source
        cue = lang.pattern(code, "summary_request")
        if cue and cue.search(question):
            return " ".join(cue.sub(" ", question).split())
    return None


def _source_nouns_in(text: str) -> set[str]:
    nouns = {noun for code in lang.codes() for noun in lang.get(code).source_nouns}
    return {w for w in re.findall(r"[\w'’-]+", text.lower()) if w in nouns}


def named_languages(subject: str) -> set[str]:
    """Languages named right before a source noun: "the Dutch article", "het Nederlandse artikel" -> {"nl"}."""
    words = re.findall(r"[\w'’-]+", subject.lower())
    nouns = {noun for code in lang.codes() for noun in lang.get(code).source_nouns}
    before = {words[i - 1] for i, word in enumerate(words) if i and word in nouns}
    return lang.language_codes_named(before)


def subject_words(subject: str, language: str) -> set[str]:
    """The words of the subject that can name a document: not source nouns, not language names."""
    words = set(re.findall(r"[\w'’-]+", subject.lower()))
    dropped = _source_nouns_in(subject) | {w for w in words if lang.language_codes_named({w})}
    kept = " ".join(w for w in re.findall(r"[\w'’-]+", subject) if w.lower() not in dropped)
    return set(content_words(kept, language))


def summary_request(question: str, index: Index, settings: Settings) -> SummaryRequest | None:
    """The summary ``question`` asks for, scoped to documents; None if it asks no summary."""
    subject = requested_source(question)
    if subject is None:
        return None
    language = lang.for_text(question).code
    scope = getattr(index, "scope", None)
    documents = [d for d in index.store.documents() if scope is None or d["doc_id"] in scope]
    codes = named_languages(subject)
    if codes:
        documents = [d for d in documents if d["lang"] in codes]
        if not documents:
            names = ", ".join(sorted(lang.name(c) for c in codes))
            return SummaryRequest(subject, (), f"no document in the library is in {names}")
    words = subject_words(subject, language)
    if words:
        shares = {d["doc_id"]: len(words & _title_words(d)) / len(words) for d in documents}
        best = max(shares.values(), default=0.0)
        if best >= TITLE_MATCH_MIN:
            return SummaryRequest(subject, tuple(d for d, share in shares.items() if share == best)[:1])
        hits = retrieve(index, " ".join(sorted(words)), k=1, candidates=settings.candidates,
                        rrf_k=settings.rrf_k, doc_ids=[d["doc_id"] for d in documents]).hits
        if hits and hits[0].dense is not None and hits[0].dense >= relevance_threshold(settings):
            return SummaryRequest(subject, (hits[0].chunk.doc_id,))
        return SummaryRequest(subject, (), f"no document is about “{subject}”")
    if len(documents) == 1:
        return SummaryRequest(subject, (documents[0]["doc_id"],))
    return SummaryRequest(subject, (), f"{len(documents)} documents could be meant; name one by its title or file")


def _title_words(document: dict) -> set[str]:
    stem = re.sub(r"\.[A-Za-z0-9]+$", "", document["doc_id"].rsplit("/", 1)[-1])
    text = f"{document.get('title') or ''} {re.sub(r'[_.-]+', ' ', stem)}"
    return set(content_words(text, document.get("lang"))) | set(content_words(text))


# -- choosing sentences -------------------------------------------------------------


def central_sentences(index: Index, doc_id: str, limit: int | None = None) -> list[Evidence]:
    """The document's most central, mutually distinct sentences (MMR), in document order, as evidence.

    ``limit`` defaults to the summary length for the document's size (3-5).
    Only sentences inside a chunk of the document can be cited; others are passed over.
    """
    ranked, length = central_ranking(index, doc_id, limit)
    return in_order(ranked[: limit or length])


def central_ranking(index: Index, doc_id: str, most: int | None = None) -> tuple[list[Evidence], int]:
    """The document's central sentences in the order MMR picks them, and its summary length (3-5).

    Up to ``most`` sentences, and at least the summary length. MMR picks greedily, so the first n of a
    longer ranking are the n it picks when asked for n: one ranking serves a summary and a model's passages.
    """
    document = index.store.document(doc_id)
    if document is None:
        return [], 0
    meta = index.doc_meta().get(doc_id, {})
    hits = retrieve(index, meta.get("title") or doc_id, k=SUMMARY_CHUNKS, candidates=SUMMARY_CHUNKS,
                    doc_ids=[doc_id]).hits
    units = [u for u in index.sentences_in(doc_id, 0, len(document.text))
             if u.kind in PROSE and len(content_words(u.text, document.lang)) >= SUMMARY_MIN_WORDS]
    length = summary_length(len(units))
    located = [(u, _containing(hits, u.start, u.end)) for u in units]
    located = [(u, hit) for u, hit in located if hit is not None]
    if not located:
        return [], length
    vectors = np.array([_unit_vector(u) for u, _hit in located], dtype=np.float32)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    centroid = vectors.mean(axis=0)
    centrality = vectors @ (centroid / max(float(np.linalg.norm(centroid)), 1e-12))
    chosen = mmr(vectors, centrality, max(length, most or 0))
    return [Evidence(located[i][1], located[i][0].start, located[i][0].end, located[i][0].text, None,
                     float(centrality[i])) for i in chosen], length


def in_order(evidence: list[Evidence]) -> list[Evidence]:
    """Evidence in document order (a summary reads in the order of its document)."""
    return sorted(evidence, key=lambda e: e.start)


def summary_length(sentences: int) -> int:
    """How many sentences summarise a document of ``sentences`` sentences (3-5)."""
    return max(SUMMARY_MIN_SENTENCES, min(SUMMARY_MAX_SENTENCES, round(sentences / SENTENCES_PER_SUMMARY_SENTENCE)))


def mmr(vectors: np.ndarray, relevance: np.ndarray, count: int, weight: float = MMR_LAMBDA) -> list[int]:
    """Indices picked by maximal marginal relevance: relevant, and unlike those already picked."""
    chosen: list[int] = []
    left = list(range(len(vectors)))
    while left and len(chosen) < count:
        def value(i: int) -> float:
            redundancy = max((float(vectors[i] @ vectors[j]) for j in chosen), default=0.0)
            return weight * float(relevance[i]) - (1 - weight) * redundancy
        best = max(left, key=value)
        chosen.append(best)
        left.remove(best)
    return chosen


def _unit_vector(unit) -> np.ndarray:
    """The multilingual vector of a non-English sentence (the English encoder misreads it), else the English one."""
    return unit.vector_ml if unit.vector_ml is not None else unit.vector


def _containing(hits: list[Hit], start: int, end: int) -> Hit | None:
    """The retrieved chunk that holds the span (the one overlapping it most)."""
    best, overlap = None, 0
    for hit in hits:
        shared = min(end, hit.chunk.end) - max(start, hit.chunk.start)
        if shared > overlap:
            best, overlap = hit, shared
    return best


# -- the answerer --------------------------------------------------------------------


@dataclass
class SummaryGrounds:
    """A summary request grounded once: what the extractive summary quotes, what a model summarises from.

    ``evidence`` holds the central sentences of every document meant, in document order;
    ``passages`` the (more) central sentences a model summarises each document from (generative
    only). ``answer`` is the answer begun on them; ``reason`` says why there is no summary ("" if there is).
    """

    request: SummaryRequest | None
    evidence: list[Evidence]
    passages: dict[str, list[Evidence]]
    answer: Answer
    reason: str
    started: float


def ground_summary(index: Index, generator: Generator | None, settings: Settings, question: str, resolved: str,
                   request: SummaryRequest | None = None, generative: bool = False) -> SummaryGrounds:
    """Scope the request to its documents and pick their central sentences: one retrieval per document."""
    started = time.perf_counter()
    request = request or summary_request(resolved, index, settings)
    answer = compose.new_answer(question, resolved, generator, index)
    reason = ""
    if is_override(resolved):
        reason = "the request asks to set the documents aside; answers come only from them"
    elif request is None or not request.doc_ids:
        reason = request.reason if request else "the request names no document to summarise"
    evidence: list[Evidence] = []
    passages: dict[str, list[Evidence]] = {}
    for doc_id in () if reason else request.doc_ids:  # type: ignore[union-attr]
        ranked, length = central_ranking(index, doc_id, GENERATIVE_SUMMARY_PASSAGES if generative else None)
        evidence += in_order(ranked[:length])
        if generative:
            passages[doc_id] = in_order(ranked[:GENERATIVE_SUMMARY_PASSAGES])
    if not reason and not evidence:
        reason = "the document has no sentences to summarise"
    answer.timings_ms["retrieve"] = (time.perf_counter() - started) * 1000
    return SummaryGrounds(request, evidence, passages, answer, reason, started)


def summary_quotes(grounds: SummaryGrounds) -> Quotes | None:
    """The sentences the extractive summary quotes, as the ``Quotes`` a reader sees first; None when refused."""
    if grounds.reason:
        return None
    return Quotes(grounds.answer.question, tuple(compose.citations(grounds.evidence)))


class SummaryAnswerer:
    """Cited summaries of the document(s) a request names: extractive, or generated and verified."""

    def __init__(self, verifier: Verifier | None = None):
        self.verifier: Verifier = verifier or WordOverlapVerifier()

    def warm_up(self, generator: Generator) -> None:
        """Nothing to cache."""

    def stream(self, index: Index, generator: Generator | None, settings: Settings, question: str, resolved: str,
               request: SummaryRequest | None = None, generative: bool = False) -> Iterator[str | Answer]:
        generative = generative and generator is not None
        yield from self.answer(index, generator, settings,
                               ground_summary(index, generator, settings, question, resolved, request, generative))

    def answer(self, index: Index, generator: Generator | None, settings: Settings,
               grounds: SummaryGrounds) -> Iterator[str | Answer]:
        """The summary on ``grounds`` (grounded by the caller, once): generated when they hold a model's passages."""
        answer, evidence, started = grounds.answer, grounds.evidence, grounds.started
        timings = answer.timings_ms
        if grounds.reason:
            yield from compose.refused(answer, grounds.reason, started)
            return
        answer.retrieved = list({e.hit.chunk.chunk_id: e.hit for e in evidence}.values())
        generate_started = time.perf_counter()
        written = None
        if grounds.passages and generator is not None:
            written = Written()
            yield from self._generated(index, generator, settings, grounds, written)
        if written is not None and written.verified:
            answer.statements, answer.citations, answer.reason = written.statements, written.citations, written.note()
        else:
            if generator is not None and settings.translate:
                evidence = with_translations(index, generator, evidence)
            cited = compose.citations(evidence)
            answer.statements = (written.statements if written else []) + compose.statements(None, evidence, cited)
            answer.citations = cited
            if written is not None:
                answer.reason = (written.note() or "the model's summary could not be verified") + \
                    "; showing the most central sentences instead"
            shown = len(written.statements) if written else 0
            for i, piece in enumerate(rendering.pieces(answer.statements[shown:], {c.n: c.lang for c in cited})):
                yield piece if shown == 0 and i == 0 else " " + piece
        timings["generate"] = (time.perf_counter() - generate_started) * 1000
        answer.answer = rendering.render(answer.statements, {c.n: c.lang for c in answer.citations})
        timings["total"] = (time.perf_counter() - started) * 1000
        yield answer

    def _generated(self, index: Index, generator: Generator, settings: Settings, grounds: SummaryGrounds,
                   written: Written) -> Iterator[str]:
        """The model's summary of each requested document, streamed sentence by sentence as each verifies."""
        language = lang.for_text(grounds.answer.resolved_question).code
        task = instruction(language, "summary_instruction")
        for doc_id, passages in grounds.passages.items():
            sources = [Source(e.hit, e.start, e.end, e.text) for e in passages]
            title = index.doc_meta().get(doc_id, {}).get("title") or doc_id
            offset = len(written.citations)
            part = Written()
            for statement, _citation in write_verified(index, generator, settings, self.verifier, sources, task,
                                                       f"Document: {title}", language, "summary", part):
                if statement.citation is not None:
                    statement = replace(statement, citation=statement.citation + offset)
                piece = rendering.pieces([statement], {})[0]
                yield piece if not written.statements else " " + piece
                written.statements.append(statement)
            written.citations += [replace(c, n=c.n + offset) for c in part.citations]
            written.dropped += part.dropped
            written.error = written.error or part.error
