"""Language data: one module per language, one registry that every other module reads.

Word lists and question patterns are data, not code: the answer layer, the
verifier, follow-up detection, full-text search and translation all read them
from here. Adding a language is adding one module to this package that
defines ``LANGUAGE = Language(...)``; the registry finds it by itself.

``get(code)`` gives a language's data: a module's, else what libraries that cover
many languages give (stopwords from ``stopwordsiso``, stems from the Snowball stemmers of
``PyStemmer``), else English's. A module only adds what a library cannot give (question
patterns, number words, claim words); a module without its own ``inflections`` stems with
Snowball. ``for_text(text)`` guesses the language of a text from its modules' stopwords.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import Stemmer
import stopwordsiso

DEFAULT = "en"

# The limits of the rules below, the same for every language.
# Another language than English needs this many stopword hits, and more than English has, to be
# chosen for a text (short questions such as "Welke landen?" have one).
LANGUAGE_MIN_HITS = 1
STEM_MIN = 3  # letters a light stem keeps ("is", "was", "news" keep their shape)
# What is left of a name after an origin suffix is stripped (Siberian -> siber) must be this long,
# so that short names (Indian, Asian) are never cut to a fragment.
ORIGIN_STEM_MIN = 4

# English names of languages that may appear in a library, also those without a module here
# (translation prompts name the source language: "Translate Polish to English").
NAMES = {
    "en": "English", "nl": "Dutch", "de": "German", "fr": "French", "es": "Spanish", "it": "Italian",
    "pt": "Portuguese", "ru": "Russian", "zh": "Chinese", "ja": "Japanese", "pl": "Polish", "sv": "Swedish",
    "da": "Danish", "tr": "Turkish", "ar": "Arabic",
}


# ISO 639-1 code -> PyStemmer's name of its Snowball stemmer (English keeps its light stemmer, which
# `rag check` is calibrated with).
SNOWBALL = {
    "ar": "arabic", "hy": "armenian", "eu": "basque", "ca": "catalan", "cs": "czech", "da": "danish", "nl": "dutch",
    "eo": "esperanto", "et": "estonian", "fi": "finnish", "fr": "french", "de": "german", "el": "greek",
    "hi": "hindi", "hu": "hungarian", "id": "indonesian", "ga": "irish", "it": "italian", "lt": "lithuanian",
    "ne": "nepali", "no": "norwegian", "nb": "norwegian", "fa": "persian", "pl": "polish", "pt": "portuguese",
    "ro": "romanian", "ru": "russian", "sr": "serbian", "st": "sesotho", "es": "spanish", "sv": "swedish",
    "ta": "tamil", "tr": "turkish", "yi": "yiddish",
}


@dataclass(frozen=True)
class Language:
    """Everything language-specific the pipeline needs, as plain data.

    Patterns are regular expression sources, matched case-insensitively
    unless their name says otherwise; they are compiled once by the registry.
    """

    code: str  # ISO 639-1
    name: str  # in English, as used in prompts
    stopwords: frozenset[str] = frozenset()
    number_words: dict[str, str] = field(default_factory=dict)  # "three" -> "3"
    # A light stemmer: (ending, replacement) pairs, the first that fits wins, leaving at least
    # STEM_MIN letters: enough to match "miners" with "miner", "Dampfmaschinen" with "Dampfmaschine".
    inflections: tuple[tuple[str, str], ...] = ()
    # Answer types: (kind, pattern over the lower-cased question), first match wins; else "other".
    answer_types: tuple[tuple[str, str], ...] = ()
    # Words that name a date without digits (weekdays, months, "yesterday"): a "time" fact.
    time_words: str = ""
    # A decade ("the 1990s"): the group that matches holds its first three digits, so any year of it ("1998") matches.
    decade: str = ""
    # "Which makers ...?": the words after the question word, to look for a plural among.
    list_question: str = ""
    # A second question joined to the first ("where and in what year ...", "..., and which ..."):
    # the answer is two facts, which one short answer from one sentence rarely holds both of.
    second_question: str = ""
    plural_suffixes: tuple[str, ...] = ()
    not_plural_suffixes: tuple[str, ...] = ()  # "-ss" ends no English plural
    not_plural: frozenset[str] = frozenset()  # words with a plural-looking ending that are not plurals
    # Where a sentence splits into clauses that can each hold their own number ("$25 million for the
    # US; and $9 million for Kazakhstan"): the pattern to split on.
    clause_break: str = ""
    # Words that join two members of one list ("Ian Murdock, and his wife, Debra").
    coordination: str = ""
    # Words that narrow a question to one of many ("the *first* version that shipped apt", "the *largest*
    # length"), one alternation per meaning ("largest|maximum|most"): a passage without a word of the same
    # meaning may name one of the many, so a short answer needs it said.
    qualifiers: tuple[str, ...] = ()
    # The kind of quantity a question asks for when only a number with a unit answers it ("how often" wants a
    # duration, "what size" a size): (kind, pattern over the lower-cased question), first match wins. Its
    # ``measure_units[kind]`` is (units that follow a number: "50 MiB", "five days"; words that state one
    # alone: "daily"). A passage that discusses the topic with no such quantity is a near miss.
    measures: tuple[tuple[str, str], ...] = ()
    measure_units: dict[str, tuple[str, str]] = field(default_factory=dict)
    # Follow-up cues: a leading connective ("and ...", "what about ...") or a referring word ("he", "that").
    follow_up_leading: str = ""
    follow_up_referring: str = ""
    # A sentence that opens with a word pointing back to the one before ("It is quite possibly the most
    # badly maintained ..."): quoted alone it does not say what it is about.
    refers_back: str = ""
    # Attempts to set the sources aside ("ignore the articles"), and text addressed to a model.
    override: str = ""
    instruction_like: str = ""
    # Endings that turn a place or people's name into an adjective or demonym (Siberia, Siberian,
    # Siberische): stripped so one name matches across languages, exactly, without spelling similarity.
    origin_suffixes: tuple[str, ...] = ()
    # Nouns for a source ("article", "report"): the word before one picks a source, not a fact.
    source_nouns: tuple[str, ...] = ()
    # Worked examples for the answer prompt: (passage, question, answer), generic, about no corpus.
    answer_examples: tuple[tuple[str, str, str], ...] = ()
    answer_instruction: str = ""
    # One sentence in this language with its English rendering, to steer translation.
    translation_example: tuple[str, str] | None = None
    # A request for a summary: a cue word ("summarise ...", "give an overview of ..."; the rest of the
    # request names the source), or a whole question ("What does the Dutch article say?") whose named
    # group names it and must hold one of ``source_nouns`` ("What does Deng say?" asks about Deng).
    summary_request: str = ""
    summary_question: str = ""
    # Words of this language that name a language ("Dutch", "Nederlandse"): ISO code -> words (lower
    # case). "The Dutch article" picks the documents whose language is nl. English names come from NAMES.
    language_words: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Instructions for a capable (instruct/chat) model writing a cited answer or a cited summary.
    generative_instruction: str = ""
    summary_instruction: str = ""
    # The claim checker's word tables (``rag.verify.support``): negation, reporting verbs, roles, units, number
    # and date words. A language without them is read with the English ones.
    claim_words: dict[str, Any] = field(default_factory=dict)


@lru_cache(maxsize=1)
def _registry() -> dict[str, Language]:
    """Every language module of this package, by code (English first)."""
    found: dict[str, Language] = {}
    for module in pkgutil.iter_modules(__path__):
        language = getattr(importlib.import_module(f"{__name__}.{module.name}"), "LANGUAGE", None)
        if isinstance(language, Language):
            found[language.code] = language
    return {code: found[code] for code in sorted(found, key=lambda c: (c != DEFAULT, c))}


def codes() -> list[str]:
    """The codes of the languages with a module, English first."""
    return list(_registry())


def get(code: str | None) -> Language:
    """The data of language ``code``: its module's, else the libraries' (``from_libraries``), else English's."""
    registry = _registry()
    code = (code or DEFAULT).lower()
    return registry.get(code) or from_libraries(code) or registry[DEFAULT]


@lru_cache(maxsize=None)
def from_libraries(code: str) -> Language | None:
    """A language without a module, from what the libraries know of it (None when they know nothing)."""
    if not stopwordsiso.has_lang(code) and code not in SNOWBALL:
        return None
    words = stopwordsiso.stopwords(code) if stopwordsiso.has_lang(code) else set()
    return Language(code=code, name=NAMES.get(code, code), stopwords=frozenset(w.lower() for w in words))


@lru_cache(maxsize=None)
def _snowball(code: str) -> Stemmer.Stemmer | None:
    return Stemmer.Stemmer(SNOWBALL[code]) if code in SNOWBALL else None


def name(code: str) -> str:
    """The English name of a language, also one without a module ("the original language" if unknown)."""
    return NAMES.get(code, _registry()[code].name if code in _registry() else "the original language")


WORD = re.compile(r"\w\w+(?:['’]\w+)?")  # two letters or more: "a", "o", "y" are stopwords in too many languages


@lru_cache(maxsize=8192)
def for_text(text: str) -> Language:
    """The language whose stopwords cover most words of ``text``; English on a tie or too little evidence."""
    words = [w.lower().replace("’", "'") for w in WORD.findall(text)]
    default = get(DEFAULT)
    hits = {code: sum(w in language.stopwords for w in words) for code, language in _registry().items()}
    best = max(hits, key=lambda code: (hits[code], code == DEFAULT))
    if best == DEFAULT or hits[best] < LANGUAGE_MIN_HITS or hits[best] <= hits[DEFAULT]:
        return default
    return _registry()[best]


@lru_cache(maxsize=None)
def pattern(code: str, attribute: str) -> re.Pattern[str] | None:
    """A language's pattern ``attribute`` compiled (case-insensitive), None when it has none."""
    source = getattr(get(code), attribute)
    return re.compile(source, re.IGNORECASE) if source else None


@lru_cache(maxsize=None)
def any_language(attribute: str) -> re.Pattern[str]:
    """One pattern matching ``attribute`` in any registered language (injections come in every language)."""
    sources = [getattr(lang, attribute) for lang in _registry().values() if getattr(lang, attribute)]
    return re.compile("|".join(f"(?:{s})" for s in sources) or r"(?!)", re.IGNORECASE)


def language_codes_named(words: set[str]) -> set[str]:
    """The codes of the languages that any of ``words`` (lower case) names, in any registered language."""
    named = {code: {language.lower()} for code, language in NAMES.items()}
    for language in _registry().values():
        for code, spellings in language.language_words.items():
            named.setdefault(code, set()).update(spellings)
    return {code for code, spellings in named.items() if spellings & words}


def stem(word: str, code: str = DEFAULT) -> str:
    """``word`` (lower case) without its inflection, by the light stemmer of language ``code``.

    A possessive goes first and the word is stemmed again, so "collins's" and "collins" agree.
    """
    for mark in ("'s", "’s"):
        if word.endswith(mark) and len(word) - len(mark) >= STEM_MIN:
            word = word[: -len(mark)]
            break
    language = get(code)
    if not language.inflections and language.code != DEFAULT and _snowball(language.code) is not None:
        return _snowball(language.code).stemWord(word)
    for ending, replacement in language.inflections:
        if word.endswith(ending) and len(word) - len(ending) >= STEM_MIN:
            return word[: -len(ending)] + replacement
    return word


@lru_cache(maxsize=1)
def origin_suffixes() -> tuple[str, ...]:
    """The origin suffixes of every registered language, longest first."""
    return tuple(sorted({x for lang in _registry().values() for x in lang.origin_suffixes}, key=lambda x: (-len(x), x)))


def all_stopwords() -> frozenset[str]:
    """The stopwords of every registered language together."""
    return frozenset().union(*(lang.stopwords for lang in _registry().values()))
