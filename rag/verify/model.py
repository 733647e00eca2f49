"""The trained claim verifier beside the rules of `rag check`, under their vetoes.

The rules (``rag.verify.support``) are sharp on facts: a number, date or name of the claim that the
evidence lacks is never "supported", and a contradiction they find stands with its concrete reason
("1987, not 1992"). Where they are blunt is wording: a true claim that shares few words with its
source sentence is "not found". The trained model (``embeddings.verifier``, issue 32) may change a
rules verdict in two ways only:

- **promote**: the rules found no fact wrong or missing, only too little closeness or word overlap;
  a candidate the rules do not veto (``StructuredVerifier.facts``) with P(supported) at or above
  ``promote`` makes the claim supported, citing that candidate;
- **demote**: the rules support the claim, but the model reads the cited sentence as not saying it,
  P(contradicted) + P(not found) at or above ``demote``; the verdict says so, citing the sentence.

Both thresholds are fitted by ``bench/calibrate_verifier.py`` (``rag/data/calibration.json``,
entry ``verifier``); without a fit the model is never loaded and the rules decide alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from embeddings.verifier import CONTRADICTED as P_CONTRADICTED
from embeddings.verifier import SUPPORTED as P_SUPPORTED
from embeddings.verifier import Verifier as Model
from embeddings.verifier import load_verifier
from rag.core.calibration import NEVER, VerifierCalibration, calibrated_verifier
from rag.verify.claims import CONTRADICTED, NOT_FOUND, SUPPORTED, Passage, Support
from rag.verify.support import StructuredVerifier

TOP = 8  # candidates the model reads for a promotion, in the rules' ranking (what the probe measured)


def evidence_text(p: Passage, with_after: bool = False) -> str:
    """What the model reads of a passage: the sentence before (context, as in training) and the sentence,
    in English; the sentence after too when the citation includes it."""
    return " ".join(x for x in (p.before, p.english or p.text, p.after if with_after else "") if x)


@dataclass(frozen=True)
class Reading:
    """The model's probabilities on a claim's candidates and the rules' vetoes there: what the thresholds see.

    A promotion reading has one entry per candidate read; a demotion reading has ``against`` on the
    sentence the rules cite. Candidates below the reading's ``floor`` are not vetted (``vetoed`` True):
    no threshold at or above the floor can pick them.
    """

    candidates: tuple[int, ...] = ()  # passage indices, in the rules' ranking
    supported: tuple[float, ...] = ()  # P(supported) on each
    vetoed: tuple[bool, ...] = ()  # the rules find a fact of the claim contradicted or missing there
    uses_after: tuple[bool, ...] = ()  # the fact the rules matched sits in the sentence after (cite it too)
    against: float = 0.0  # on the rules' cited sentence: P(contradicted) + P(not found)
    contradicted: float = 0.0  # the P(contradicted) part of it

    def to_dict(self) -> dict[str, Any]:
        return {"candidates": list(self.candidates), "supported": [round(p, 3) for p in self.supported],
                "vetoed": list(self.vetoed), "against": round(self.against, 3)}


def promotable(rules: Support) -> bool:
    """Whether the rules' "not found" is only for lack of closeness or shared words: no fact vetoed."""
    d = rules.details
    return rules.verdict == NOT_FOUND and not d.get("contradictions") and not d.get("missing") \
        and bool(d.get("ranking"))


def revise(rules: Support, reading: Reading | None, calibration: VerifierCalibration) -> Support:
    """The rules' verdict, changed by the model only as the module docstring allows."""
    if reading is None:
        return rules
    details = {**rules.details, "model": reading.to_dict()}
    if rules.verdict == SUPPORTED and reading.against >= calibration.demote:
        contradicted = reading.contradicted >= reading.against / 2
        return Support(CONTRADICTED if contradicted else NOT_FOUND, round(1.0 - reading.against, 3),
                       (demotion_reason(reading.against, contradicted),), rules.evidence, rules.uses_after, details)
    if promotable(rules):
        order = sorted(range(len(reading.candidates)), key=lambda k: -reading.supported[k])
        for k in order:
            if reading.supported[k] < calibration.promote:
                break
            if not reading.vetoed[k]:
                p = reading.supported[k]
                return Support(SUPPORTED, round(p, 3), (promotion_reason(p),), reading.candidates[k],
                               reading.uses_after[k], details)
    return replace(rules, details=details)


def demotion_reason(against: float, contradicted: bool) -> str:
    """What the reader is told when the model overrules the rules' "supported"."""
    if contradicted:
        return (f"the cited sentence seems to say otherwise (the trained verifier is {against:.0%} sure it "
                "does not say this)")
    return f"the cited sentence does not seem to say this (the trained verifier is {against:.0%} sure)"


def promotion_reason(supported: float) -> str:
    """What the reader is told when the model accepts a claim worded unlike its source."""
    return f"the cited sentence says this in other words (the trained verifier is {supported:.0%} sure)"


class ModelCheck:
    """The rules' verdict on a claim, revised by the trained model where it is allowed to speak.

    The model is loaded on first use (once per process, ``load_verifier``) and only when a fitted
    threshold can let it change anything.
    """

    def __init__(self, rules: StructuredVerifier, calibration: VerifierCalibration | None = None,
                 model: Model | None = None) -> None:
        self.rules = rules
        self.calibration = calibration or calibrated_verifier()
        self._model = model

    @property
    def active(self) -> bool:
        return min(self.calibration.promote, self.calibration.demote) < NEVER

    @property
    def model(self) -> Model:
        if self._model is None:
            self._model = load_verifier()
        return self._model

    def read(self, analysis: dict[str, Any], passages: Sequence[Passage], background: str = "",
             floor: float | None = None) -> Reading | None:
        """The model's reading where it may change the rules' verdict (None where it may not).

        ``floor`` is the lowest P(supported) whose candidate is vetted by the rules (default: the
        ``promote`` threshold); calibration passes a lower one to try many thresholds on one reading.
        """
        rules = self.rules.decide(analysis)
        claim = analysis["claim"]
        if rules.verdict == SUPPORTED:
            p = self.model.judge(claim, [evidence_text(passages[rules.evidence], rules.uses_after)])[0]
            return Reading(against=float(1.0 - p[P_SUPPORTED]), contradicted=float(p[P_CONTRADICTED]))
        if not promotable(rules):
            return None
        floor = self.calibration.promote if floor is None else floor
        chosen = tuple(analysis["ranking"][:TOP])
        probabilities = self.model.judge(claim, [evidence_text(passages[i]) for i in chosen])[:, P_SUPPORTED]
        vetoed, after = [], []
        for i, p in zip(chosen, probabilities):
            found = self.rules.facts(claim, passages[i], background) if p >= floor else None
            vetoed.append(found is None or bool(found["contradictions"] or found["missing"]))
            after.append(bool(found and found["uses_after"]))
        return Reading(chosen, tuple(float(p) for p in probabilities), tuple(vetoed), tuple(after))

    def verdict(self, analysis: dict[str, Any], passages: Sequence[Passage], background: str = "") -> Support:
        """The rules' verdict on ``analysis`` (``StructuredVerifier.analyse``), revised by the model."""
        rules = self.rules.decide(analysis)
        cal = self.calibration
        if (cal.demote if rules.verdict == SUPPORTED else cal.promote) >= NEVER:
            return rules  # the model could change nothing here: not run
        return revise(rules, self.read(analysis, passages, background), cal)
