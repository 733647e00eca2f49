"""All settings in one place.

Defaults work offline on a laptop; every field can be overridden by an
environment variable ``RAG_<FIELD>`` (e.g. ``RAG_GENERATOR=openai``) or by the
CLI flags that map onto it.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
BUNDLED_CORPUS = PROJECT_ROOT / "data" / "articles"


def _default_home() -> Path:
    return PROJECT_ROOT / "var"


@dataclass(frozen=True)
class Settings:
    # Where things live.
    home: Path = field(default_factory=_default_home)  # library and index live under here
    corpus_dir: Path | None = None  # defaults to <home>/library, seeded from data/articles
    index_dir: Path | None = None  # defaults to <home>/index

    # Encoding and chunking (recorded in the index manifest: changing them needs a rebuild).
    embedding_model: str = "default"  # "default" = packaged all-MiniLM-L6-v2; or any ST name/path
    chunk_chars: int = 1000  # target chunk length; chunks end on unit boundaries (see docs/benchmarks.md)
    chunk_overlap_sentences: int = 1
    translate: bool = True  # index non-English chunks with an English rendering beside them
    multilingual: bool = True  # also embed non-English sentences with multilingual USE

    # Retrieval.
    top_k: int = 5
    candidates: int = 30  # per retriever, before rank fusion
    rrf_k: int = 0  # rank fusion constant; 0 = the calibrated value (rag/data/calibration.json)

    # Answering.
    generator: str = "llama"  # "llama" | "transformers" | "openai" | "none" (quotes only)
    model: str = "default"  # GGUF path, transformers id/path, or the OpenAI-compatible model name
    base_url: str = "http://127.0.0.1:11434/v1"  # for generator="openai" (Ollama's default)
    api_key: str = ""
    temperature: float = 0.0
    max_new_tokens: int = 48
    n_ctx: int = 2048
    threads: int = 0  # llama.cpp threads; 0 = every core (1.5x faster answers than its default of half)
    strict: bool = True  # drop every answer sentence that the cited passage does not support
    min_relevance: float = 0.35  # best evidence sentence must reach this to answer at all

    # Limits.
    max_file_mb: float = 20.0

    @property
    def library(self) -> Path:
        return Path(self.corpus_dir) if self.corpus_dir else Path(self.home) / "library"

    @property
    def index(self) -> Path:
        return Path(self.index_dir) if self.index_dir else Path(self.home) / "index"

    def replace(self, **changes: object) -> "Settings":
        """A copy with some fields changed; ``None`` values are ignored."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Settings":
        """Defaults overridden by ``RAG_<FIELD>`` environment variables."""
        environ = dict(os.environ if environ is None else environ)
        changes: dict[str, object] = {}
        for f in dataclasses.fields(cls):
            raw = environ.get(f"RAG_{f.name.upper()}")
            if raw is None:
                continue
            changes[f.name] = _parse(raw, f.type)
        return cls().replace(**changes)


def _parse(raw: str, annotation: object) -> object:
    kind = str(annotation)
    if "bool" in kind:
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if "int" in kind:
        return int(raw)
    if "float" in kind:
        return float(raw)
    if "Path" in kind:
        return Path(raw).expanduser()
    return raw
