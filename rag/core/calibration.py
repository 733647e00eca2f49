"""Weights and thresholds fitted by `make calibrate`, read from one data file.

Nothing tuned lives in the code: ``bench/calibrate.py`` fits every value on
the dev question sets with leave-one-corpus-out validation and writes
``rag/data/calibration.json``, keyed by encoder model. An encoder without an
entry uses the ``default`` entry, and the index manifest records which entry
an index was built under so a new encoder says it needs calibrating.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

CALIBRATION_FILE = Path(__file__).parents[1] / "data" / "calibration.json"
T = TypeVar("T")


@dataclass(frozen=True)
class Calibration:
    """The fitted values; the defaults are only used when the file has no entry at all."""

    name: str = "uncalibrated"
    crosslingual_z: float = 1.0  # spread of multilingual scores on the English scale (rag.store.crosslingual)
    crosslingual_hub: float = 0.0  # how much a non-English sentence's hubness lowers its cosine (rag.store.crosslingual)
    rrf_k: int = 60  # rank fusion constant: smaller trusts the top of each ranking more
    lexical_weight: float = 1.0  # weight of the BM25 ranking beside the dense one
    min_relevance: float = 0.35  # below this best-evidence score nothing in the library is close enough
    lexicon_threshold: float = 2.0  # multilingual cosine at which a library word translates a question word
    # (rag.retrieval.lexicon); above any cosine, so without a fit nothing is translated


# Before any fit: the weights the first answer layer set by hand on the news dev set (a non-English
# sentence's similarity is on the English scale, rag.store.crosslingual). Used only without a calibration file.
UNFITTED_EVIDENCE_WEIGHTS = {
    "similarity": 0.65, "similarity_other": 0.65, "other_language": 0.0, "overlap": 0.35, "rare_overlap": 0.0,
    "answer_type": 0.08, "focus": -0.1, "rank": -0.01, "outside": -0.02, "pair": -1.0,
}

UNFITTED_KEEP_RATIO = 0.8  # a further evidence piece is shown within 20% of the best one's score
UNFITTED_FOCUS_MAX = 2  # the question's names a document may lack that count against its sentences


@dataclass(frozen=True)
class EvidenceCalibration:
    """How evidence sentences are scored: one weight per feature of ``rag.answer.evidence.Features``."""

    name: str = "uncalibrated"
    weights: dict[str, float] = field(default_factory=lambda: dict(UNFITTED_EVIDENCE_WEIGHTS))
    hub_weight: float = 0.0  # hubness correction of non-English sentences' similarity (rag.store.crosslingual)
    keep_ratio: float = UNFITTED_KEEP_RATIO  # a further piece is shown if its score is this close to the best
    # At most this many of the question's names that a sentence's document lacks (and another retrieved one
    # has) count in its ``focus`` feature: one lacking name says "another document", more say it no louder.
    focus_max: float = UNFITTED_FOCUS_MAX


def _entry(key: str) -> dict:
    """One entry of the calibration file ({} when the file or the entry is missing or unreadable)."""
    try:
        return json.loads(CALIBRATION_FILE.read_text(encoding="utf-8")).get(key) or {}
    except (OSError, ValueError):
        return {}


@lru_cache(maxsize=1)
def calibrated_evidence() -> EvidenceCalibration:
    """The evidence weights `bench/calibrate_evidence.py` fitted (the ``evidence`` entry of the file)."""
    entry = _entry("evidence")
    if not entry.get("weights"):
        return EvidenceCalibration()
    return EvidenceCalibration(name=entry.get("name", "fitted"), weights=dict(entry["weights"]),
                               hub_weight=float(entry.get("hub_weight", 0.0)),
                               keep_ratio=float(entry.get("keep_ratio", UNFITTED_KEEP_RATIO)),
                               focus_max=float(entry.get("focus_max", UNFITTED_FOCUS_MAX)))


@dataclass(frozen=True)
class PlanCalibration:
    """What makes a question's name or identifier a term a passage must hold (``rag.answer.plan``)."""

    name: str = "uncalibrated"
    # A name in at most this share of the library's passages is rare (idf >= ln 10 at 0.1, the value used
    # without a calibration file): a name the library is full of is its topic, not what a question turns on.
    rare_term_share: float = 0.1


def _single_value(key: str, value: str, calibration: type[T]) -> T:
    """A calibration fitted as one number: entry ``key``'s ``value``, or ``calibration``'s defaults without it."""
    entry = _entry(key)
    if value not in entry:
        return calibration()
    return calibration(name=entry.get("name", "fitted"), **{value: float(entry[value])})


@lru_cache(maxsize=1)
def calibrated_plan() -> PlanCalibration:
    """The rare-term share `bench/calibrate.py` fitted with ``min_relevance`` (the ``plan`` entry of the file)."""
    return _single_value("plan", "rare_term_share", PlanCalibration)


UNFITTED_SUPPORT_THRESHOLD = 0.75  # set by hand with the first answer layer; used without a calibration file


@dataclass(frozen=True)
class LeadCalibration:
    """When the word-overlap verifier accepts a lead (``rag.answer.verifier``, ``rag.verify.overlap``)."""

    name: str = "uncalibrated"
    # Share of a claim's content words its passage must hold (numbers and names: all of them, always).
    support_threshold: float = UNFITTED_SUPPORT_THRESHOLD


@lru_cache(maxsize=1)
def calibrated_lead() -> LeadCalibration:
    """The support threshold `bench/calibrate_lead.py` fitted (the ``lead`` entry of the file)."""
    return _single_value("lead", "support_threshold", LeadCalibration)


NEVER = 1.01  # a probability threshold no probability reaches: without a fit the trained verifier changes nothing


@dataclass(frozen=True)
class VerifierCalibration:
    """When the trained claim verifier may overrule the rules (``rag.verify.model``)."""

    name: str = "uncalibrated"
    promote: float = NEVER  # P(supported) at which a claim the rules find only too loosely worded is supported
    demote: float = NEVER  # P(contradicted) + P(not found) at which a claim the rules support is not


@lru_cache(maxsize=1)
def calibrated_verifier() -> VerifierCalibration:
    """The two thresholds `bench/calibrate_verifier.py` fitted (the ``verifier`` entry of the file)."""
    entry = _entry("verifier")
    if "promote" not in entry or "demote" not in entry:
        return VerifierCalibration()
    return VerifierCalibration(name=entry.get("name", "fitted"), promote=float(entry["promote"]),
                               demote=float(entry["demote"]))


@lru_cache(maxsize=8)
def calibrated(encoder: str) -> Calibration:
    """The calibration for ``encoder`` (its own entry, else ``default``, else the dataclass defaults)."""
    try:
        data = json.loads(CALIBRATION_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return Calibration()
    entry = data.get(encoder) or data.get("default") or {}
    known = {f.name for f in fields(Calibration)}
    return Calibration(**{k: v for k, v in entry.items() if k in known})
