"""The reader's pass over the best evidence candidates: does this unit state what is asked?

The evidence features weigh topic (similarity, shared words). The reader trained here
(``embeddings.reader``, docs/reader.md) scores whether a unit *answers*: its calibrated
probability becomes the ``reader`` feature of the ``READ_CANDIDATES`` best candidates, weighed
like the others with the weight `bench/calibrate_reader.py` fits leave-one-corpus-out
(``calibration.json``, ``evidence.weights.reader``). At weight 0 the reader is never loaded.
Refusal reads it through the evidence score it raises, against a ``min_relevance`` refitted with it.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from embeddings.reader import Reader
from rag.core.calibration import calibrated_evidence

def reader_weight() -> float:
    """The fitted weight of the reader's probability in an evidence score (0: not used)."""
    return float(calibrated_evidence().weights.get("reader", 0.0))


@cache
def shared_reader() -> Reader:
    """The shipped reader, loaded once per process (from the repo and the installed MiniLM; no download)."""
    return Reader.load()


def answer_probabilities(question: str, units: list[str]) -> np.ndarray:
    """For each unit (its English rendering), the reader's probability that it states what ``question`` asks."""
    if not units:
        return np.zeros(0, dtype=np.float32)
    return shared_reader().score(question, units)
