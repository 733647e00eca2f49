"""Whether passages support a claim, behind one protocol so another judge can take the word-overlap one's place.

``Verifier.support(claim, passages) -> Support(score, reasons)``; a claim
counts as supported when ``score >= verifier.threshold``. ``WordOverlapVerifier``
is ``rag.verify.overlap``: every number and name of the claim in an original
passage, and most of its content words in the passage or its rendering.
``ModelCheckedVerifier`` puts the trained claim verifier beside it, the way
``rag check`` does (``rag.verify.model``): it may accept a claim worded unlike
its passage (never one with a number or name the passage lacks) and reject one
the word overlap accepts but the passage does not say. The generative mode and
the lead check judge their sentences with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from embeddings.verifier import CONTRADICTED as P_CONTRADICTED
from embeddings.verifier import SUPPORTED as P_SUPPORTED
from embeddings.verifier import Verifier as Model
from embeddings.verifier import load_verifier
from rag.core.calibration import NEVER, VerifierCalibration, calibrated_lead, calibrated_verifier
from rag.core.records import Passage
from rag.verify import overlap as verify
from rag.verify.model import demotion_reason, promotion_reason


@dataclass(frozen=True)
class Support:
    """How well passages back a claim (0..1), and what falls short, in words."""

    score: float
    reasons: list[str] = field(default_factory=list)


class Verifier(Protocol):
    """Judges claims against the passages they cite."""

    threshold: float  # a claim is supported when its score reaches this

    def support(self, claim: str, passages: list[Passage]) -> Support: ...


class WordOverlapVerifier:
    """Numbers and names must be in an original passage; most content words in a passage or its rendering."""

    @property
    def threshold(self) -> float:
        return calibrated_lead().support_threshold

    def support(self, claim: str, passages: list[Passage]) -> Support:
        score, reasons = verify.check(claim, [p.text for p in passages], [p.translation or "" for p in passages])
        return Support(score, reasons)


class ModelCheckedVerifier:
    """``base`` (word overlap by default) with the trained verifier under its number and name vetoes.

    Thresholds are ``rag check``'s (``calibrated_verifier``): the model's probabilities mean the
    same whoever asks. Without a fit, or with the model's thresholds out of reach, it is ``base``.
    """

    def __init__(self, base: Verifier | None = None, calibration: VerifierCalibration | None = None,
                 model: Model | None = None) -> None:
        self.base: Verifier = base or WordOverlapVerifier()
        self.calibration = calibration or calibrated_verifier()
        self._model = model

    @property
    def threshold(self) -> float:
        return self.base.threshold

    def _judge(self, claim: str, passages: list[Passage]):
        """The model's (supported, contradicted, not found) on the passages read as one text, in English."""
        if self._model is None:
            self._model = load_verifier()  # once per process: ``load_verifier`` is cached
        return self._model.judge(claim, [" ".join(p.translation or p.text for p in passages)])[0]

    def support(self, claim: str, passages: list[Passage]) -> Support:
        found = self.base.support(claim, passages)
        cal = self.calibration
        if not passages or min(cal.promote, cal.demote) >= NEVER:
            return found
        if found.score >= self.threshold:
            if cal.demote >= NEVER:
                return found
            p = self._judge(claim, passages)
            against = float(1.0 - p[P_SUPPORTED])
            if against >= cal.demote:
                return Support(0.0, [demotion_reason(against, p[P_CONTRADICTED] >= against / 2)])
            return found
        if cal.promote >= NEVER or found.score <= 0.0 or verify.vetoes(claim, [p.text for p in passages]):
            return found
        p_supported = float(self._judge(claim, passages)[P_SUPPORTED])
        if p_supported >= cal.promote:
            return Support(max(found.score, self.threshold), [promotion_reason(p_supported)])
        return found


def with_model(verifier: Verifier) -> Verifier:
    """``verifier`` with the trained verifier beside it (itself if it already has it)."""
    return verifier if isinstance(verifier, ModelCheckedVerifier) else ModelCheckedVerifier(verifier)


def supported(verifier: Verifier, claim: str, passages: list[Passage]) -> bool:
    """Whether ``verifier`` accepts ``claim`` on ``passages``."""
    return verifier.support(claim, passages).score >= verifier.threshold
