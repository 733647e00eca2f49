"""Whether passages support a claim, behind one protocol so another judge can take the word-overlap one's place.

``Verifier.support(claim, passages) -> Support(score, reasons)``; a claim
counts as supported when ``score >= verifier.threshold``. The default,
``WordOverlapVerifier``, is ``rag.verify.overlap``: every number and name of the claim
in an original passage, and most of its content words in the passage or its
rendering.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from rag.core.calibration import calibrated_lead
from rag.core.records import Passage
from rag.verify import overlap as verify


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


def supported(verifier: Verifier, claim: str, passages: list[Passage]) -> bool:
    """Whether ``verifier`` accepts ``claim`` on ``passages``."""
    return verifier.support(claim, passages).score >= verifier.threshold
