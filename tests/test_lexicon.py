"""The word list read off the multilingual encoder: English question words found in German text (real encoder)."""

from __future__ import annotations

import numpy as np
import pytest

from embeddings.multilingual import load_multilingual
from rag.retrieval.lexicon import Lexicon, encode_multilingual, question_words, words_of

GERMAN = [
    "Bei der Erstellung eines Kontos sollten Sie ein gutes Passwort auswählen, das aus mindestens sechs bis acht "
    "Zeichen besteht.",
    "Der typische Bootstrap-Prozess ist wie eine 4-stufige Rakete. Jede Stufe übergibt die Kontrolle an die nächste.",
    "Das Dateisystem wird beim Systemstart eingebunden.",
]


def asked(question: str):
    return encode_multilingual(load_multilingual(), question)


def test_a_question_and_its_words_are_one_encoder_call():
    calls = []
    encoder = load_multilingual()

    class Counting:
        def encode(self, texts):
            calls.append(list(texts))
            return encoder.encode(texts)

    counting = Counting()
    question = "How many characters should a good password have?"
    first = encode_multilingual(counting, question)
    again = encode_multilingual(counting, question)
    assert calls == [[question, "characters", "good", "password"]]
    assert again is first and first.words == ("characters", "good", "password")
    assert first.word_vectors.shape == (3, first.vector.shape[0])
    assert np.allclose(first.vector, encoder.encode([question])[0], atol=1e-3)  # batching does not change it


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
    found = lexicon.translations(asked("Is a good password typical of the filesystem?"), 0.85)
    assert "passwort" in found["password"]
    assert "gutes" in found["good"]
    assert "typische" in found["typical"]
    assert "dateisystem" in found["filesystem"]


def test_a_threshold_above_every_cosine_translates_nothing(lexicon):
    assert lexicon.translations(asked("a good password"), 2.0) == {}


def test_translations_are_words_of_the_library_only(lexicon):
    found = lexicon.translations(asked("good password rocket"), 0.6)
    library = set().union(*(words_of(t) for t in GERMAN))
    assert set().union(*found.values()) <= library


def test_an_empty_library_translates_nothing():
    empty = Lexicon.of([], lambda words: np.zeros((len(words), 512), dtype=np.float32))
    assert empty.translations(asked("a good password"), 0.5) == {}
