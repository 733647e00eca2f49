"""Generative answers: a capable model writes the answer from numbered passages; every sentence is verified.

For instruct/chat models. The top passages go into the prompt numbered
[1]..[n] and the model is asked for a short answer whose every sentence ends
with the [n] it rests on. The reply is split with the project's one sentence
splitter (``rag.ingest.sentences``) as it streams; each sentence is checked against
the sentences of the passages it cites with the ``Verifier`` (plus the
picked-number check of the lead), and its citation narrows to the exact
sentence (or adjacent pair) that backs it. A sentence that fails is dropped
(strict) or kept marked unverified with no citation (non-strict); one that
cites nothing, or a number it was not given, is never shown as fact. If no
sentence verifies, the extractive answer's quotes are shown instead.

``write_verified`` is shared with generated summaries (``rag.answer.summary``).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from embeddings.multilingual import load_multilingual
from rag import lang
from rag.answer import compose
from rag.answer.answerer import CitedAnswerer, Grounds, ground
from rag.answer.evidence import Evidence
from rag.answer.lead import PROMPT_LANGUAGE, ambiguous_number
from rag.answer.translation import translator
from rag.answer.verifier import Verifier, WordOverlapVerifier, with_model
from rag.core import statements as rendering
from rag.core.config import Settings
from rag.core.records import Answer, Citation, Hit, Passage, Statement
from rag.core.tuning import NEXT_SENTENCE_GAP, PROMPT_RESERVE
from rag.ingest.sentences import split_sentences
from rag.models.generate import Generator, GeneratorError, Message, fit_prompt, has_chat
from rag.retrieval.index import Index
from rag.verify.overlap import content_words, leading_name, names, numbers

GENERATIVE_MAX_TOKENS = 320
"""Tokens a generated answer or summary may use: five sentences of about 40 words with their markers.
``Settings.max_new_tokens`` (48) is sized for the extractive mode's few-word lead, far too short here."""

VERIFY_CANDIDATES = 3
"""Sentences (or adjacent pairs) of a cited passage a claim is verified against, most similar first.
The sentence a claim paraphrases is nearly always the most similar one; trying a few more lets a claim
that joins two sentences pass, without letting it shop among every sentence of a long passage."""

MARKERS = re.compile(r"\[\s*(\d+(?:\s*[,;]\s*\d+)*)\s*\]")
# Markers written after the full stop ("... 8%. [1] China's ...") belong to the sentence before them.
MARKERS_AFTER_STOP = re.compile(r"([.!?])(\s*)((?:\[\s*\d+(?:\s*[,;]\s*\d+)*\s*\]\s*)+)")


@dataclass(frozen=True)
class Source:
    """One numbered passage shown to the model: a span of a document it may cite."""

    hit: Hit  # the chunk it comes from (document, title, language)
    start: int
    end: int
    text: str  # == document text[start:end]


@dataclass(frozen=True)
class Claim:
    """One sentence of the model's reply: its text without markers, and the passage numbers it cites."""

    text: str
    cited: tuple[int, ...]


@dataclass(frozen=True)
class Checked:
    """A claim after verification: the evidence that backs it (None if nothing does), or why it failed."""

    claim: Claim
    evidence: Evidence | None
    reason: str = ""


@dataclass
class Written:
    """What ``write_verified`` produced: statements in order, the citations they use, and what was dropped."""

    statements: list[Statement] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)
    dropped: list[Checked] = field(default_factory=list)
    error: str = ""

    @property
    def verified(self) -> int:
        return sum(s.verified for s in self.statements)

    def note(self) -> str:
        """One line on what the reader does not see (or sees unverified)."""
        if self.error:
            return self.error
        if not self.dropped:
            return ""
        first = self.dropped[0].reason
        return f"{len(self.dropped)} sentence(s) of the model's reply failed verification ({first})"


# -- the model's reply as claims -----------------------------------------------------


def parse_claim(sentence: str) -> Claim:
    """A reply sentence as a claim: "Miners go to Kazakhstan [2]." -> ("Miners go to Kazakhstan.", (2,))."""
    cited = tuple(dict.fromkeys(int(n) for group in MARKERS.findall(sentence) for n in re.split(r"[,;]", group)))
    text = " ".join(MARKERS.sub(" ", sentence).split())
    text = re.sub(r"\s+([.!?,;:])", r"\1", text)
    return Claim(text, cited)


def claims(pieces: Iterable[str], language: str) -> Iterator[Claim]:
    """The claims of a streamed reply, each as soon as the sentence after it has begun (so it is whole)."""
    buffer = ""
    for piece in pieces:
        buffer = MARKERS_AFTER_STOP.sub(lambda m: f" {m.group(3).strip()}{m.group(1)} ", buffer + piece)
        spans = split_sentences(buffer, language)
        if len(spans) < 2:
            continue
        for span in spans[:-1]:
            yield parse_claim(buffer[span.start:span.end])
        buffer = buffer[spans[-1].start:]
    for span in split_sentences(buffer, language):
        yield parse_claim(buffer[span.start:span.end])


# -- the prompt ----------------------------------------------------------------------


def passage_block(n: int, source: Source) -> str:
    """One numbered passage as the model reads it."""
    title = f" ({source.hit.title})" if source.hit.title else ""
    return f"[{n}]{title} {' '.join(source.text.split())}\n\n"


def instruction(language: str, attribute: str) -> str:
    """The question language's instruction for a capable model (English when it has none)."""
    return getattr(lang.get(language), attribute) or getattr(lang.get(lang.DEFAULT), attribute)


def reply(generator: Generator, settings: Settings, task: str, sources: list[Source],
          request: str) -> tuple[list[Source], Iterator[str]]:
    """The passages that fit the model's window, and its streamed reply over them.

    ``request`` is the last line of the prompt ("Question: ..."). Through
    ``chat_stream`` when the model is a chat model; otherwise as a plain
    completion prompt (a base model forced into generative mode).
    """
    head = "Passages:\n\n"
    tail = f"{request}\n" if has_chat(generator) else f"{request}\nAnswer:"
    blocks = [passage_block(n, s) for n, s in enumerate(sources, start=1)]
    kept = fit_prompt(generator, [f"{task}\n\n{head}{tail}", *blocks], reserve=GENERATIVE_MAX_TOKENS + PROMPT_RESERVE)
    sources = sources[: len(kept) - 1]
    body = head + "".join(blocks[: len(sources)]) + tail
    options = dict(max_tokens=GENERATIVE_MAX_TOKENS, temperature=settings.temperature)
    if has_chat(generator):
        # One user message: several chat templates (Gemma's among them) reject or drop a system role.
        messages: list[Message] = [{"role": "user", "content": f"{task}\n\n{body}"}]
        return sources, generator.chat_stream(messages, **options)  # type: ignore[attr-defined]
    return sources, generator.stream(f"{task}\n\n{body}", stop=["\nQuestion:", "\nPassages:", "\nDocument:"], **options)


# -- verification --------------------------------------------------------------------


class ClaimChecker:
    """Verifies claims against the sentences of the sources they cite."""

    def __init__(self, index: Index, generator: Generator | None, settings: Settings, verifier: Verifier,
                 sources: list[Source]):
        self.index, self.generator, self.settings, self.verifier = index, generator, settings, verifier
        self.sources = sources

    def check(self, claim: Claim) -> Checked:
        if not content_words(claim.text):
            return Checked(claim, None, "it says nothing that can be checked")
        if not claim.cited:
            return Checked(claim, None, "it cites no passage")
        unknown = [n for n in claim.cited if not 1 <= n <= len(self.sources)]
        if unknown:
            return Checked(claim, None, f"it cites passage [{unknown[0]}], which the model was not given")
        for n in claim.cited:
            for candidate in self.candidates(self.sources[n - 1], claim.text):
                passage = Passage(candidate.text, candidate.text_en)
                if (self.verifier.support(claim.text, [passage]).score >= self.verifier.threshold
                        and not ambiguous_number(claim.text, candidate, claim.text)
                        and not misplaced_number(claim.text, candidate)):
                    return Checked(claim, candidate)
        cited = ", ".join(f"[{n}]" for n in claim.cited)
        return Checked(claim, None, f"passage {cited} does not support it")

    def candidates(self, source: Source, claim: str) -> list[Evidence]:
        """The sentences and adjacent pairs of ``source`` most like ``claim``, with renderings if not English."""
        doc_id = source.hit.chunk.doc_id
        units = self.index.sentences_in(doc_id, source.start, source.end)
        if not units:
            spans = [(source.start, source.end, source.text)]
        else:
            spans = [(u.start, u.end, u.text) for u in units]
            spans += [(a.start, b.end, self.index.text_span(doc_id, a.start, b.end))
                      for a, b in zip(units, units[1:]) if 0 <= b.start - a.end <= NEXT_SENTENCE_GAP]
        foreign = source.hit.lang != lang.DEFAULT
        scores = self._similarity(claim, units, spans) if foreign and units else [
            _overlap(claim, text) for _s, _e, text in spans]
        ranked = sorted(range(len(spans)), key=lambda i: -scores[i])[:VERIFY_CANDIDATES]
        out = []
        for i in ranked:
            start, end, text = spans[i]
            english = self._english(text, source.hit.lang) if foreign else None
            out.append(Evidence(source.hit, start, end, text, english, float(scores[i])))
        return out

    def _similarity(self, claim: str, units: list, spans: list[tuple[int, int, str]]) -> list[float]:
        """Multilingual cosine of the claim and each span (a pair scores as its better sentence)."""
        vector = load_multilingual().encode([claim])[0]
        by_start = {u.start: u for u in units}
        by_end = {u.end: u for u in units}
        out = []
        for start, end, text in spans:
            parts = [u for u in (by_start.get(start), by_end.get(end)) if u is not None and u.vector_ml is not None]
            out.append(max((float(np.dot(u.vector_ml, vector)) for u in parts), default=_overlap(claim, text)))
        return out

    def _english(self, text: str, code: str) -> str | None:
        if self.generator is None or not self.settings.translate:
            return None
        try:
            english = self.index.translation(text, code, translator(self.generator))
        except GeneratorError:
            return None
        return english if english != text else None


def misplaced_number(claim: str, evidence: Evidence) -> str:
    """A number the claim ties to a name that the evidence ties to another number ("" if none).

    "Xinjiang has 35%, while Inner Mongolia has 8%" written back as "Xinjiang has 8%, while Inner
    Mongolia has 35%" holds every word and number of its passage, so word overlap passes it. Clause by
    clause: a number in a claim clause naming X must stand in an evidence clause naming X whenever
    the evidence has a clause naming X that holds another number.
    """
    clause_break = lang.pattern(PROMPT_LANGUAGE, "clause_break")  # claims and evidence.english are English
    if clause_break is None:
        return ""

    def parts(text: str) -> list[tuple[set[str], set[str]]]:
        return [(numbers(c), names(c) | leading_name(c)) for c in clause_break.split(text) if c.strip()]

    evidence_clauses = parts(evidence.english)
    for claimed_numbers, named in parts(claim):
        for number in claimed_numbers:
            holders = [n for nums, n in evidence_clauses if number in nums]
            if any(h & named for h in holders):
                continue
            if any(n & named and nums - {number} for nums, n in evidence_clauses if number not in nums):
                return number
    return ""


def _overlap(claim: str, text: str) -> float:
    wanted = set(content_words(claim))
    return len(wanted & set(content_words(text))) / len(wanted) if wanted else 0.0


def write_verified(index: Index, generator: Generator, settings: Settings, verifier: Verifier,
                   sources: list[Source], task: str, request: str, language: str, role: str,
                   written: Written) -> Iterator[tuple[Statement, Citation | None]]:
    """Ask the model, then yield each statement of its reply as it passes verification.

    Each statement comes with the new citation it introduces (None when it
    reuses one or has none). ``written`` collects the statements, citations
    and dropped claims; a generator failure is noted there, not raised.
    """
    try:
        sources, pieces = reply(generator, settings, task, sources, request)
        checker = ClaimChecker(index, generator, settings, verifier, sources)
        numbers: dict[tuple[str, int, int], int] = {}
        for claim in claims(pieces, language):
            checked = checker.check(claim)
            e = checked.evidence
            if e is None:
                written.dropped.append(checked)
                if settings.strict or not claim.text:
                    continue
                statement, citation = Statement(claim.text, role, None, verified=False), None
            else:
                key = (e.hit.chunk.doc_id, e.start, e.end)
                citation = None
                if key not in numbers:
                    numbers[key] = len(numbers) + 1
                    citation = compose.citation(numbers[key], e)
                    written.citations.append(citation)
                statement = Statement(claim.text, role, numbers[key])
            written.statements.append(statement)
            yield statement, citation
    except GeneratorError as exc:
        written.error = f"the model could not be reached ({exc}); showing the passages"


# -- the answerer --------------------------------------------------------------------


class GenerativeAnswerer:
    """A capable model's cited answer, sentence by sentence as each is verified; quotes if none verifies."""

    def __init__(self, verifier: Verifier | None = None, fallback: CitedAnswerer | None = None):
        self.verifier: Verifier = with_model(verifier or WordOverlapVerifier())  # the trained verifier too
        self.fallback = fallback or CitedAnswerer(self.verifier)

    def warm_up(self, generator: Generator) -> None:
        """Nothing to cache: every prompt starts with its own passages."""

    def stream(self, index: Index, generator: Generator | None, settings: Settings, question: str,
               resolved: str) -> Iterator[str | Answer]:
        if generator is None:
            yield from self.fallback.stream(index, generator, settings, question, resolved)
            return
        # The extractive answer's grounds, for the same refusal policy (non-English candidates rendered alike)
        # and for its quotes should no sentence of the model's verify.
        yield from self.answer(index, generator, settings,
                               ground(index, generator, settings, question, resolved, time.perf_counter()))

    def answer(self, index: Index, generator: Generator, settings: Settings,
               grounds: Grounds) -> Iterator[str | Answer]:
        """The model's verified answer on ``grounds`` (grounded by the caller, once, with this generator)."""
        answer, plan, retrieval, started = grounds.answer, grounds.plan, grounds.retrieval, grounds.started
        if grounds.reason:
            yield from compose.refused(answer, grounds.reason, started)
            return
        sources = [Source(h, h.chunk.start, h.chunk.end, h.chunk.text) for h in retrieval.hits[: settings.top_k]]
        written = Written()
        generate_started = time.perf_counter()
        shown = 0
        task = instruction(plan.language, "generative_instruction")
        for statement, _citation in write_verified(index, generator, settings, self.verifier, sources, task,
                                                   f"Question: {answer.resolved_question}", plan.language, "lead",
                                                   written):
            piece = rendering.pieces([statement], {})[0]
            yield piece if shown == 0 else " " + piece
            shown += 1
        answer.timings_ms["generate"] = (time.perf_counter() - generate_started) * 1000
        if not written.verified:
            yield from self._fall_back(index, generator, settings, grounds, written, shown, started)
            return
        answer.statements, answer.citations = written.statements, written.citations
        answer.reason = written.note()
        answer.answer = rendering.render(answer.statements, {c.n: c.lang for c in answer.citations})
        answer.timings_ms["total"] = (time.perf_counter() - started) * 1000
        yield answer

    def _fall_back(self, index: Index, generator: Generator, settings: Settings, grounds: Grounds,
                   written: Written, shown: int, started: float) -> Iterator[str | Answer]:
        """No sentence verified: the extractive answer on the same grounds, after any unverified sentences shown.

        Nothing is retrieved or selected again; the lead's time adds to the model's.
        """
        extractive = self.fallback.extractive(index, generator, settings, grounds)
        note = written.note() or "the model's reply had no sentence that could be verified"
        for i, piece in enumerate(rendering.pieces(extractive.statements,
                                                   {c.n: c.lang for c in extractive.citations})):
            yield piece if shown == 0 and i == 0 else " " + piece
        extractive.statements = written.statements + extractive.statements
        extractive.answer = rendering.render(extractive.statements, {c.n: c.lang for c in extractive.citations})
        extractive.reason = f"{note}; showing the passages instead"
        extractive.timings_ms["total"] = (time.perf_counter() - started) * 1000
        yield extractive
