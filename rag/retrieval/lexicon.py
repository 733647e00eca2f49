"""A bilingual word list read off the multilingual encoder: a question's words -> the library's words.

An English question shares no words with a German passage, so neither word
overlap (evidence scoring) nor BM25 (retrieval) can see that "password" and
"Passwort", or "stages" and "Stufe", are one word. The multilingual encoder
puts single words of its languages in one space too: the words of the
library's non-English documents whose vector is close enough to a question
word's are read as its translations. "Close enough" is ``lexicon_threshold``,
fitted by `make calibrate`. Only words are translated, never sentences: it
costs one encoder pass over the library's distinct words (at the end of an
ingest, kept in memory), and a question's words are encoded in the same
batch call as the question itself (``encode_multilingual``), so a question
costs the multilingual encoder one call.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from rag import lang

WORD = re.compile(r"[^\W\d_]{3,}")  # words of letters only: numbers and identifiers match as they are


def words_of(text: str) -> set[str]:
    """The lower-cased words of ``text`` that a translation can be (letters only, three or more)."""
    return {w.lower() for w in WORD.findall(text)}


def spellings_of(text: str) -> set[str]:
    """The words of ``text`` as written: the encoder reads a German noun better capitalised
    ("Dateisystem" is 0.93 from "filesystem", "dateisystem" 0.69)."""
    return set(WORD.findall(text))


@dataclass(frozen=True)
class Lexicon:
    """The distinct words of a library's non-English documents, with their multilingual vectors (unit length)."""

    words: list[str]  # as written in the documents; translations are given in lower case
    vectors: np.ndarray

    @classmethod
    def of(cls, texts: Iterable[str], encode: Callable[[list[str]], np.ndarray]) -> Lexicon:
        words = sorted(set().union(*(spellings_of(t) for t in texts)))
        return cls(words, encode(words) if words else np.zeros((0, 0), dtype=np.float32))

    def translations(self, asked: MultilingualQuestion, threshold: float) -> dict[str, frozenset[str]]:
        """Each content word of the question -> the library's words at cosine ``threshold`` or more.

        Words with no translation (and a library without non-English words) are left out.
        """
        if not asked.words or not self.words:
            return {}
        similarity = asked.word_vectors @ self.vectors.T
        found = {}
        for word, row in zip(asked.words, similarity):
            close = frozenset(self.words[i].lower() for i in np.flatnonzero(row >= threshold)) - {word}
            if close:
                found[word] = close
        return found


def question_words(question: str) -> list[str]:
    """The content words of ``question`` that can be looked up (lower case, not stopwords of its language)."""
    stopwords = lang.for_text(question).stopwords
    return sorted(w for w in words_of(question) if w not in stopwords)


@dataclass(frozen=True)
class MultilingualQuestion:
    """A question in the multilingual encoder's space, with its content words (``question_words``) and theirs."""

    vector: np.ndarray  # the question, as the encoder gives it
    words: tuple[str, ...]
    word_vectors: np.ndarray  # one row per word, at the precision the lexicon's words are kept (float16)


@lru_cache(maxsize=512)
def encode_multilingual(encoder, question: str) -> MultilingualQuestion:
    """The question and its words in one batch call of the multilingual ``encoder``; asked again (retrieval, then
    evidence, then a retry) it is not re-encoded."""
    words = tuple(question_words(question))
    vectors = np.asarray(encoder.encode([question, *words]), dtype=np.float32)
    vector, word_vectors = vectors[0], vectors[1:].astype(np.float16).astype(np.float32)
    for array in (vector, word_vectors):
        array.setflags(write=False)
    return MultilingualQuestion(vector, words, word_vectors)
