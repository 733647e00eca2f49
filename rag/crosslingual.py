"""Put multilingual-encoder cosines on the English encoder's scale, question by question.

English passages are compared with the question by the English encoder,
passages in other languages by the multilingual one. The two cosines run on
different scales, and a fixed factor between them fails both ways: a German
chapter's *introduction* scored above the English sentence that answers,
while the German sentence that answers still lost to English near-misses.

What is comparable is how unusual a cosine is *for this question in this
library*: a cosine ``z`` standard deviations above the question's mean
similarity to the library means the same in either space. So a multilingual
cosine ``c`` is read as ``z = (c - mean_ml(q)) / sd_ml(q)`` and given back
on the English scale as ``mean_en(q) + z * sd_en(q)``, where the means and
deviations come from the library's own vectors (mean vector and covariance,
so per question they cost two small matrix products). The spread of the
multilingual side is calibrated (``crosslingual_z``): a passage's score is
its best sentence, so its z-scores run higher than a single sentence's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SAMPLE = 50_000  # vectors read for the moments of a large library: plenty for a mean and a covariance
SEED = 0  # the sample is the same on every run, so scores are reproducible


@dataclass(frozen=True)
class Moments:
    """Mean vector and covariance of one encoder's vectors over the library."""

    mean: np.ndarray
    covariance: np.ndarray

    @classmethod
    def of(cls, vectors: np.ndarray) -> "Moments | None":
        """The moments of ``vectors`` (rows), from a fixed sample when there are many; None for fewer than two."""
        if len(vectors) < 2:
            return None
        if len(vectors) > SAMPLE:
            rows = np.random.default_rng(SEED).choice(len(vectors), SAMPLE, replace=False)
            vectors = vectors[np.sort(rows)]
        vectors = np.asarray(vectors, dtype=np.float64)
        return cls(vectors.mean(axis=0), np.cov(vectors, rowvar=False))

    def spread(self, query: np.ndarray) -> tuple[float, float]:
        """Mean and standard deviation of ``query``'s cosine with the library's vectors."""
        q = np.asarray(query, dtype=np.float64)
        return float(q @ self.mean), float(np.sqrt(max(q @ self.covariance @ q, 1e-12)))


@dataclass(frozen=True)
class CrossLingualScale:
    """Maps one question's multilingual cosines onto its English-encoder scale."""

    mean_ml: float
    sd_ml: float
    mean_en: float
    sd_en: float
    z_scale: float = 1.0

    @classmethod
    def for_question(cls, english: Moments, multilingual: Moments, question_en: np.ndarray,
                     question_ml: np.ndarray, z_scale: float = 1.0) -> "CrossLingualScale":
        mean_en, sd_en = english.spread(question_en)
        mean_ml, sd_ml = multilingual.spread(question_ml)
        return cls(mean_ml, sd_ml, mean_en, sd_en, z_scale)

    def __call__(self, cosines: np.ndarray | float) -> np.ndarray | float:
        """English-scale scores for multilingual ``cosines`` (an array, or one value)."""
        z = (np.asarray(cosines, dtype=np.float64) - self.mean_ml) / self.sd_ml
        mapped = self.mean_en + self.z_scale * z * self.sd_en
        return float(mapped) if mapped.ndim == 0 else mapped
