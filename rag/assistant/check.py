"""`rag check`: fact-check a text sentence by sentence against the library.

Each sentence of the text is looked up through ``Assistant.search`` like a
question; the sentences of the passages found are handed to the
``StructuredVerifier`` (rag/verify/support.py), which says ``supported``,
``contradicted`` or ``not_found`` with the reason and the sentence it rests
on, and the trained verifier may revise that under the rules' vetoes
(``rag.verify.model.ModelCheck``). The result is a list of ``CheckResult`` records: the CLI prints them, the
chat can show them, and ``write_check`` exports them as .json or .md. Every
citation obeys the project rule ``quote == document.text[start:end]``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from embeddings.multilingual import load_multilingual
from rag.answer.translation import translator
from rag.core.errors import BadQuestion
from rag.core.progress import CancelToken
from rag.core.statements import quote_lines
from rag.ingest.chunk import split_sentences
from rag.verify.claims import NOT_FOUND, Passage
from rag.verify.model import ModelCheck
from rag.verify.support import StructuredVerifier
from rag.verify.words import normalise

MAX_CHECK_CHARS = 20_000  # about eight pages; longer texts are refused with one line
CONTEXT_CHARS = 600  # text around the top passages searched for evidence too (the answer can sit beside them)
WINDOW_HITS = 3
CHECK_K = 8  # passages per sentence: a claim is a paraphrase, not a question, and ranks its source lower
# At most this many sentences rendered in English per checked sentence. A latency budget, not a fitted
# value: a rendering costs seconds with the packaged model the first time (then the index's cache has it).
CHECK_TRANSLATE = 2


@dataclass(frozen=True)
class CheckCitation:
    """The evidence sentence a verdict rests on."""

    doc_id: str
    start: int
    end: int
    quote: str  # == document.text[start:end]
    title: str = ""
    date: str | None = None
    lang: str = "en"
    translation: str | None = None  # English machine rendering of a non-English quote
    section: str = ""  # the headings above the quote, "Chapter › Section" ("" when the document has none)


@dataclass(frozen=True)
class CheckResult:
    """The verdict on one sentence of the checked text."""

    sentence: str
    start: int  # offsets into the checked text
    end: int
    verdict: str  # supported | contradicted | not_found
    score: float
    reason: str
    citations: list[CheckCitation] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def split_text(text: str) -> list[tuple[int, int]]:
    """Sentence spans of ``text`` with the project's sentence splitter."""
    return [(s.start, s.end) for s in split_sentences(text, "en")]


def check_text(assistant, text: str, k: int | None = None,
               verifier: StructuredVerifier | None = None) -> list[CheckResult]:
    """One ``CheckResult`` per sentence of ``text``, in order."""
    return list(iter_check(assistant, text, k, verifier))


def iter_check(assistant, text: str, k: int | None = None, verifier: StructuredVerifier | None = None,
               cancel: CancelToken | None = None) -> Iterator[CheckResult]:
    """``check_text`` one sentence at a time, so a reader sees verdicts as they come and can stop.

    The text is checked (empty, too long: ``BadQuestion``) before anything runs; ``cancel``
    is looked at before every sentence (``Cancelled``).
    """
    if not isinstance(text, str) or not any(ch.isalnum() for ch in text):
        raise BadQuestion("the text to check is empty")
    if len(text) > MAX_CHECK_CHARS:
        raise BadQuestion(f"the text is too long to check ({len(text)} characters, limit {MAX_CHECK_CHARS})")
    return _check_sentences(assistant, text, k, verifier, cancel)


def _check_sentences(assistant, text: str, k: int | None, verifier: StructuredVerifier | None,
                     cancel: CancelToken | None) -> Iterator[CheckResult]:
    verifier = verifier or default_verifier(assistant)
    judge = ModelCheck(verifier)
    for start, end in split_text(text):
        if cancel is not None:
            cancel.check()
        sentence = " ".join(text[start:end].split())
        if len(sentence) > 2000 or sum(ch.isalnum() for ch in sentence) < 3:
            yield CheckResult(sentence, start, end, NOT_FOUND, 0.0, "not a sentence that can be checked")
            continue
        yield check_sentence(assistant, verifier, sentence, start, end, k, judge)


def default_verifier(assistant) -> StructuredVerifier:
    """A verifier with the index's own encoder (and the multilingual one when the index has it)."""
    encoder = assistant.index.encoder.encoder
    multilingual = None
    if assistant.settings.multilingual:
        multilingual = lambda texts: load_multilingual().encode(texts)  # noqa: E731 - loaded on first use
    return StructuredVerifier(lambda texts: encoder.encode(list(texts)), multilingual)


def check_sentence(assistant, verifier: StructuredVerifier, sentence: str, start: int = 0, end: int | None = None,
                   k: int | None = None, judge: ModelCheck | None = None) -> CheckResult:
    """Retrieve passages for one sentence and verify it against their sentences (rules, then the model)."""
    end = len(sentence) if end is None else end
    analysis, candidates, documents = analyse_sentence(assistant, verifier, sentence, k)
    judge = judge or ModelCheck(verifier)
    verdict = judge.verdict(analysis, [c[1] for c in candidates], background_of(documents))
    citations = []
    if verdict.evidence >= 0:
        hit, _passage, s_start, s_end, english, after = candidates[verdict.evidence]
        doc = documents[hit.chunk.doc_id]
        if verdict.uses_after and after is not None:
            s_end = after[1]
            english = f"{english} {after[2]}" if english else None
        citations.append(CheckCitation(hit.chunk.doc_id, s_start, s_end, doc.text[s_start:s_end], hit.title,
                                       hit.date, hit.lang, english, section_at([c[0] for c in candidates],
                                                                               hit.chunk.doc_id, s_start)))
    return CheckResult(sentence, start, end, verdict.verdict, verdict.score, verdict.reason, citations)


def section_at(hits, doc_id: str, position: int) -> str:
    """The heading path of the retrieved chunk holding ``position``, so a quote says where in a manual it sits.

    The evidence may come from the text around a hit (``CONTEXT_CHARS``); its own chunk is
    then looked for among the other hits, and "" is given rather than a neighbour's path.
    """
    for hit in hits:
        chunk = hit.chunk
        if chunk.doc_id == doc_id and chunk.start <= position < chunk.end:
            return chunk.section
    return ""


def analyse_sentence(assistant, verifier: StructuredVerifier, sentence: str, k: int | None = None):
    """The verifier's measurements for one sentence (thresholds not applied), with the candidates behind them.

    Split from ``check_sentence`` so calibration measures once and tries many thresholds.
    """
    hits = assistant.search(sentence, k=k or CHECK_K)
    candidates = with_renderings(assistant, verifier, sentence, evidence_sentences(assistant, hits))
    documents = {h.chunk.doc_id: assistant.document(h.chunk.doc_id) for h in hits}
    analysis = verifier.analyse(sentence, [c[1] for c in candidates], background=background_of(documents))
    return analysis, candidates, documents


def background_of(documents: dict) -> str:
    """The retrieved documents' text: a name of the claim none of them mentions is an invented detail."""
    return " ".join(d.text for d in documents.values() if d is not None)


def evidence_sentences(assistant, hits) -> list[tuple]:
    """(hit, Passage, start, end, english, next sentence) for the sentences of the retrieved passages.

    The index encodes a sentence once and then serves its vectors from the
    cache; each sentence knows its neighbours, which hold the speaker of a
    quote or the second half of a fact.
    """
    store = assistant.index
    out: list[tuple] = []
    seen: set[tuple[str, int]] = set()
    for rank, hit in enumerate(hits):
        chunk = hit.chunk
        window = CONTEXT_CHARS if rank < WINDOW_HITS else 0
        sentences = store.sentences_in(chunk.doc_id, max(0, chunk.start - window), chunk.end + window)
        for i, s in enumerate(sentences):
            if (s.doc_id, s.start) in seen:
                continue
            seen.add((s.doc_id, s.start))
            before = sentences[i - 1] if i > 0 else store.sentence_beside(s.doc_id, s.start, after=False)
            after = sentences[i + 1] if i + 1 < len(sentences) else store.sentence_beside(s.doc_id, s.end, after=True)
            passage = Passage(
                text=s.text, english=s.text_en, lang=hit.lang,
                before=(before.text_en or before.text) if before else "",
                after=(after.text_en or after.text) if after else "",
                vector=s.vector if s.vector_ml is None else None, vector_ml=s.vector_ml,
            )
            nxt = (after.start, after.end, after.text_en or after.text) if after else None
            out.append((hit, passage, s.start, s.end, s.text_en, nxt))
    return out


def with_renderings(assistant, verifier: StructuredVerifier, sentence: str, candidates: list[tuple],
                    limit: int = CHECK_TRANSLATE) -> list[tuple]:
    """``candidates`` with an English rendering for the non-English sentences that would be the evidence.

    The multilingual encoder compares an English claim with a Dutch sentence's
    meaning, but clauses and words can only be compared with English. Every
    non-English sentence takes the rendering the index's cache already has;
    then, while the best-ranked candidate is a non-English sentence without
    one, it is rendered (made by the generator and cached; none without a
    generator) and the candidates ranked again, at most ``limit`` times. So a
    check whose evidence is English translates nothing, and the rendering is
    only ever needed for what would be cited. The citation quotes the original.
    """
    index = assistant.index
    out = list(candidates)

    def render(i: int, english: str | None) -> None:
        hit, passage, start, end, _english, nxt = out[i]
        if english and english.strip() and english.strip() != passage.text.strip():
            out[i] = (hit, replace(passage, english=english), start, end, english, nxt)

    foreign = [i for i, c in enumerate(out) if c[1].lang != "en" and not c[1].english]
    for i in foreign:
        render(i, index.cached_translation(out[i][1].text, out[i][1].lang))
    if not foreign or limit <= 0 or not assistant.settings.translate or verifier.encode_multilingual is None:
        return out
    tried: set[int] = set()
    claim = " ".join(normalise(sentence).split())
    for _ in range(limit):
        best = int(np.argmax(verifier.rank(claim, [c[1] for c in out])))
        passage = out[best][1]
        if passage.lang == "en" or passage.english or best in tried:
            break
        generator = assistant.generator  # loaded only when a rendering is to be made
        if generator is None:
            break
        tried.add(best)
        render(best, index.translation(passage.text, passage.lang, translator(generator)))
    return out


# -- output -----------------------------------------------------------------------------


def format_results(results: list[CheckResult]) -> str:
    lines = []
    marks = {"supported": "✓ supported", "contradicted": "✗ contradicted", "not_found": "? not found"}
    for n, r in enumerate(results, start=1):
        lines.append(f"{n}. {marks.get(r.verdict, r.verdict)}: {r.sentence}")
        lines.append(f"   {r.reason}")
        for c in r.citations:
            where = f" › {c.section}" if c.section else ""
            lines.append(f"   {c.title}{where} — {c.doc_id} [{c.start}:{c.end}]")
            lines += quote_lines(c, "   ")
    return "\n".join(lines)


def summary(results: list[CheckResult]) -> dict[str, int]:
    counts = {"supported": 0, "contradicted": 0, "not_found": 0}
    for r in results:
        counts[r.verdict] = counts.get(r.verdict, 0) + 1
    return counts


def check_record(text: str, results: list[CheckResult], assistant=None) -> dict[str, Any]:
    """The exported shape: the text, one record per sentence, and what produced them."""
    record: dict[str, Any] = {
        "kind": "check",
        "text": text,
        "exported_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "summary": summary(results),
        "results": [r.to_dict() for r in results],
    }
    if assistant is not None:
        record["index_version"] = assistant.index.version
        record["embedding_model"] = assistant.settings.embedding_model
        record["library"] = assistant.info().get("library", "")  # every doc_id is relative to it
    return record


def write_check(path: Path, text: str, results: list[CheckResult], assistant=None) -> None:
    """Export a check as .json (the record above) or .md (readable, every quote with its span)."""
    path = Path(path)
    record = check_record(text, results, assistant)
    if path.suffix.lower() == ".json":
        path.write_text(json.dumps(record, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    elif path.suffix.lower() in (".md", ".markdown"):
        lines = ["# Check of a text", "", f"Checked {record['exported_at']}: " + ", ".join(
            f"{v} {k.replace('_', ' ')}" for k, v in record["summary"].items()), ""]
        for n, r in enumerate(results, start=1):
            lines += [f"{n}. **{r.verdict.replace('_', ' ')}** — {r.sentence}", f"   - {r.reason}"]
            for c in r.citations:
                where = f" › {c.section}" if c.section else ""
                lines.append(f"   - {c.title}{where}, `{c.doc_id}` [{c.start}:{c.end}]: “{' '.join(c.quote.split())}”")
                if c.translation:
                    lines.append(f"     (machine translation: {c.translation})")
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    else:
        raise ValueError(f"cannot export a check to {path.name}: use .json or .md")
