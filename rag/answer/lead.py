"""The lead: a short answer the model writes from the best evidence sentence, kept only if it checks out.

The model sees one passage, never several (given more, a small model readily
answers from the wrong one), and a prompt with worked examples from
``rag.lang``. It is asked only when the passage says what narrows the
question ("first", "largest"). Its reply is kept only if the verifier finds
it supported, it adds no word the passage lacks, and a number it picks is the
one the question points to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag import lang
from rag.answer.evidence import Evidence
from rag.answer.plan import Plan
from rag.answer.refuse import folded_words, origin
from rag.answer.verifier import Verifier
from rag.core.config import Settings
from rag.core.records import Passage
from rag.core.tuning import LEAD_MAX_CHARS, PROMPT_RESERVE
from rag.models.generate import Generator, GeneratorError, fit_prompt
from rag.verify.overlap import content_words, leading_name, names, numbers

STOP = ["\n", "Question:", "Passage:"]
PROMPT_LANGUAGE = "en"  # the evidence the model reads is English (or its English rendering)


@dataclass(frozen=True)
class Lead:
    """The outcome of asking for a lead: its text ("" if none) and why it was dropped or flagged."""

    text: str
    note: str = ""
    verified: bool = True


def prompt_head(language: str = PROMPT_LANGUAGE) -> str:
    """The fixed start of every answer prompt: the instruction and the worked examples."""
    data = lang.get(language)
    examples = "".join(f"Passage: {p}\nQuestion: {q}\nAnswer: {a}\n\n" for p, q, a in data.answer_examples)
    return f"{data.answer_instruction}\n\n{examples}"


def warm_up(generator: Generator) -> None:
    """Evaluate the fixed head of the prompt once, so later questions reuse it from the cache."""
    for _ in generator.stream(prompt_head() + "Passage:", max_tokens=1, stop=["\n"]):
        pass


def build_prompt(generator: Generator, question: str, evidence: Evidence, max_new_tokens: int) -> str:
    """The completion prompt over the single best evidence sentence; GeneratorError if it cannot fit."""
    prompt = f"{prompt_head()}Passage: {evidence.english}\nQuestion: {question}\nAnswer:"
    fit_prompt(generator, [prompt], reserve=max_new_tokens + PROMPT_RESERVE)
    return prompt


def clean_lead(text: str) -> str:
    """The first sentence of the model's output, without stray markup."""
    text = re.sub(r"\s+", " ", text).strip().strip('"“”').strip()
    first = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0]
    return first[:LEAD_MAX_CHARS].strip()


@dataclass(frozen=True)
class Draft:
    """The model's candidate lead before the verifier's threshold is applied (what calibration scores)."""

    text: str  # "" when no lead was asked for or the model gave none
    note: str = ""  # why not, when ``text`` is ""
    score: float = 0.0  # the verifier's support of ``text`` on the passage
    checks: bool = False  # it adds no word the passage lacks, picks the number asked for, names a whole pair


def draft_lead(generator: Generator, settings: Settings, plan: Plan, best: Evidence, verifier: Verifier) -> Draft:
    """Ask the model for a short answer from ``best`` when one can be trusted at all, and score it."""
    if lang.any_language("override").search(best.english) or lang.any_language("instruction_like").search(best.english):
        return Draft("", "the best passage reads like an instruction to a model; quoting it, not following it")
    if plan.is_list:
        # The model reads one sentence; a list's items sit in several (the evidence holds up to
        # LIST_EVIDENCE of them), so its lead could only name part of the answer ("Ebang" of "Ebang, Canaan").
        return Draft("", "the answer is a list spread over several passages; quoting them instead of a short answer")
    if plan.asks_several:
        # The model answers from one sentence with a few words: of two facts asked at once it names
        # one (or one of them wrongly), and a half answer read as the answer is a wrong lead.
        return Draft("", "the question asks for several facts; quoting the passages that hold them")
    if best.text_en or best.hit.lang != "en":
        # A reply drawn from a machine translation inherits its mistakes, and they pass every
        # check on names and numbers ("turn his back on China" -> "going to China" -> "To China.").
        return Draft("", "the best passage is a translation; quoting the original instead of a short answer")
    unmentioned = terms_not_in(plan, best)
    if unmentioned:
        # The passage is about something else than what was asked ("Debian 3.0" for "Debian 2.0"):
        # a short answer drawn from it would be a wrong fact stated as a lead.
        return Draft("", f"the best passage does not mention {', '.join(unmentioned)}; quoting instead of a short answer")
    unsaid = qualifiers_not_in(plan, best)
    if unsaid:
        # "Which version *first* shipped apt?" over "2.1 included apt": the passage names a version
        # that shipped it, not the first; as a short answer it would claim what the passage does not.
        return Draft("", f"the best passage does not say {', '.join(unsaid)}; quoting instead of a short answer")
    try:
        text = generate_lead(generator, settings, plan.question, best)
    except GeneratorError as exc:
        return Draft("", f"generator unavailable ({exc}); showing the passages")
    if not text:
        return Draft("", "the model gave no answer; showing the passages")
    score = verifier.support(text, [Passage(best.text, best.text_en)]).score
    checks = (adds_only_supported(text, best, plan.question) and not ambiguous_number(text, best, plan.question)
              and not half_of_a_pair(text, best, plan.question))
    return Draft(text, score=score, checks=checks)


def verified_lead(generator: Generator, settings: Settings, plan: Plan, best: Evidence, verifier: Verifier) -> Lead:
    """The model's short answer if the best passage supports it, and a note on why not otherwise.

    In non-strict mode a failed lead is still returned, marked unverified.
    """
    draft = draft_lead(generator, settings, plan, best, verifier)
    if not draft.text:
        return Lead("", draft.note)
    if draft.checks and draft.score >= verifier.threshold:
        return Lead(draft.text)
    if not settings.strict:
        return Lead(draft.text, "the model's answer is not supported by the passage", verified=False)
    return Lead("", "the model's answer was not supported by the passages; showing them instead")


def terms_not_in(plan: Plan, evidence: Evidence) -> list[str]:
    """The terms the question is about (``Plan.about``) that the lead's own passage lacks."""
    present = folded_words([evidence.text, evidence.text_en or ""])
    origins = {origin(word) for word in present}
    return sorted(spelling for folded, spelling in plan.about.items()
                  if folded not in present and origin(folded) not in origins and folded not in plan.describing)


def qualifiers_not_in(plan: Plan, evidence: Evidence) -> list[str]:
    """The question's narrowing words (``first``, ``largest``: the language's ``qualifiers``) for which the
    lead's own passage holds no word of the same meaning ("maximum" says "largest")."""
    unsaid: set[str] = set()
    for meaning in lang.get(plan.language).qualifiers:
        words = re.compile(rf"\b(?:{meaning})\b", re.IGNORECASE)
        asked = words.search(plan.question)
        if asked and not any(words.search(text) for text in (evidence.text, evidence.text_en or "")):
            unsaid.add(asked.group().lower())
    return sorted(unsaid)


def generate_lead(generator: Generator, settings: Settings, question: str, evidence: Evidence) -> str:
    prompt = build_prompt(generator, question, evidence, settings.max_new_tokens)
    out = "".join(generator.stream(prompt, max_tokens=settings.max_new_tokens,
                                   temperature=settings.temperature, stop=STOP))
    return clean_lead(out)


def adds_only_supported(lead: str, evidence: Evidence, question: str) -> bool:
    """Every word the lead adds to the question (its actual answer) must be in the passage."""
    passage = set(content_words(evidence.text)) | set(content_words(evidence.text_en or ""))
    added = set(content_words(lead)) - set(content_words(question))
    return bool(added) and added <= passage


def half_of_a_pair(lead: str, evidence: Evidence, question: str) -> bool:
    """A lead that stops where the passage goes on with "and" to a second member of the answer.

    "The name comes from ... Ian Murdock, and his wife, Debra": a lead of
    "Ian Murdock." is true but half the answer, and read as the answer it
    is wrong. Such a lead is dropped; the quote shows both.
    """
    coordination = lang.get(PROMPT_LANGUAGE).coordination  # evidence.english is English
    if not coordination:
        return False
    lead_words, asked = set(content_words(lead)), set(content_words(question))
    added = lead_words - asked
    text = evidence.english
    ends = [m.end() for m in re.finditer(r"[\w$%]+", text) if set(content_words(m.group())) & added]
    if not ends:
        return False
    after = text[max(ends):]
    joined = re.match(rf"\W{{0,3}}\b(?:{coordination})\b", after, re.IGNORECASE)
    if not joined:
        return False
    following = content_words(after[joined.end():])[:3]
    return any(w not in lead_words and w not in asked for w in following)


def ambiguous_number(lead: str, evidence: Evidence, question: str) -> bool:
    """A number picked from a sentence that holds other numbers, with nothing to tell them apart.

    "BitMining plans $25 million for the US; and $9 million for Kazakhstan":
    a small model asked about Kazakhstan may pick either. The lead is kept
    only if the clause holding its number matches the question strictly
    better than every clause holding another number.
    """
    picked = numbers(lead)
    if not picked:
        return False
    clause_break = lang.pattern(PROMPT_LANGUAGE, "clause_break")  # evidence.english is English
    clauses = [c for c in clause_break.split(evidence.english) if c.strip()] if clause_break else []
    if len(clauses) < 2:
        return False
    wanted = set(content_words(question))
    asked_names = names(question)

    def fit(clause: str) -> tuple[int, int]:
        """Names of the question count first ("Inner Mongolia ... 8%"), then shared words."""
        named = names(clause) | leading_name(clause)
        return len(asked_names & named), len(wanted & set(content_words(clause)))

    holding = [fit(c) for c in clauses if numbers(c) & picked]
    others = [fit(c) for c in clauses if numbers(c) and not numbers(c) & picked]
    if not others:
        return False
    return not holding or max(holding) <= max(others)
