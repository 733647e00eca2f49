"""The shipped support model: edits it must catch, paraphrases it must accept.

Every sentence here is made up for this test; none comes from a dev set, a claims set or the
training packages. The model is loaded once (MiniLM from its package plus the shipped layers).
"""

from __future__ import annotations

import numpy as np
import pytest

from embeddings.verifier import CONFIG, CONTRADICTED, MODEL_DIR, SUPPORTED, WEIGHTS, load_verifier

PARAPHRASES = [
    # an aside deleted
    ("The city council approved a new budget for the public libraries.",
     "The city council, which met on Tuesday, approved a new budget for the public libraries."),
    # the attribution reformulated
    ("According to Maria Lopez, the museum will reopen in the spring.",
     "The museum will reopen in the spring, said Maria Lopez, its director."),
    # the clauses reordered: the shipped model still calls this contradicted (0.49 against 0.47), a known
    # weakness listed in docs/verifier.md; strict, so the day it passes the mark has to go
    pytest.param("The ferry service stops running if the river floods.",
                 "If the river floods, the ferry service stops running.",
                 marks=pytest.mark.xfail(strict=True, reason="reordered clauses read as a contradiction")),
    # a synonym
    ("The orchestra purchased two new pianos for its concert hall.",
     "The orchestra bought two new pianos for its concert hall."),
]
EDITS = [
    ("number", "The new bridge is 450 metres long and cost 40 million euros.",
     "The new bridge is 450 metres long and cost 12 million euros."),
    ("negation", "The library charges a fee for borrowing books.",
     "The library does not charge a fee for borrowing books."),
    ("name", "Peter Holm founded the cycling club in Malmo.",
     "Anna Berg founded the cycling club in Malmo, and Peter Holm later became its treasurer."),
    ("date", "The observatory opened to visitors in 1962.",
     "The observatory opened to visitors in 1958 after a decade of construction."),
]


@pytest.fixture(scope="module")
def verifier():
    return load_verifier()


def test_shipped_files_are_small():
    assert (MODEL_DIR / CONFIG).is_file()
    assert (MODEL_DIR / WEIGHTS).stat().st_size <= 30 * 1024 * 1024


def test_judge_gives_one_calibrated_row_per_evidence_text(verifier):
    claim, evidence = PARAPHRASES[0]
    probabilities = verifier.judge(claim, [evidence, "The weather in the mountains was cold and wet."])
    assert probabilities.shape == (2, 3)
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert verifier.judge(claim, []).shape == (0, 3)


@pytest.mark.parametrize("claim,evidence", PARAPHRASES)
def test_paraphrases_are_supported(verifier, claim, evidence):
    p = verifier.judge(claim, [evidence])[0]
    assert p.argmax() == SUPPORTED, p


@pytest.mark.parametrize("kind,claim,evidence", EDITS)
def test_edits_are_not_supported(verifier, kind, claim, evidence):
    p = verifier.judge(claim, [evidence])[0]
    assert p.argmax() != SUPPORTED, (kind, p)
    assert p[SUPPORTED] < 0.5, (kind, p)


@pytest.mark.xfail(strict=True, reason="the model calls a changed number not found, not contradicted; "
                                      "the rules keep the number check (docs/verifier.md)")
def test_a_changed_number_is_contradicted_not_missing(verifier):
    _kind, claim, evidence = EDITS[0]
    assert verifier.judge(claim, [evidence])[0].argmax() == CONTRADICTED


def test_an_unrelated_sentence_supports_nothing(verifier):
    claim = "The ferry service stops running if the river floods."
    p = verifier.judge(claim, ["Tickets for the summer festival go on sale next week."])[0]
    assert p[SUPPORTED] < 0.5, p
