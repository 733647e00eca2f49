"""Resolve follow-up questions against the conversation so far.

"And why did he pick that city?" cannot be searched on its own. A question
that leans on earlier turns (pronouns, "that city", a leading "and", or very
few words of its own) is searched together with the names and key words of
the previous question and answer.
"""

from __future__ import annotations

import re

from rag.records import Turn
from rag.verify import content_words, names

LEADING = re.compile(r"^\s*(and|but|also|so|what about|how about|and what|then)\b", re.IGNORECASE)
REFERRING = re.compile(
    r"\b(he|she|it|they|him|her|them|his|hers|its|their|that|this|those|these|there|the same)\b",
    re.IGNORECASE,
)


def is_follow_up(question: str) -> bool:
    """True when the question leans on an earlier turn.

    A referring word counts unless a name comes before it ("Why did Deng say he
    would move?" refers to Deng; "What did he say about North America?" does not).
    """
    if LEADING.search(question) or len(content_words(question)) <= 2 and not names(question):
        return True
    pronoun = REFERRING.search(question)
    if not pronoun:
        return False
    return not names(question[:pronoun.start()])


def resolve(question: str, history: list[Turn] | tuple[Turn, ...] = ()) -> str:
    """The question, extended with context from the last turn when it is a follow-up."""
    question = " ".join(question.split())
    if not history or not is_follow_up(question):
        return question
    last = history[-1]
    answer = re.sub(r"\[\d+\]", "", last.answer)
    first_sentence = re.split(r"(?<=[.!?])\s", answer.strip(), maxsplit=1)[0][:300]
    context = " ".join(dict.fromkeys(content_words(last.question)))
    return f"{question} (context: {context}; {first_sentence})"
