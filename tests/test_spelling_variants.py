"""One name in two spellings (evidence ranking and translations shown), by difflib's close match, not a tuned ratio."""

from __future__ import annotations

import pytest

from rag.answer.compose import faithful_translation
from rag.answer.evidence import Evidence
from rag.answer.facts import new_names, similar_words
from rag.core.records import Chunk, Hit


@pytest.mark.parametrize("a, b", [("siberian", "siberische"), ("china", "chinese"), ("irkutsk", "irkoetsk"),
                                  ("kazakhstan", "kazachstan")])
def test_spellings_of_one_name_are_similar(a, b):
    assert similar_words(a, b) and similar_words(b, a)


@pytest.mark.parametrize("a, b", [("russia", "prussia"), ("canada", "panama"), ("sichuan", "xinjiang")])
def test_different_names_are_not(a, b):
    assert not similar_words(a, b)


def test_a_name_the_question_mentions_in_another_form_is_not_new():
    sentence = "Miners moved from China to Kazakhstan."
    assert new_names(sentence, "Why did Chinese miners leave?") == {"kazakhstan"}
    assert new_names(sentence, "Why did miners leave?") == {"kazakhstan", "china"}


def evidence(text: str, english: str) -> Evidence:
    chunk = Chunk("c", "d", 0, len(text), text)
    return Evidence(Hit(chunk, 1.0), 0, len(text), text, english, 1.0)


def test_a_translation_may_spell_a_name_the_english_way_but_not_invent_one():
    assert faithful_translation(evidence("De mijnwerkers gingen naar Irkoetsk.", "The miners went to Irkutsk."))
    assert not faithful_translation(evidence("De mijnwerkers gingen naar Irkoetsk.", "The miners went to Texas."))
    assert not faithful_translation(evidence("Er waren 300 machines.", "There were 3000 machines."))
