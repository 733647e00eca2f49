"""Build the structured answer: citations and statements from the lead and the evidence.

The answer is a list of ``Statement`` records; its text is rendered from them
(``rag.core.statements``) and never parsed back.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence
from difflib import get_close_matches

from rag.answer.evidence import Evidence
from rag.answer.lead import Lead
from rag.answer.refuse import REFUSAL
from rag.core.records import Answer, Citation, Hit, Statement
from rag.verify.overlap import names, normalise, numbers


def new_answer(question: str, resolved: str, generator, index, retrieved: list[Hit] | None = None,
               timings: dict[str, float] | None = None) -> Answer:
    """An empty answer to ``question``, stamped with the model and the index version that make it."""
    return Answer(question=question, answer="", refused=False, retrieved=[] if retrieved is None else retrieved, resolved_question=resolved,
                  model=getattr(generator, "name", "none"), backend=getattr(generator, "backend", "none"),
                  index_version=index.version, timings_ms={} if timings is None else timings)


def refused(answer: Answer, reason: str, started: float) -> Iterator[str | Answer]:
    """Refuse ``answer`` for ``reason``: the refusal as its only text, then the answer (nothing generated).

    ``started`` is the ``time.perf_counter()`` the answer began at, for its total time.
    """
    answer.answer, answer.refused, answer.reason = REFUSAL, True, reason
    answer.timings_ms["generate"] = 0.0
    answer.timings_ms["total"] = (time.perf_counter() - started) * 1000
    yield answer.answer
    yield answer


def citations(evidence: list[Evidence], hits: Sequence[Hit] = ()) -> list[Citation]:
    """One citation per piece of evidence, numbered from 1 in order (``hits``: the retrieved chunks, for sections)."""
    return [citation(n, e, hits) for n, e in enumerate(evidence, start=1)]


def citation(n: int, e: Evidence, hits: Sequence[Hit] = ()) -> Citation:
    """Evidence cited as [n]: its exact span, its document's title, date and language, and its section."""
    return Citation(n=n, doc_id=e.hit.chunk.doc_id, chunk_id=e.hit.chunk.chunk_id, start=e.start, end=e.end,
                    quote=e.text, title=e.hit.title, date=e.hit.date, lang=e.hit.lang, translation=e.text_en,
                    support=round(min(max(e.score, 0.0), 1.0), 4), section=section_of(e, hits))


def section_of(e: Evidence, hits: Sequence[Hit] = ()) -> str:
    """The heading path of the chunk holding the evidence's start: its own chunk's, else another retrieved one's.

    Evidence may come from the text around its chunk; "" is given then rather than a neighbour's path
    (as ``rag check`` does).
    """
    for hit in (e.hit, *hits):
        chunk = hit.chunk
        if chunk.doc_id == e.hit.chunk.doc_id and chunk.start <= e.start < chunk.end:
            return chunk.section
    return ""


def statements(lead: Lead | None, evidence: list[Evidence], cited: list[Citation]) -> list[Statement]:
    """The lead (citing the best evidence), then each piece of evidence as a quote, with its rendering if faithful.

    The original always comes first: the small model's translations keep names and
    numbers but can turn a meaning around ("turn his back on China" came out as
    "going to China"), so a rendering is an aid for reading, never the statement.
    """
    out: list[Statement] = []
    if lead is not None and lead.text:
        out.append(Statement(lead.text, "lead", cited[0].n, lead.verified))
    for e, citation in zip(evidence, cited):
        out.append(Statement(quote_text(e.text), "quote", citation.n))
        if e.text_en and faithful_translation(e):
            out.append(Statement(" ".join(e.text_en.split()), "translation", citation.n))
    return out


def quote_text(text: str) -> str:
    """A quote as it reads in the answer: white space folded, "country. ." read as "country."."""
    return re.sub(r"([.!?])(\s*\.)+", r"\1", " ".join(text.split()))


def faithful_translation(e: Evidence) -> bool:
    """Show a machine translation only if it keeps the original's numbers and invents no names.

    Names may be spelled the English way (Irkoetsk -> Irkutsk), so they match by spelling similarity
    (difflib's close match, as ``rag.answer.facts.similar_words``).
    """
    english = e.text_en or ""
    if numbers(english) != numbers(e.text):
        return False
    original_words = set(re.findall(r"\w+", normalise(e.text)))
    return all(
        get_close_matches(name, original_words, n=1) for name in names(english)
    )
