"""Candidate sentences for an answer, each scored as features x weights.

Candidates are the sentences of the retrieved chunks, plus the text just
around the top few (the answer often sits in the sentence after the one that
matched). Each gets a few features (similarity to the question, share of
the question's words and of its rarer words, whether it holds the kind of
fact asked for, ...); its score is their sum weighted by the evidence weights
`make calibrate` fits (``rag/data/calibration.json``). Similarity uses the
English encoder for English text and the multilingual encoder on the original
for other languages, put on the English scale (``rag.store.crosslingual``), as two
features with their own weights: a machine translation is good enough to find
a document, not to rank its sentences.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from rag.answer.facts import counts_asked, has_answer_type
from rag.answer.plan import Plan
from rag.answer.read import answer_probabilities, reader_weight
from rag.core.calibration import calibrated_evidence
from rag.core.records import Hit
from rag.core.tuning import (
    EVIDENCE_LIMIT, LIST_EVIDENCE, LIST_UNIT_CHARS, LIST_UNIT_ITEMS, NEXT_SENTENCE_GAP, READ_CANDIDATES,
    SHORT_UNIT_WORDS, TRANSLATE_CANDIDATES, WINDOW_CHARS, WINDOW_HITS,
)
from rag.ingest.sentences import PROSE, leans_on_previous
from rag.retrieval.index import Index
from rag.retrieval.lexicon import encode_multilingual, words_of
from rag.verify.overlap import content_words, leading_name, names


# The unit kinds a lead-in introduces: list items, table rows, and a code block ("To disable BDAT support
# globally:" above the main.cf lines that do it).
LISTED = ("item", "row", "code")


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
    """What a candidate sentence is scored on; ``score`` weighs them with the calibrated evidence weights."""

    similarity: float  # English-encoder cosine with the question (English sentences; else 0)
    similarity_other: float  # multilingual cosine on the English scale (rag.store.crosslingual; other languages; else 0)
    other_language: float  # 1 for a sentence in another language than English
    overlap: float  # share of the question's content words the sentence holds
    rare_overlap: float  # the same, each word weighted by how rare it is among the candidates (idf)
    answer_type: float  # 1 if it holds the kind of fact asked for (a number, a date, a new name)
    focus: float  # question names (up to the calibrated focus_max) its document lacks that another retrieved one has
    rank: float  # places its chunk was ranked below the first
    outside: float  # 1 if it lies beside the retrieved chunk rather than in it
    pair: float = 0.0  # 1 for two adjacent sentences read as one (the topic, then the fact that answers)
    reader: float = 0.0  # the reader's probability that it answers (rag.answer.read; the best few candidates only)
    counted: float = 0.0  # 1 if it states a number of what a quantity question counts ("474 packages"; Plan.counted)

    def score(self, weights: dict[str, float] | None = None) -> float:
        weights = weights or evidence_weights()
        return sum(weights.get(name, 0.0) * value for name, value in vars(self).items())


def evidence_weights() -> dict[str, float]:
    """The fitted weights of the evidence features (``bench/calibrate_evidence.py``)."""
    return calibrated_evidence().weights


@dataclass(frozen=True)
class Candidate:
    """A candidate sentence with the features it was scored on (what `bench/calibrate_evidence.py` fits)."""

    evidence: Evidence
    features: Features


def select_evidence(index: Index, hits: list[Hit], question_vector: np.ndarray, plan: Plan,
                    translate: Callable[[str, str], str] | None = None) -> list[Evidence]:
    """The sentences that best answer the question, best first."""
    ranked = [c.evidence for c in score_candidates(index, hits, question_vector, plan, translate)]
    if not ranked:
        return []
    picked = shown(ranked, plan.is_list)
    widened = [_with_list_after(index, _with_answer_after(index, _with_context(index, picked[0]), plan))]
    widened += [_with_list_after(index, _with_context(index, e)) for e in picked[1:]]
    return _without_overlaps(list(zip(widened, picked)))


def shown(ranked: list[Evidence], is_list: bool) -> list[Evidence]:
    """Which of the ranked pieces an answer shows: never one overlapping a piece already chosen.

    An ordinary answer shows the best piece and those close to it (within the
    calibrated keep ratio; scores can be negative for junk questions). A list's items
    sit in several sentences, each less like the question than the one
    naming the kind of thing asked for, so a list shows its ``LIST_EVIDENCE``
    best pieces without that cut.
    """
    picked = distinct(ranked, LIST_EVIDENCE if is_list else EVIDENCE_LIMIT)
    if is_list or not picked:
        return picked
    best, keep_ratio = picked[0].score, calibrated_evidence().keep_ratio
    return [e for e in picked if e is picked[0] or e.score >= best - abs(best) * (1 - keep_ratio)]


def distinct(ranked: list[Evidence], limit: int) -> list[Evidence]:
    """The best ``limit`` pieces of ``ranked`` (best first) that do not overlap one another."""
    kept: list[Evidence] = []
    for e in ranked:
        if len(kept) == limit:
            break
        if not any(_overlap(k, e) for k in kept):
            kept.append(e)
    return kept


def _overlap(a: Evidence, b: Evidence) -> bool:
    return a.hit.chunk.doc_id == b.hit.chunk.doc_id and a.start < b.end and b.start < a.end


def score_candidates(index: Index, hits: list[Hit], question_vector: np.ndarray, plan: Plan,
                     translate: Callable[[str, str], str] | None = None,
                     hub_weight: float | None = None, focus_max: float | None = None,
                     read: bool | None = None) -> list[Candidate]:
    """Every candidate sentence of ``hits`` with its features and score, best first.

    With ``translate``, the best few non-English candidates are rendered in
    English (once; the index caches it) and their word overlap with the
    question is counted on the rendering too, as it is for English sentences.
    ``hub_weight`` overrides the calibrated hubness correction of non-English
    sentences and ``focus_max`` the cap of the ``focus`` feature (for calibrating them). ``read``: whether the
    reader scores the best few (default: when its fitted weight is not 0; the calibration reads always).
    """
    if hub_weight is None:
        hub_weight = calibrated_evidence().hub_weight
    if focus_max is None:
        focus_max = calibrated_evidence().focus_max
    focus = focus_missing(index, hits, plan.question, focus_max)
    question_ml: np.ndarray | None = None  # the question in the multilingual space, once a sentence needs it
    to_english = None  # its similarities on the English scale (None in a library too small to have a scale)
    translated: dict[str, frozenset[str]] = {}  # question words -> their translations (rag.retrieval.lexicon)
    found: dict[tuple[str, int], tuple[Evidence, dict]] = {}
    for rank, hit in enumerate(hits):
        chunk = hit.chunk
        window = WINDOW_CHARS if rank < WINDOW_HITS else 0
        for sentence in index.sentences_in(chunk.doc_id, max(0, chunk.start - window), chunk.end + window):
            key = (sentence.doc_id, sentence.start)
            if key in found:  # the same sentence beside a better-ranked hit
                continue
            other = sentence.vector_ml is not None
            if other:
                if question_ml is None:
                    question_ml = encode_multilingual(index.multilingual_encoder.encoder, plan.question).vector
                    to_english = index.crosslingual_scale(question_vector, question_ml, hub_weight=hub_weight)
                    translated = _translated_question_words(index, plan)
                similarity = (float(to_english(sentence.vector_ml)[0]) if to_english is not None
                              else float(np.dot(sentence.vector_ml, question_ml)))
            else:
                similarity = float(np.dot(sentence.vector, question_vector))
            english = sentence.text_en or sentence.text
            words = set(content_words(english)) | set(content_words(sentence.text))
            if other and translated:  # the question's words this sentence holds in translation
                held = words_of(sentence.text)
                words |= {stem for stem, translations in translated.items() if translations & held}
            found[key] = (Evidence(hit, sentence.start, sentence.end, sentence.text, sentence.text_en, 0.0), dict(
                similarity=0.0 if other else similarity,
                similarity_other=similarity if other else 0.0,
                other_language=float(other),
                words=words,
                answer_type=float(has_answer_type(plan, sentence.text, hit.lang)),
                counted=float(counts_asked(plan, sentence.text, hit.lang)
                              or bool(sentence.text_en) and counts_asked(plan, sentence.text_en or "", "en")),
                focus=focus[chunk.doc_id],
                rank=rank,
                outside=float(not (chunk.start <= sentence.start and sentence.end <= chunk.end)),
            ))
    _add_pairs(index, found)
    rarity = _rarity(plan.words, [raw["words"] for _e, raw in found.values()])
    scored: dict[tuple[str, int], Evidence] = {}
    features_of: dict[tuple[str, int], Features] = {}
    for key, (evidence, raw) in found.items():
        words = raw.pop("words")
        features = Features(**raw, **_overlaps(plan.words, words, rarity))
        features_of[key] = features
        scored[key] = replace(evidence, score=features.score())
    if translate is not None:
        _rescore_translated(index, scored, features_of, plan, translate, rarity)
    if read is None:
        read = reader_weight() != 0.0
    if read:
        _read(scored, features_of, plan)
    order = sorted(scored, key=lambda key: -scored[key].score)
    return [Candidate(scored[key], features_of[key]) for key in order]


def _read(scored: dict[tuple, Evidence], features_of: dict[tuple, Features], plan: Plan) -> None:
    """Give the ``READ_CANDIDATES`` best candidates the reader's probability that they answer, and rescore them."""
    best = sorted(scored, key=lambda key: -scored[key].score)[:READ_CANDIDATES]
    probabilities = answer_probabilities(plan.question, [scored[key].english for key in best])
    for key, p in zip(best, probabilities):
        features_of[key] = replace(features_of[key], reader=float(p))
        scored[key] = replace(scored[key], score=features_of[key].score())


def _translated_question_words(index: Index, plan: Plan) -> dict[str, frozenset[str]]:
    """The question's content words (in the stemmed form of ``Plan.words``) -> their translations among the
    library's non-English words, so word overlap counts a German sentence's "Passwort" for "password"."""
    found: dict[str, frozenset[str]] = {}
    for word, translations in index.word_translations(plan.question).items():
        for stem in content_words(word, plan.language):
            found[stem] = found.get(stem, frozenset()) | translations
    return found


def _add_pairs(index: Index, found: dict[tuple, tuple[Evidence, dict]]) -> None:
    """Add each two adjacent candidate sentences as one candidate too.

    The fact asked for often sits in the sentence after the one that names the
    topic ("Debian 1.1 Buzz ... was the first release with a code name." /
    "This release ... contained 474 packages."): neither alone matches the
    question as well as the two together. The pair keeps the better
    similarity and the union of words; its ``pair`` feature carries the cost of
    a longer quote.
    """
    ordered = sorted(found.items(), key=lambda item: (item[0][0], item[0][1]))
    for (key, (first, a)), (next_key, (second, b)) in zip(ordered, ordered[1:]):
        if key[0] != next_key[0] or not 0 <= second.start - first.end <= NEXT_SENTENCE_GAP:
            continue
        english = None
        if first.text_en or second.text_en:
            english = f"{first.text_en or first.text} {second.text_en or second.text}"
        text = index.text_span(first.hit.chunk.doc_id, first.start, second.end)
        found[(key[0], first.start, second.end)] = (Evidence(first.hit, first.start, second.end, text, english, 0.0), dict(
            similarity=max(a["similarity"], b["similarity"]),
            similarity_other=max(a["similarity_other"], b["similarity_other"]),
            other_language=a["other_language"],
            words=a["words"] | b["words"],
            answer_type=max(a["answer_type"], b["answer_type"]),
            counted=max(a["counted"], b["counted"]),
            focus=a["focus"],
            rank=min(a["rank"], b["rank"]),
            outside=min(a["outside"], b["outside"]),
            pair=1.0,
        ))


def _rarity(question_words: frozenset[str], candidate_words: list[set[str]]) -> dict[str, float]:
    """Inverse document frequency of each question word among the candidate sentences.

    A word every candidate holds ("Debian" in a Debian library) tells them apart
    less than one only a few hold ("Twente", "fillfactor").
    """
    n = len(candidate_words)
    return {w: math.log((n + 1) / (sum(w in words for words in candidate_words) + 1)) + 1.0
            for w in question_words}


def _overlaps(question_words: frozenset[str], words: set[str], rarity: dict[str, float]) -> dict[str, float]:
    if not question_words:
        return {"overlap": 0.0, "rare_overlap": 0.0}
    shared = question_words & words
    return {"overlap": len(shared) / len(question_words),
            "rare_overlap": sum(rarity[w] for w in shared) / sum(rarity.values())}


def _rescore_translated(index: Index, scored: dict[tuple[str, int], Evidence], features_of: dict,
                        plan: Plan, translate: Callable[[str, str], str], rarity: dict[str, float]) -> None:
    """Give the best non-English candidates an English rendering and count overlap on it too."""
    ranked = sorted(scored, key=lambda key: -scored[key].score)[:TRANSLATE_CANDIDATES]
    for key in ranked:
        e = scored[key]
        if e.hit.lang == "en" or e.text_en or not plan.words:
            continue
        english = index.translation(e.text, e.hit.lang, translate)
        words = set(content_words(english)) | set(content_words(e.text))
        features = replace(features_of[key], **_overlaps(plan.words, words, rarity))
        features_of[key] = features
        scored[key] = replace(e, text_en=english, score=features.score())


def focus_missing(index: Index, hits: list[Hit], question: str, cap: float) -> dict[str, float]:
    """For each retrieved document, how many of the question's names it lacks that another one has (at most ``cap``).

    "How does Deng plan to move his computers?" is about Deng: a sentence
    about moving computers from an article that never mentions Deng answers
    a different question.
    """
    doc_ids = list(dict.fromkeys(h.chunk.doc_id for h in hits))
    wanted = sorted(names(question) | leading_name(question))
    counts = index.mentions(doc_ids, wanted)
    best = max(counts.values(), default=0)
    return {d: float(min(cap, best - counts.get(d, 0))) for d in doc_ids}


def _with_answer_after(index: Index, evidence: Evidence, plan: Plan) -> Evidence:
    """Append the next sentence when it holds the kind of fact asked for and this one does not (for "how many
    packages", a number of packages: "Debian 1.1" is no count).

    "Many mining pools are divesting." answers "which pools?" only together with
    the sentence after it: "Well-known pools such as Huobi Mining Pool ...".
    """
    states = counts_asked if plan.counted else has_answer_type  # "how many packages": a number of packages
    if plan.answer_type == "other" or states(plan, evidence.text, evidence.hit.lang):
        return evidence
    after = index.sentence_beside(evidence.hit.chunk.doc_id, evidence.end, after=True)
    if (after is None or not states(plan, after.text, evidence.hit.lang)
            or after.start - evidence.end > NEXT_SENTENCE_GAP):
        return evidence
    english = f"{evidence.text_en} {after.text_en or after.text}" if evidence.text_en else None
    return _widened(index, evidence, evidence.start, after.end, english)


def _with_list_after(index: Index, evidence: Evidence) -> Evidence:
    """A lead-in ("The server accepts the following modes:") with the list items, table rows or code it introduces.

    The items follow directly (no text between them but white space), up to the first unit of another
    kind, ``LIST_UNIT_CHARS`` characters or ``LIST_UNIT_ITEMS`` items: a quote of the lead-in alone
    names the kind of thing asked for but none of the things. A sentence right after the items that
    begins with an item's first word goes on about that item ("Tinycdb is preferred, since ...") and
    comes along.
    """
    if not evidence.text.rstrip().endswith(":"):
        return evidence
    doc_id, end = evidence.hit.chunk.doc_id, evidence.end
    items = []
    for unit in index.store.sentences_in(doc_id, end, evidence.start + LIST_UNIT_CHARS):
        if index.text_span(doc_id, end, unit.start).strip():
            break
        if unit.kind not in LISTED or (items and unit.kind != items[0].kind) or len(items) == LIST_UNIT_ITEMS:
            first = _first_word(unit.text)
            if (items and unit.kind in PROSE and unit.kind != items[0].kind and first
                    and first in {_first_word(u.text) for u in items}):
                items.append(unit)
            break
        items.append(unit)
        end = unit.end
    if not items:
        return evidence
    end = items[-1].end
    english = None
    if evidence.text_en:
        english = " ".join([evidence.text_en] + [index.cached_translation(u.text, evidence.hit.lang) or u.text
                                                 for u in items])
    return _widened(index, evidence, evidence.start, end, english)


def _first_word(text: str) -> str:
    """The first content word of ``text``, stemmed ("* tinycdb (version 0.5 ...)" -> "tinycdb"; "" for none)."""
    words = content_words(text)
    return words[0] if words else ""


def _with_context(index: Index, evidence: Evidence) -> Evidence:
    """Prepend what a piece cannot be read without: the previous sentence when the piece leans on it
    (``rag.ingest.sentences.leans_on_previous``: it starts mid-sentence, "for mining machines.", points back,
    "It is ...", or the sentence introduces it, "... have the following meanings:"), the term when it
    is a definition's body, the sentence before a line too short to name its subject ("The default is 50.").

    A definition list's body ("If set to a number greater than zero, the value is used as ...") names
    its subject only in the term above it (``PROMPT_DIRTRIM``), which extraction keeps as a one-word
    heading or code unit right before it.
    """
    before = index.sentence_beside(evidence.hit.chunk.doc_id, evidence.start, after=False)
    if before is None:
        return evidence
    leans = leans_on_previous(before.text, before.kind, evidence.text, evidence.hit.lang)
    if not (leans or _is_term_of(index, before, evidence) or _too_short_alone(before, evidence)):
        return evidence
    english = f"{before.text_en or before.text} {evidence.text_en}" if evidence.text_en else None
    return _widened(index, evidence, before.start, evidence.end, english)


def _too_short_alone(before, evidence: Evidence) -> bool:
    """A sentence of a few words right after another one of its paragraph ("Default: 5.") says
    nothing without it: its subject is there."""
    return (before.kind in PROSE and len(evidence.text.split()) <= SHORT_UNIT_WORDS
            and 0 <= evidence.start - before.end <= NEXT_SENTENCE_GAP and "\n\n" not in evidence.text)


def _is_term_of(index: Index, before, evidence: Evidence) -> bool:
    """Whether ``before`` is a term: one word set as a heading or code unit directly above ``evidence``.

    One word, so a section title ("9.1 Bash History Facilities") is not taken for a term: the citation
    shows the section path, and a title's numbers must not become a short answer.
    """
    if before.kind not in ("heading", "code") or len(before.text.split()) != 1:
        return False
    gap = index.text_span(evidence.hit.chunk.doc_id, before.end, evidence.start)
    return not gap.strip() and before.text.strip() not in evidence.text


def _widened(index: Index, evidence: Evidence, start: int, end: int, english: str | None) -> Evidence:
    """``evidence`` stretched to the document's text[start:end], keeping its hit and score."""
    return Evidence(evidence.hit, start, end, index.text_span(evidence.hit.chunk.doc_id, start, end), english,
                    evidence.score)


def _without_overlaps(pieces: list[tuple[Evidence, Evidence]]) -> list[Evidence]:
    """Each piece widened, unless the widening reaches into a better piece (then as it was), else dropped.

    ``pieces`` are (widened, as ranked) pairs, best first: a sentence shown already is not shown twice,
    and a piece whose context is already on screen keeps its own place.
    """
    kept: list[Evidence] = []
    for options in pieces:
        e = next((e for e in options if not any(_overlap(k, e) for k in kept)), None)
        if e is not None:
            kept.append(e)
    return kept
