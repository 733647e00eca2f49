"""The record the reader learns from: a question, a unit of text, and whether the unit answers it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Pair:
    """One training example: does ``unit`` answer ``question``?"""

    question: str
    unit: str
    label: int  # 1: the unit states the asked fact; 0: it does not
    source: str  # a package name or "news"
    page: str  # the page it came from (held-out splits never cut a page in two)
    kind: str  # the question family ("default", "context", "faq", "near-miss", ...)


def question_pairs(question: str, positives: list[str], negatives: list[str], source: str, page: str,
                   kind: str) -> list[Pair]:
    """Pairs for one question; a unit listed as both is dropped (its label would be a guess)."""
    pos = _dedupe(positives)
    neg = [u for u in _dedupe(negatives) if u not in set(pos)]
    return ([Pair(question, u, 1, source, page, kind) for u in pos]
            + [Pair(question, u, 0, source, page, kind) for u in neg])


def _dedupe(units: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for unit in units:
        unit = unit.strip()
        if unit and unit not in seen:
            seen.add(unit)
            out.append(unit)
    return out


def held_out(pair: Pair, fraction: float = 0.2) -> bool:
    """Whether ``pair``'s page is in the calibration split (stable across runs, whole pages)."""
    digest = hashlib.sha256(f"{pair.source}/{pair.page}".encode()).digest()
    return digest[0] / 256 < fraction
