"""The verifier's training rewrites (``embeddings/training/claim_edits.py``) and sample (``claims_data``):
each edit changes what it says it changes and nothing else, and the sample is balanced over edit types."""

from __future__ import annotations

import random
from collections import Counter

from embeddings.training import claim_edits as edits
from embeddings.training.claims_data import Document, Example, balanced_sample, evidence_at, on_topic_rival


def test_actors_are_exchanged_and_every_word_kept():
    text = "The client sends the request to the server, and the server answers within 5 seconds."
    out = edits.swap_actors(text, random.Random(0))
    assert out != text
    assert sorted(w.strip(",.") for w in out.lower().split()) == sorted(w.strip(",.") for w in text.lower().split())


def test_two_actors_side_by_side_are_not_a_swap():
    assert edits.swap_actors("The client browser cannot fetch the page.", random.Random(0)) is None


def test_a_code_name_is_swapped_for_a_neighbours_one():
    out = edits.swap_code_name("Load mod_rewrite before the other modules.", ["Use mod_ssl for TLS."],
                               random.Random(0))
    assert out == "Load mod_ssl before the other modules."


def test_a_unit_named_without_a_number_changes():
    out = edits.change_unit("The timeout is given in seconds and defaults to 300.", random.Random(0))
    assert out is not None and " in seconds" not in out and "300" in out


def test_main_clause_keeps_the_first_clause_only_when_it_stands_alone():
    r = random.Random(0)
    assert edits.main_clause("The client sends the request to the server, and the server answers quickly.",
                             r) == "The client sends the request to the server."
    # a condition cut in its middle would say something else
    assert edits.main_clause("If the argument ends with a percent symbol ('%'), subdirectories are created.",
                             r) is None


def test_evidence_windows_hold_the_sentence_and_rivals_stay_out_of_reach():
    doc = Document("t", "d", "en", tuple(f"Sentence number {w} is here and it says {w} things." for w in
                                         ("one", "two", "three", "four", "five", "six", "seven")))
    rng = random.Random(0)
    for _ in range(50):
        assert doc.sentences[3] in evidence_at(doc, 3, rng)
    j = on_topic_rival(doc, 3)
    assert j is not None and abs(j - 3) > 2


def test_the_sample_is_even_over_edit_types_a_scarce_one_gives_all_it_has():
    pool = [Example(f"c{i}", "e", edits.CONTRADICTED, "number", "t", "d") for i in range(100)]
    pool += [Example(f"d{i}", "e", edits.CONTRADICTED, "date", "t", "d") for i in range(5)]
    pool += [Example(f"s{i}", "e", edits.SUPPORTED, "none", "t", "d") for i in range(100)]
    got = Counter((e.label, e.edit) for e in balanced_sample(pool, 60, random.Random(0)))
    assert got[(edits.CONTRADICTED, "date")] == 5 and got[(edits.CONTRADICTED, "number")] == 25
    assert got[(edits.SUPPORTED, "none")] == 30


def test_a_label_share_can_be_asked_for():
    pool = [Example(f"c{i}", "e", edits.CONTRADICTED, "number", "t", "d") for i in range(100)]
    pool += [Example(f"s{i}", "e", edits.SUPPORTED, "none", "t", "d") for i in range(100)]
    got = Counter(e.label for e in balanced_sample(pool, 40, random.Random(0),
                                                   {edits.SUPPORTED: 0.75, edits.CONTRADICTED: 0.25}))
    assert got == {edits.SUPPORTED: 30, edits.CONTRADICTED: 10}
