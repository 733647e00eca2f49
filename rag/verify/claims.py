"""The claim checker's records: a passage, a verdict with its reason, the fitted thresholds."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

SUPPORTED, CONTRADICTED, NOT_FOUND = "supported", "contradicted", "not_found"
CALIBRATION_FILE = Path(__file__).parents[1] / "data" / "check_calibration.json"


@dataclass(frozen=True)
class Passage:
    """One evidence candidate: a sentence (or two) of a document, as the verifier sees it."""

    text: str  # the original text
    english: str | None = None  # machine rendering when the original is not English
    lang: str = "en"
    before: str = ""  # the sentence just before, for the speaker of a quote and spill-over facts
    after: str = ""
    vector: np.ndarray | None = None  # the project encoder's vector of the English text, if known
    vector_ml: np.ndarray | None = None  # multilingual vector of a non-English original, if known


@dataclass(frozen=True)
class Support:
    """The verdict on one claim; ``score`` and ``reasons`` are what the ``Verifier`` protocol asks for."""

    verdict: str  # supported | contradicted | not_found
    score: float  # 0..1, how well the evidence backs the claim
    reasons: tuple[str, ...]  # human reasons, the first is the one to show
    evidence: int = -1  # index into the passages of the sentence the verdict rests on
    uses_after: bool = False  # the next sentence was needed too (cite it)
    details: dict[str, Any] = field(default_factory=dict)  # the measured features, for calibration

    @property
    def reason(self) -> str:
        return self.reasons[0] if self.reasons else ""


@dataclass(frozen=True)
class Calibration:
    """Thresholds fitted by bench/calibrate_check.py (see rag/data/check_calibration.json)."""

    min_relevance: float = 0.45  # best evidence score below this: nothing in the articles is close
    min_coverage: float = 0.45  # a claim clause whose best match is below this is not in the evidence
    # How a clause's match is scored: 1.0 takes the better of encoder similarity and shared words (the
    # original rule); below 1.0, ``coverage_weight`` x similarity + the rest x shared words, so a clause
    # that only sounds like the topic (every sentence of a one-topic library does) but shares none of
    # its words with the cited sentence scores low. Fitted with the thresholds.
    coverage_weight: float = 1.0

    @classmethod
    def load(cls, path: Path = CALIBRATION_FILE) -> "Calibration":
        if not path.exists():
            return cls()
        data = json.loads(path.read_text())
        known = {k: float(v) for k, v in data.get("thresholds", {}).items() if k in cls.__dataclass_fields__}
        return cls(**known)
