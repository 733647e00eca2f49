"""What a question asks: the kind of fact, one or several, the terms it is about, and whether it tries an override.

A ``Plan`` is made once per question and read by every later step, so
evidence scoring, refusal and the lead agree on what was asked. The terms
a question is about are its numbers and its names and identifiers
(``Tesla``, ``max_workers``, ``CP437``, a German noun) that are rare in this
library by document frequency in the full-text index: a name the whole
library is about is not what a question turns on, and one the library has
never seen is a premise it cannot confirm.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from rag import lang
from rag.core.calibration import calibrated_plan
from rag.verify.overlap import content_words, fold, numbers

KINDS = ("quantity", "time", "place", "name", "other")


class CorpusStats(Protocol):
    """What the plan needs from an index: document frequencies of terms (``rag.retrieval.index.Index`` has them)."""

    def term_document_frequency(self, terms: list[str], chunk_ids: list[str] | None = None) -> dict[str, int]: ...

    def passage_count(self) -> int: ...


@dataclass(frozen=True)
class Plan:
    """What one question asks for, as read from its words and the library's statistics."""

    question: str
    language: str  # ISO code of the question's language
    answer_type: str  # one of KINDS
    is_list: bool  # the answer is several names ("which makers ...?")
    asks_several: bool  # two questions in one ("where and in what year ...?")
    words: frozenset[str]  # content words (stemmed), for overlap scoring
    # Terms a passage must contain to answer (numbers, rare or unknown names and identifiers): folded
    # form -> the question's own spelling (for the full-text index, which stems its own way).
    about: dict[str, str]
    # Decades the question names ("the 1990s"): first three digits -> the question's spelling. A passage
    # holds one when it names any year of it.
    decades: dict[str, str]
    describing: frozenset[str]  # folded words that pick a source ("the Dutch article"), not facts to find
    override: bool  # the question asks to set the sources aside
    # The kind of quantity asked for when only a number with a unit answers ("duration", "size"; "" for none).
    measure: str = ""
    # Code-like tokens the question presupposes (an option "-R", "--workers", a `literal`, a quoted 'token'):
    # a passage that answers names them as written.
    literals: tuple[str, ...] = ()
    # What a quantity question counts or measures ("how many packages" -> the stem of "packages"): a number
    # beside it answers ("474 packages"), a version or a date beside it does not.
    counted: frozenset[str] = frozenset()


def make_plan(question: str, stats: CorpusStats | None = None, rare_share: float | None = None) -> Plan:
    """The plan for ``question``; without ``stats`` only its numbers and unknown-looking names count as terms.

    ``rare_share`` overrides the calibrated share of passages a rare term is in at most (for calibrating it).
    """
    language = lang.for_text(question)
    kind = expected_answer(question, language.code)
    describing = frozenset(describing_sources(question, language.code))
    decades = decades_in(question, language.code)
    years = {f"{prefix}0" for prefix in decades}
    return Plan(
        question=question,
        language=language.code,
        answer_type=kind,
        is_list=kind in ("name", "place") and asks_for_list(question, language.code),
        asks_several=asks_several(question, language.code),
        words=frozenset(content_words(question)),
        about={f: s for f, s in about_terms(question, stats, language.code, rare_share).items()
               if f not in describing and f not in years and s not in decades.values()},
        decades=decades,
        describing=describing,
        override=is_override(question),
        measure=asked_measure(question, language.code),
        literals=literals_in(question),
        counted=counted_words(question, language.code) if kind == "quantity" else frozenset(),
    )


COUNTED_REACH = 2  # words after "how many" / "what number of" that may name what is counted


def counted_words(question: str, language: str | None = None) -> frozenset[str]:
    """The stem of what a quantity question counts: the first content word just after the words that ask for
    a quantity ("how many packages", "what number of ports"), found with the language's own answer-type
    pattern; none when a verb follows ("how big is ...")."""
    data = lang.get(language) if language else lang.for_text(question)
    lowered = question.lower()
    for kind, source in data.answer_types:
        match = re.search(source, lowered) if kind == "quantity" else None
        if match:
            for word in re.findall(r"[\w'’-]+", lowered[match.end():])[:COUNTED_REACH]:
                stems = [s for s in content_words(word, data.code) if not numbers(s)]  # a count, not a noun
                if stems:
                    return frozenset(stems)
            return frozenset()
    return frozenset()


# A command-line option ("-R", "--wal-method"; not a hyphen inside a word), or one token between quotes
# or backticks ('allballs', `smtpd_mumble`): what a question presupposes the documents name as written.
OPTION = re.compile(r"(?<![\w\-/.])--?[A-Za-z][\w-]*")
QUOTED = re.compile(r"`([^`\s]+)`|(?<!\w)['‘\"“«„]([^'’\"”»“\s]+)['’\"”»“](?!\w)")


def literals_in(question: str) -> tuple[str, ...]:
    """The options and quoted single tokens of ``question``, as written, in order."""
    found = [m.group(0) for m in OPTION.finditer(question)]
    found += [m.group(1) or m.group(2) for m in QUOTED.finditer(question)]
    return tuple(dict.fromkeys(found))


def asked_measure(question: str, language: str | None = None) -> str:
    """The kind of quantity ``question`` asks for when a bare number would not answer it ("" for none)."""
    data = lang.get(language) if language else lang.for_text(question)
    lowered = QUOTED.sub(" ", OPTION.sub(" ", question)).lower()  # "--batch-size" names an option, asks no size
    return next((kind for kind, source in data.measures if re.search(source, lowered)), "")


def decades_in(question: str, language: str | None = None) -> dict[str, str]:
    """The decades ``question`` names ("1990s", "1990er"): first three digits -> spelling."""
    pattern = lang.pattern(language or lang.for_text(question).code, "decade")
    if pattern is None:
        return {}
    return {next(g for g in m.groups() if g): m.group(0).lower() for m in pattern.finditer(question)}


def expected_answer(question: str, language: str | None = None) -> str:
    """The kind of fact the question asks for: quantity, time, place, name or other."""
    data = lang.get(language) if language else lang.for_text(question)
    lowered = question.lower()
    for kind, source in data.answer_types:
        if re.search(source, lowered):
            return kind
    return "other"


def asks_for_list(question: str, language: str | None = None) -> bool:
    """ "Which makers ...?", "What countries ...?": the answer is several names, from several sentences."""
    data = lang.get(language) if language else lang.for_text(question)
    if not data.list_question:
        return False
    match = re.match(data.list_question, question, re.IGNORECASE)
    if not match:
        return False
    return any(
        w.endswith(data.plural_suffixes) and not w.endswith(data.not_plural_suffixes or ("\0",))
        and w not in data.not_plural
        for w in match.group(1).lower().split()
    )


def asks_several(question: str, language: str | None = None) -> bool:
    """ "Where and in what year ...?", "What is X, and which Y ...?": two facts asked at once."""
    data = lang.get(language) if language else lang.for_text(question)
    return bool(data.second_question) and re.search(data.second_question, question, re.IGNORECASE) is not None


def is_override(text: str) -> bool:
    """Whether ``text`` asks to set the sources aside, in any language the registry knows."""
    return bool(lang.any_language("override").search(text))


def describing_sources(question: str, language: str | None = None) -> set[str]:
    """Words that describe which source is meant ("the Dutch article", "Chinese media"), not what it says."""
    data = lang.get(language) if language else lang.for_text(question)
    if not data.source_nouns:
        return set()
    nouns = "|".join(map(re.escape, data.source_nouns))
    found = set()
    for match in re.finditer(rf"\b([\w'’-]+)\s+(?:{nouns})\b", question, re.IGNORECASE):
        word = match.group(1)
        if word.lower() not in data.stopwords:
            found.add(fold(word))
    return found


def about_terms(question: str, stats: CorpusStats | None, language: str | None = None,
                rare_share: float | None = None) -> dict[str, str]:
    """The terms a passage must contain to answer ``question`` (folded form -> spelling in the question).

    - every number ("in 2020");
    - every name or identifier (a capital inside the sentence, all capitals, a
      digit, an underscore: "Tesla", "CP437", "max_connections", a German noun)
      that is rare in this library: in at most ``rare_share`` of its
      passages (``rare_term_share``, fitted by `make calibrate`), or in none. A name the library is full of ("China" in news
      about China) is its topic, not what tells one question from another.

    Plain words do not count, however rare: on the news dev set the rare plain
    words missing from the retrieved passages ("transport", "friends",
    "behind", "author", "outside") were all the question's paraphrase of the
    text's own words, in answerable questions.
    """
    data = lang.get(language) if language else lang.for_text(question)
    terms = {fold(n): n for n in numbers(question)}
    shaped = _name_shaped(question, data)
    if not shaped:
        return terms
    if stats is None:
        return terms | shaped
    frequency = stats.term_document_frequency(sorted(set(shaped.values())))
    passages = max(stats.passage_count(), 1)
    rare_share = calibrated_plan().rare_term_share if rare_share is None else rare_share
    for folded, token in shaped.items():
        if frequency.get(token, 0) <= rare_share * passages:
            terms[folded] = token
    return terms


def _name_shaped(question: str, data: lang.Language) -> dict[str, str]:
    """Words shaped like names or identifiers, folded -> as written (lower case).

    Capitalised inside a sentence, all capitals, a capital inside (BitMining), a digit, an underscore.
    """
    shaped: dict[str, str] = {}
    for sentence in re.split(r"(?<=[.!?])\s+|\n", question):
        for position, token in enumerate(re.findall(r"\w+", sentence)):
            if token.lower() in data.stopwords or len(token) < 2:  # "B" of "B-tree" tells nothing apart
                continue
            inner_capital = any(ch.isupper() for ch in token[1:]) and any(ch.islower() for ch in token)
            if (position and token[0].isupper()) or (token.isupper() and len(token) > 1) or inner_capital \
                    or any(ch.isdigit() for ch in token) or "_" in token.strip("_"):
                if not token.isdigit():  # numbers are counted as numbers ("3,000" is one)
                    shaped.setdefault(fold(token), token.lower())
    return shaped
