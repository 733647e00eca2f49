"""The answerability policy: when the documents cannot answer, say so instead of answering.

Six reasons, checked in order:

1. the question asks to set the sources aside (``Plan.override``);
2. no evidence sentence is close enough (``Settings.min_relevance``);
3. a term the question is about (``Plan.about``: its numbers, the words rare in
   this library, names the library does not hold) occurs in none of the
   retrieved passages (their text, title, section path or file name). Terms
   match exactly after normalising case, diacritics, thousands separators and
   a light stem: never by spelling similarity, which took one company's name
   for another's;
4. the terms are all there, but no one passage holds them together: "Debian 12"
   and "Bookworm" in two unrelated passages do not say that Debian 12 is
   Bookworm, and a question that joins them rests on a premise the documents
   do not state;
5. the false premise: the question names an option or a quoted token ("-R", "--workers",
   'allballs') that no retrieved passage writes: it presupposes something the documents
   do not describe;
6. the near miss: the question asks for a quantity ("how many") and no evidence piece
   states one (a number or a number word the question does not already hold); or it asks
   for a kind of quantity that needs a unit (``Plan.measure``: a duration, a size) and
   no piece that shares a word with the question states a number with such a unit: the
   passages discuss the topic, not the asked detail.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from rag import lang
from rag.answer.evidence import Evidence
from rag.answer.facts import has_answer_type
from rag.answer.plan import CorpusStats, Plan
from rag.core.calibration import calibrated
from rag.core.config import Settings
from rag.core.records import Hit
from rag.verify.overlap import content_words, fold, normalise, numbers

REFUSAL = "The documents do not cover this."


def relevance_threshold(settings: Settings) -> float:
    """The operator's ``min_relevance``, else the value `make calibrate` fitted for the encoder."""
    if settings.min_relevance is not None:
        return settings.min_relevance
    return calibrated(settings.embedding_model).min_relevance


def refusal_reason(plan: Plan, evidence: list[Evidence], hits: list[Hit], settings: Settings,
                   stats: CorpusStats | None = None) -> str:
    """Why the documents cannot answer the planned question ("" when they can)."""
    if plan.override:
        return "the question asks to set the documents aside; answers come only from them"
    if not evidence or evidence[0].score < relevance_threshold(settings):
        return "no passage in the documents is close enough to the question"
    missing = missing_terms(plan, hits, stats)
    if missing:
        return "the documents do not mention " + ", ".join(missing)
    apart = terms_apart(plan, hits, stats)
    if apart:
        together = sorted((set(plan.about.values()) | set(plan.decades.values())) - set(apart))
        return (f"no passage in the documents mentions {', '.join(apart)} together with {', '.join(together)}"
                if together else "no passage in the documents mentions " + ", ".join(apart))
    unwritten = unwritten_literals(plan, hits)
    if unwritten:
        return "the documents never write " + ", ".join(unwritten)
    if plan.answer_type == "quantity" and not any(states_quantity(plan, e) for e in evidence):
        return "the passages on this give no number for what is asked"
    if plan.measure and not any(states_measure(plan, e) for e in evidence):
        return f"the passages on this give no {plan.measure} (a number with its unit) for what is asked"
    return ""


def unwritten_literals(plan: Plan, hits: list[Hit]) -> list[str]:
    """The question's options and quoted tokens (``Plan.literals``) that no retrieved passage writes.

    An option matches as written ("-R" is not "-r"); a quoted token in any case.
    """
    texts = [f"{h.title}\n{h.chunk.section}\n{h.chunk.text}\n{h.chunk.text_en or ''}" for h in hits]
    missing = []
    for literal in plan.literals:
        flags = 0 if literal.startswith("-") else re.IGNORECASE
        pattern = re.compile(rf"(?<![\w-]){re.escape(literal)}(?![\w-])", flags)
        if not any(pattern.search(text) for text in texts):
            missing.append(literal)
    return missing


def states_measure(plan: Plan, evidence: Evidence) -> bool:
    """Whether ``evidence`` shares a word with the question and it, or the sentence after it in its passage,
    states a quantity of the asked kind (``Plan.measure``): a number with one of its units ("50 MiB",
    "five days"), or a word that is one ("daily"). A number of another kind ("scache(8)", "version 2.5") is not."""
    renderings = [(evidence.text, evidence.hit.lang), (evidence.text_en or "", "en")]
    if not any(set(content_words(text)) & plan.words for text, _ in renderings):
        return False
    renderings.append((_sentence_after(evidence), evidence.hit.lang))
    return any(_measure_pattern(plan.measure, language).search(text)
               for text, code in renderings if text for language in {code, plan.language, lang.DEFAULT})


def _sentence_after(evidence: Evidence) -> str:
    """The text of ``evidence``'s passage after it, up to the end of the next sentence (the subject is named in
    one sentence, its value given in the next: "... the journal. The default is 50 MiB.")."""
    chunk = evidence.hit.chunk
    rest = chunk.text[max(0, evidence.end - chunk.start):]
    end = re.search(r"[.!?](?:\s|$)", rest.lstrip())
    return rest.lstrip()[: end.end() if end else len(rest)]


@lru_cache(maxsize=None)
def _measure_pattern(kind: str, code: str) -> re.Pattern[str]:
    """A number (digits or a number word of ``code``) with a unit of ``kind``, or a word that is one alone."""
    units, alone = lang.get(code).measure_units.get(kind, ("", ""))
    if not units:
        return re.compile(r"(?!x)x")  # never matches: no units of this kind in this language
    words = "|".join(map(re.escape, sorted(lang.get(code).number_words, key=len, reverse=True)))
    number = rf"(?:\d[\d,.]*|\b(?:{words})\b)" if words else r"\d[\d,.]*"
    source = rf"{number}\s*-?\s*(?:{units})(?!\w)" + (rf"|\b(?:{alone})\b" if alone else "")
    return re.compile(source, re.IGNORECASE)


def states_quantity(plan: Plan, evidence: Evidence) -> bool:
    """Whether ``evidence`` (or its English rendering) holds a number the question does not, as the evidence
    feature ``answer_type`` counts one (``has_answer_type``)."""
    return (has_answer_type(plan, evidence.text, evidence.hit.lang)
            or bool(evidence.text_en) and has_answer_type(plan, evidence.text_en or "", "en"))


def terms_apart(plan: Plan, hits: list[Hit], stats: CorpusStats | None = None) -> list[str]:
    """The question's terms missing from the passage that holds most of them ([] when one holds them all).

    Each term may be in some retrieved passage while no passage joins them:
    then nothing the documents say connects them the way the question does.
    """
    if len(plan.about) + len(plan.decades) < 2 or not hits:
        return []
    best: list[str] | None = None
    for hit in hits:
        missing = missing_terms(plan, [hit], stats)
        if not missing:
            return []
        if best is None or len(missing) < len(best):
            best = missing
    return best or []


def missing_terms(plan: Plan, hits: list[Hit], stats: CorpusStats | None = None) -> list[str]:
    """The terms (as the question spells them) the question is about that no retrieved passage contains.

    A term is present when a word of the passages has its folded form, or, with
    ``stats``, when the full-text index matches it in a retrieved passage (its
    stemmer is the one the term was found rare with).
    """
    # A question names a document by its title or by its file name ("according to the Debian Reference"
    # about debian-reference-de-ch04.html, whose German text never says "Reference").
    present = folded_words(f"{h.title} {_file_words(h.chunk.doc_id)} {h.chunk.section} {h.chunk.text} "
                           f"{h.chunk.text_en or ''}" for h in hits)
    origins = {origin(word) for word in present}
    # The question's language stems its own way too (Dampfmaschinen, Dampfmaschine).
    stems = {lang.stem(word, plan.language) for word in present} if plan.language != lang.DEFAULT else set()
    missing = {folded: spelling for folded, spelling in plan.about.items()
               if folded not in present and origin(folded) not in origins
               and lang.stem(fold(spelling), plan.language) not in stems}
    if missing and stats is not None:
        found = stats.term_document_frequency(sorted(set(missing.values())), [h.chunk.chunk_id for h in hits])
        missing = {folded: spelling for folded, spelling in missing.items() if not found.get(spelling)}
    years = {word[:3] for word in present if len(word) == 4 and word.isdigit()}
    missing |= {spelling: spelling for prefix, spelling in plan.decades.items() if prefix not in years}
    return sorted(missing.values())


def _file_words(doc_id: str) -> str:
    """The words of a document's file name ("debian-reference-de-ch04.html" -> "debian reference de ch04")."""
    name = doc_id.rsplit("/", 1)[-1]
    return re.sub(r"[\W_]+", " ", name.rsplit(".", 1)[0] if "." in name else name)


def origin(word: str) -> str:
    """``word`` without an origin suffix of any language (Siberian, Siberia, Siberische -> siber).

    An exact rule, like a stemmer's: names match across languages only when
    they differ in such an ending, never by looking alike (Bitmain is not Bitmall).
    """
    for suffix in lang.origin_suffixes():
        if word.endswith(suffix) and len(word) - len(suffix) >= lang.ORIGIN_STEM_MIN:
            return word[: -len(suffix)]
    return word


def folded_words(texts: Iterable[str]) -> set[str]:
    """Every word and number ("3.5") of ``texts`` in the folded form plan terms are compared in."""
    found: set[str] = set()
    for text in texts:
        text = normalise(text)
        found |= {fold(w) for w in re.findall(r"\w+", text)} | numbers(text)
    return found
