"""What kind of fact a text states, against what a question asks (``Plan``): a quantity, a date, a new name,
a number of what is counted. Evidence scoring weighs it (``rag.answer.evidence``) and refusal's near-miss
rule asks it (``rag.answer.refuse``), so the two agree.
"""

from __future__ import annotations

import re
from difflib import get_close_matches

from rag import lang
from rag.answer.plan import Plan
from rag.verify.overlap import content_words, names, normalise, numbers


def has_answer_type(plan: Plan, text: str, text_language: str | None = None) -> bool:
    """Whether ``text`` contains the kind of fact the question asks for (a number, a date, a new name).

    A quantity is a number the question does not hold: digits, or a number word of the question's language
    or of ``text_language`` ("five", "zwölf"); refusal's near-miss rule asks the same (``rag.answer.refuse``).
    """
    kind = plan.answer_type
    if kind == "quantity":
        return bool(stated_numbers(text, {plan.language, text_language or plan.language}) - numbers(plan.question))
    if kind == "time":
        time_words = lang.pattern(plan.language, "time_words")
        return bool(time_words and time_words.search(text))
    if kind in ("place", "name"):
        return bool(new_names(text, plan.question))
    return False


COUNT_REACH = 3  # words between a number and the noun it counts ("474 packages", "1500 binary packages")


def counts_asked(plan: Plan, text: str, text_language: str | None = None) -> bool:
    """Whether ``text`` states a number (one the question does not hold) of what the question counts
    (``Plan.counted``): "contained 474 packages" for "how many packages", not "Debian 1.1" beside it."""
    if not plan.counted:
        return False
    tables = [lang.get(code).number_words for code in {plan.language, text_language or plan.language}]
    asked = numbers(plan.question)
    words = re.findall(r"[\w$%]+(?:'[\w]+)?", normalise(text))
    for i, word in enumerate(words):
        value = next((t[word] for t in tables if word in t), word if numbers(word) == {word} else None)
        if value is None or value in asked:
            continue
        after = words[i + 1:i + 1 + COUNT_REACH]
        if any(set(content_words(w, plan.language)) & plan.counted for w in after):
            return True
    return False


def stated_numbers(text: str, languages: set[str]) -> set[str]:
    """The numbers ``text`` states: its digits and the number words of ``languages`` (ISO codes) it uses."""
    words = re.findall(r"\w+", normalise(text))
    found = numbers(text)
    for code in languages:
        table = lang.get(code).number_words
        found |= {table[w] for w in words if w in table}
    return found


def new_names(text: str, question: str) -> set[str]:
    """Names in ``text`` that the question does not already mention (China ~ Chinese count as mentioned)."""
    asked = set(content_words(question))
    return {n for n in names(text) if not any(similar_words(n, a) for a in asked)}


def similar_words(a: str, b: str) -> bool:
    """Spelling variants of one name: Siberian/Siberische, China/Chinese, Irkutsk/Irkoetsk.

    The same first letter (a name is inflected and transliterated in its
    middle and end, not its start) and a close match by difflib's own rule of
    thumb (``get_close_matches``' default cutoff: a ratio of 0.6). Used to rank
    evidence only: a refusal never rests on it (it takes Bitmain for Bitmall).
    """
    return a == b or (a[:1] == b[:1] and bool(get_close_matches(a, [b], n=1)))
