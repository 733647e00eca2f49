"""The word list read off the multilingual encoder: English question words found in German text (real encoder)."""

from __future__ import annotations

import numpy as np
import pytest

from embeddings.multilingual import load_multilingual
from rag.retrieval.lexicon import Lexicon, question_words, words_of

GERMAN = [
    "Bei der Erstellung eines Kontos sollten Sie ein gutes Passwort auswählen, das aus mindestens sechs bis acht "
    "Zeichen besteht.",
    "Der typische Bootstrap-Prozess ist wie eine 4-stufige Rakete. Jede Stufe übergibt die Kontrolle an die nächste.",
    "Das Dateisystem wird beim Systemstart eingebunden.",
]


@pytest.fixture(scope="module")
def lexicon():
    return Lexicon.of(GERMAN, load_multilingual().encode)


def test_words_are_letters_only_and_lower_case():
    assert words_of("Der 4-stufige Bootstrap-Prozess, CP437 und /tmp.") == {"der", "stufige", "bootstrap", "prozess",
                                                                          "und", "tmp"}


def test_question_words_leave_out_the_question_languages_stopwords():
    assert question_words("How many characters should a good password have?") == [
        "characters", "good", "password"]


def test_english_words_find_their_german_translations(lexicon):
    encode = load_multilingual().encode
    found = lexicon.translations("Is a good password typical of the filesystem?", encode, 0.85)
    assert "passwort" in found["password"]
    assert "gutes" in found["good"]
    assert "typische" in found["typical"]
    assert "dateisystem" in found["filesystem"]


def test_a_threshold_above_every_cosine_translates_nothing(lexicon):
    assert lexicon.translations("a good password", load_multilingual().encode, 2.0) == {}


def test_translations_are_words_of_the_library_only(lexicon):
    found = lexicon.translations("good password rocket", load_multilingual().encode, 0.6)
    library = set().union(*(words_of(t) for t in GERMAN))
    assert set().union(*found.values()) <= library


def test_an_empty_library_translates_nothing():
    empty = Lexicon.of([], lambda words: np.zeros((len(words), 512), dtype=np.float32))
    assert empty.translations("a good password", load_multilingual().encode, 0.5) == {}
