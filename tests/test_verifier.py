"""The shipped support model: edits it must catch, paraphrases it must accept.

Every sentence here is made up for this test; none comes from a dev set, a claims set or the
training packages. The model is loaded once (MiniLM from its package plus the shipped layers).
"""

from __future__ import annotations

import numpy as np
import pytest

from embeddings import load_encoder
from embeddings.verifier import CONFIG, CONTRADICTED, MODEL_DIR, SUPPORTED, WEIGHTS, load_verifier
from rag.core.calibration import VerifierCalibration
from rag.verify.claims import CONTRADICTED as CONTRADICTED_VERDICT
from rag.verify.claims import NOT_FOUND
from rag.verify.claims import SUPPORTED as SUPPORTED_VERDICT
from rag.verify.claims import Passage, Support
from rag.verify.model import ModelCheck, Reading, revise
from rag.verify.support import StructuredVerifier

PARAPHRASES = [
    # an aside deleted
    ("The city council approved a new budget for the public libraries.",
     "The city council, which met on Tuesday, approved a new budget for the public libraries."),
    # the attribution reformulated: the shipped model alone calls this contradicted (0.49 against 0.41), a
    # known weakness listed in docs/verifier.md (the rules accept it: see the rules-and-model tests below);
    # strict, so the day it passes the mark has to go
    pytest.param("According to Maria Lopez, the museum will reopen in the spring.",
                 "The museum will reopen in the spring, said Maria Lopez, its director.",
                 marks=pytest.mark.xfail(strict=True, reason="a moved attribution read as a contradiction")),
    # the clauses reordered
    ("The ferry service stops running if the river floods.", "If the river floods, the ferry service stops running."),
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


# -- the model beside the rules (rag.verify.model): what each threshold may change ---------------------------

FITTED = VerifierCalibration("test", promote=0.8, demote=0.9)


def rules_verdict(verdict: str, **details) -> Support:
    details = {"contradictions": [], "missing": [], "ranking": [0, 1, 2], **details}
    return Support(verdict, 0.2, ("the rules' reason",), 0, False, details)


def test_a_reworded_claim_is_promoted_on_the_best_unvetoed_candidate():
    reading = Reading(candidates=(0, 1, 2), supported=(0.95, 0.9, 0.3), vetoed=(True, False, False),
                      uses_after=(False, True, False))
    revised = revise(rules_verdict(NOT_FOUND), reading, FITTED)
    assert revised.verdict == SUPPORTED_VERDICT and revised.evidence == 1 and revised.uses_after
    assert "in other words" in revised.reason


def test_no_promotion_below_the_threshold_or_on_a_vetoed_candidate():
    reading = Reading(candidates=(0, 1), supported=(0.99, 0.7), vetoed=(True, False), uses_after=(False, False))
    assert revise(rules_verdict(NOT_FOUND), reading, FITTED).verdict == NOT_FOUND


@pytest.mark.parametrize("rules", [
    rules_verdict(CONTRADICTED_VERDICT, contradictions=["the article says 1987, not 1992"]),
    rules_verdict(NOT_FOUND, missing=["the documents never mention Oslo"]),
])
def test_a_fact_the_rules_veto_is_never_promoted(rules):
    reading = Reading(candidates=(0,), supported=(0.99,), vetoed=(False,), uses_after=(False,))
    revised = revise(rules, reading, FITTED)
    assert revised.verdict == rules.verdict and revised.reasons == rules.reasons


def test_a_supported_claim_the_model_reads_otherwise_is_demoted_with_a_reason():
    rules = rules_verdict(SUPPORTED_VERDICT)
    demoted = revise(rules, Reading(against=0.95, contradicted=0.8), FITTED)
    assert demoted.verdict == CONTRADICTED_VERDICT and demoted.evidence == rules.evidence
    assert "seems to say otherwise" in demoted.reason
    assert revise(rules, Reading(against=0.95, contradicted=0.1), FITTED).verdict == NOT_FOUND
    assert revise(rules, Reading(against=0.85, contradicted=0.8), FITTED).verdict == SUPPORTED_VERDICT


def test_without_a_fit_the_rules_decide_alone():
    assert not ModelCheck(None, VerifierCalibration()).active  # type: ignore[arg-type]
    reading = Reading(candidates=(0,), supported=(1.0,), vetoed=(False,), uses_after=(False,), against=1.0)
    for verdict in (SUPPORTED_VERDICT, NOT_FOUND):
        assert revise(rules_verdict(verdict), reading, VerifierCalibration()).verdict == verdict


# -- rules and model together, as `rag check` judges (the shipped thresholds, the real encoder) ---------------

DOCUMENT = [
    "The harbour museum opened in 1962 with a collection of model ships.",
    "Its director, Ingrid Solberg, said the museum will close for repairs next spring.",
    "Visitors can reach the museum by ferry from the central station.",
    "The ferry does not run on Sundays during the winter.",
    "Entry is free for children under twelve.",
]
CHECKED_EDITS = [
    ("number", "The harbour museum opened in 1958 with a collection of model ships."),
    ("negation", "The ferry runs on Sundays during the winter."),
    ("name", "Its director, Maria Berg, said the museum will close for repairs next spring."),
    ("invented detail", "Visitors can reach the museum by ferry from the central station because the bridge "
                        "collapsed last year."),
]
CHECKED_PARAPHRASES = [  # (claim, the sentence of DOCUMENT it must cite)
    ("The harbour museum, which holds model ships, opened in 1962.", 0),
    ("According to Ingrid Solberg, its director, the museum will close for repairs next spring.", 1),
    ("Children under twelve get in for free.", 4),
]


@pytest.fixture(scope="module")
def judge():
    encoder = load_encoder()
    rules = StructuredVerifier(lambda texts: encoder.encode(list(texts)))
    return ModelCheck(rules)


def checked(judge, claim: str):
    passages = [Passage(s, before=DOCUMENT[i - 1] if i else "", after=DOCUMENT[i + 1] if i + 1 < len(DOCUMENT)
                        else "") for i, s in enumerate(DOCUMENT)]
    return judge.verdict(judge.rules.analyse(claim, passages, " ".join(DOCUMENT)), passages)


@pytest.mark.parametrize("kind,claim", CHECKED_EDITS)
def test_rules_and_model_catch_each_edit(judge, kind, claim):
    assert checked(judge, claim).verdict != SUPPORTED_VERDICT, kind


@pytest.mark.parametrize("claim,source", CHECKED_PARAPHRASES)
def test_rules_and_model_accept_a_paraphrase_citing_its_sentence(judge, claim, source):
    verdict = checked(judge, claim)
    assert verdict.verdict == SUPPORTED_VERDICT, verdict.reason
    assert verdict.evidence == source
