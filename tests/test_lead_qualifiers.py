"""A short answer is not drawn from a passage that lacks the word narrowing the question ("first")."""

from __future__ import annotations

from rag.answer.evidence import Evidence
from rag.answer.lead import qualifiers_not_in
from rag.answer.plan import make_plan
from rag.core.records import Chunk, Hit


def evidence(text: str) -> Evidence:
    chunk = Chunk("doc.txt#0", "doc.txt", 0, len(text), text)
    return Evidence(Hit(chunk, 1.0), 0, len(text), text, None, 1.0)


def test_the_passage_must_say_what_narrows_the_question():
    plan = make_plan("Which version first shipped the new package manager?")
    assert qualifiers_not_in(plan, evidence("Version 2.1 included the new package manager.")) == ["first"]
    assert qualifiers_not_in(plan, evidence("Version 2.1 was the first to ship the new package manager.")) == []


def test_a_word_of_the_same_meaning_says_it():
    plan = make_plan("What is the largest length I can declare for a column?")
    assert qualifiers_not_in(plan, evidence("The maximum length allowed for n is 10485760.")) == []
    assert qualifiers_not_in(plan, evidence("The first length allowed for n is 10485760.")) == ["largest"]


def test_questions_without_a_qualifier_are_not_held_back():
    plan = make_plan("Which version shipped the new package manager?")
    assert qualifiers_not_in(plan, evidence("Version 2.1 included the new package manager.")) == []


def test_qualifiers_are_language_data():
    plan = make_plan("Welche Version hat als erste den neuen Paketmanager ausgeliefert?")
    assert plan.language == "de"
    assert qualifiers_not_in(plan, evidence("Version 2.1 enthielt den neuen Paketmanager.")) == ["erste"]
    assert qualifiers_not_in(plan, evidence("Version 2.1 war die erste mit dem neuen Paketmanager.")) == []
