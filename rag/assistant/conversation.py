"""Resolve follow-up questions against the conversation so far.

"And why did he pick that city?" cannot be searched on its own. A question
that leans on earlier turns (pronouns, "that city", a leading "and", or very
few words of its own) is searched together with the names and key words of
the previous question and answer. The cue words are language data
(``rag.lang``), read for the language the question is in.
"""

from __future__ import annotations

import re

from rag import lang
from rag.core.records import Turn
from rag.core.tuning import FOLLOW_UP_CONTEXT_CHARS, FOLLOW_UP_FEW_WORDS
from rag.verify.overlap import content_words, names


def is_follow_up(question: str) -> bool:
    """True when the question leans on an earlier turn.

    A referring word counts unless a name comes before it ("Why did Deng say he
    would move?" refers to Deng; "What did he say about North America?" does not).
    """
    code = lang.for_text(question).code
    leading = lang.pattern(code, "follow_up_leading")
    if leading and leading.search(question):
        return True
    if len(content_words(question)) <= FOLLOW_UP_FEW_WORDS and not names(question):
        return True
    referring = lang.pattern(code, "follow_up_referring")
    pronoun = referring.search(question) if referring else None
    if not pronoun:
        return False
    return not names(question[:pronoun.start()])


def resolve(question: str, history: list[Turn] | tuple[Turn, ...] = ()) -> str:
    """The question, extended with context from the last turn when it is a follow-up."""
    question = " ".join(question.split())
    if not history or not is_follow_up(question):
        return question
    last = history[-1]
    context = " ".join(dict.fromkeys(content_words(last.question)))
    return f"{question} (context: {context}; {_first_statement(last)[:FOLLOW_UP_CONTEXT_CHARS]})"


def _first_statement(turn: Turn) -> str:
    """The first sentence of the last answer: of its first statement, or of its text for older callers."""
    text = turn.statements[0].text if turn.statements else re.sub(r"\[\d+\]", "", turn.answer)
    return re.split(r"(?<=[.!?])\s", text.strip(), maxsplit=1)[0]
