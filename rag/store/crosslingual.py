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

Across languages, short sentences full of names ("Das Debian Linux Kernel
Handbook ist ...") are *hubs*: close to every question that shares a name,
so one of them topped every English question about Debian. Each sentence's
cosine is therefore lowered by its hubness, the mean cosine of its nearest
neighbours among a fixed sample of the library (CSLS, Conneau et al. 2018,
"Word translation without parallel data"), weighted by the calibrated
``crosslingual_hub``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SAMPLE = 50_000  # vectors read for the moments of a large library: plenty for a mean and a covariance
SEED = 0  # the sample is the same on every run, so scores are reproducible
HUB_NEIGHBOURS = 10  # hubness: mean cosine of a sentence's 10 nearest probes (the k of CSLS)
HUB_PROBES = 2_000  # library sentences a hubness is measured against
HUB_SAMPLE = 5_000  # library sentences whose hubness enters the moments
BLOCK = 4_096  # rows per matrix product when measuring hubness (bounds memory)


def fixed_sample(count: int, size: int, seed: int = SEED) -> np.ndarray:
    """A fixed, sorted sample of ``size`` row numbers out of ``count`` (all of them when there are fewer)."""
    if count <= size:
        return np.arange(count)
    return np.sort(np.random.default_rng(seed).choice(count, size, replace=False))


@dataclass(frozen=True)
class Hubness:
    """How close a vector lies to the library in general: the mean cosine of its nearest probes."""

    probes: np.ndarray  # a fixed sample of the library's vectors (rows)

    @classmethod
    def of(cls, vectors: np.ndarray) -> "Hubness | None":
        if len(vectors) <= HUB_NEIGHBOURS:
            return None
        return cls(np.asarray(vectors[fixed_sample(len(vectors), HUB_PROBES)], dtype=np.float32))

    def __call__(self, vectors: np.ndarray) -> np.ndarray:
        """The hubness of each row of ``vectors`` (a probe's own copy and exact duplicates left out)."""
        vectors = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
        out = np.empty(len(vectors), dtype=np.float64)
        for at in range(0, len(vectors), BLOCK):
            cosines = vectors[at:at + BLOCK] @ self.probes.T
            cosines[cosines > 0.9999] = -1.0
            nearest = np.partition(cosines, -HUB_NEIGHBOURS, axis=1)[:, -HUB_NEIGHBOURS:]
            out[at:at + BLOCK] = nearest.mean(axis=1)
        return out


@dataclass(frozen=True)
class Moments:
    """Mean vector and covariance of one encoder's vectors over the library.

    With a ``hubness``, also how the vectors' hubness varies with them (``hub_mean``,
    ``hub_var`` and ``hub_cov``, the covariance of each dimension with it), so that
    the spread of hub-corrected cosines costs no more per question than the plain one.
    """

    mean: np.ndarray
    covariance: np.ndarray
    hubness: Hubness | None = None
    hub_mean: float = 0.0
    hub_var: float = 0.0
    hub_cov: np.ndarray | None = None

    @classmethod
    def of(cls, vectors: np.ndarray, hubs: bool = False) -> "Moments | None":
        """The moments of ``vectors`` (rows), from a fixed sample when there are many; None for fewer than two."""
        if len(vectors) < 2:
            return None
        hubness = Hubness.of(vectors) if hubs else None
        rows = vectors[fixed_sample(len(vectors), SAMPLE)]
        sample = np.asarray(rows, dtype=np.float64)
        moments = cls(sample.mean(axis=0), np.cov(sample, rowvar=False))
        if hubness is None:
            return moments
        few = np.asarray(rows[fixed_sample(len(rows), HUB_SAMPLE)], dtype=np.float64)
        hub = hubness(few)
        cov = ((few - few.mean(axis=0)) * (hub - hub.mean())[:, None]).sum(axis=0) / max(len(few) - 1, 1)
        return cls(moments.mean, moments.covariance, hubness, float(hub.mean()), float(hub.var(ddof=1)), cov)

    def spread(self, query: np.ndarray, hub_weight: float = 0.0) -> tuple[float, float]:
        """Mean and standard deviation of ``query``'s (hub-corrected) cosine with the library's vectors."""
        q = np.asarray(query, dtype=np.float64)
        variance = q @ self.covariance @ q
        if hub_weight and self.hub_cov is not None:
            variance += hub_weight ** 2 * self.hub_var - 2 * hub_weight * float(q @ self.hub_cov)
        return float(q @ self.mean), float(np.sqrt(max(variance, 1e-12)))


@dataclass(frozen=True)
class CrossLingualScale:
    """One question's multilingual similarities, on its English-encoder scale."""

    question_ml: np.ndarray
    mean_ml: float
    sd_ml: float
    mean_en: float
    sd_en: float
    z_scale: float = 1.0
    hub_weight: float = 0.0
    hubness: Hubness | None = None
    hub_mean: float = 0.0

    @classmethod
    def for_question(cls, english: Moments, multilingual: Moments, question_en: np.ndarray,
                     question_ml: np.ndarray, z_scale: float = 1.0, hub_weight: float = 0.0) -> "CrossLingualScale":
        hub_weight = hub_weight if multilingual.hubness is not None else 0.0
        mean_en, sd_en = english.spread(question_en)
        mean_ml, sd_ml = multilingual.spread(question_ml, hub_weight)
        return cls(np.asarray(question_ml, dtype=np.float32), mean_ml, sd_ml, mean_en, sd_en, z_scale, hub_weight,
                   multilingual.hubness, multilingual.hub_mean)

    def cosines(self, vectors: np.ndarray, plain: np.ndarray | None = None) -> np.ndarray:
        """The question's hub-corrected multilingual cosine with each row of ``vectors``; ``plain`` are their
        uncorrected cosines with the question when the caller has them already."""
        vectors = np.atleast_2d(vectors)
        cosines = np.asarray(vectors @ self.question_ml if plain is None else plain, dtype=np.float64)
        if self.hub_weight and self.hubness is not None:
            cosines = cosines - self.hub_weight * (self.hubness(vectors) - self.hub_mean)
        return cosines

    def __call__(self, vectors: np.ndarray, plain: np.ndarray | None = None) -> np.ndarray:
        """English-scale scores of the multilingual ``vectors`` (rows) for this question (``plain``: as in ``cosines``)."""
        return self.to_english(self.cosines(vectors, plain))

    def to_english(self, cosines: np.ndarray) -> np.ndarray:
        """English-scale scores for hub-corrected multilingual ``cosines``."""
        z = (np.asarray(cosines, dtype=np.float64) - self.mean_ml) / self.sd_ml
        return self.mean_en + self.z_scale * z * self.sd_en
