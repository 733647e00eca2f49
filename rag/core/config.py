"""All settings in one place.

Defaults work offline on a laptop. The operator overrides them, lowest first,
with a TOML config file (``RAG_CONFIG`` or ``--config``), environment variables
``RAG_<FIELD>`` (e.g. ``RAG_GENERATOR=openai``) and CLI flags. A chat user never
sets a ``Settings`` field: per request only the bounded ``AskOptions`` apply,
and the model is picked by name among those the operator configured.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
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
    translate: bool = True  # show an English rendering (made when first shown, cached) after non-English quotes
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
    threads: int = 0  # llama.cpp threads; 0 = half the cores, llama.cpp's default (docs/scaling.md: busy cores)
    strict: bool = True  # drop every answer sentence that the cited passage does not support
    # How answers are made: "extractive" (quotes led by a checked short answer; suits small base models),
    # "generative" (the model writes a cited answer, every sentence verified; for instruct/chat models),
    # "auto" (generative when the model is served through a chat API or its GGUF says it is a chat model).
    answer_mode: str = "auto"
    openai_api: str = "completions"  # generator="openai": "completions" or "chat" (/v1/chat/completions)
    min_relevance: float | None = None  # best evidence must reach this to answer; None = calibrated value

    # Limits.
    max_file_mb: float = 20.0

    # Where the index lives: "" = SQLite + FAISS under index_dir (one process); a postgresql:// URL
    # (RAG_STORE or --store) = one store shared by several servers and ingest jobs (see docs/scaling.md).
    store: str = ""

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
        """Defaults, overridden by the config file named in ``RAG_CONFIG``, then by ``RAG_<FIELD>`` variables."""
        environ = dict(os.environ if environ is None else environ)
        base = cls.from_file(Path(environ["RAG_CONFIG"]).expanduser()) if environ.get("RAG_CONFIG") else cls()
        changes: dict[str, object] = {}
        for f in dataclasses.fields(cls):
            raw = environ.get(f"RAG_{f.name.upper()}")
            if raw is None:
                continue
            changes[f.name] = _parse(raw, f.type)
        return base.replace(**changes)

    @classmethod
    def from_file(cls, path: Path) -> "Settings":
        """Defaults overridden by the top-level keys of a TOML config file (``[models.*]`` tables aside)."""
        table = read_config(path)
        return cls().replace(**_checked_fields(table, path, skip={"models"}))


# -- the operator's config file -------------------------------------------------------

# What a [models.NAME] table may set: everything that picks and runs a generator, nothing about the index.
MODEL_FIELDS = {"generator", "model", "base_url", "api_key", "n_ctx", "threads", "max_new_tokens", "temperature",
                "answer_mode", "openai_api"}
ANSWER_MODES = ("auto", "extractive", "generative")
OPENAI_APIS = ("completions", "chat")


def read_config(path: Path) -> dict:
    """The parsed TOML file; ValueError with one line saying what is wrong."""
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ValueError(f"config file not found: {path}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
        raise ValueError(f"config file {path} is not valid TOML: {exc}") from None


def configured_models(settings: Settings, environ: dict[str, str] | None = None) -> dict[str, Settings]:
    """Every model the operator offers, by display name; the first is ``settings`` itself.

    Extra models come from ``[models.NAME]`` tables of the config file in ``RAG_CONFIG``;
    each changes only generator fields of ``settings``, so all of them share one index.
    """
    environ = dict(os.environ if environ is None else environ)
    models = {model_label(settings): settings}
    if not environ.get("RAG_CONFIG"):
        return models
    path = Path(environ["RAG_CONFIG"]).expanduser()
    tables = read_config(path).get("models", {})
    if not isinstance(tables, dict):
        raise ValueError(f"{path}: [models] must be tables like [models.small]")
    for name, table in tables.items():
        if not isinstance(table, dict):
            raise ValueError(f"{path}: models.{name} must be a table")
        unknown = set(table) - MODEL_FIELDS
        if unknown:
            raise ValueError(f"{path}: models.{name} cannot set {', '.join(sorted(unknown))} "
                             f"(only {', '.join(sorted(MODEL_FIELDS))})")
        models[str(name)] = settings.replace(**_checked_fields(table, path))
    return models


def model_label(settings: Settings) -> str:
    """How the operator's default model is named in the chat's picker."""
    if settings.generator == "none":
        return "quotes only"
    model = Path(settings.model).name if settings.generator in {"llama", "transformers"} else settings.model
    return f"{settings.generator} · {model}"


def _checked_fields(table: dict, path: Path, skip: set[str] = frozenset()) -> dict[str, object]:
    fields = {f.name: f.type for f in dataclasses.fields(Settings)}
    changes: dict[str, object] = {}
    for key, value in table.items():
        if key in skip:
            continue
        if key not in fields:
            raise ValueError(f"{path}: unknown setting {key!r}")
        parsed = _parse(str(value), fields[key])
        if isinstance(parsed, Path) and not parsed.is_absolute():
            parsed = path.parent / parsed  # relative to the config file, not to where the server starts
        changes[key] = parsed
    return changes


# -- what one chat request may change -------------------------------------------------

TOP_K_RANGE = (1, 15)
TEMPERATURE_RANGE = (0.0, 1.5)


@dataclass(frozen=True)
class AskOptions:
    """Per-request choices a chat user may make; bounded, and applied to one call only.

    They never create an assistant, open an index or load a model: ``apply`` gives
    a copy of the settings for the duration of one answer.
    """

    top_k: int | None = None
    temperature: float | None = None
    strict: bool | None = None
    answer_mode: str | None = None  # one of ANSWER_MODES

    @classmethod
    def checked(cls, top_k: object = None, temperature: object = None, strict: object = None,
                answer_mode: object = None) -> "AskOptions":
        """Options from untrusted input; ValueError with one line if any is out of bounds or of the wrong type."""
        k = t = None
        if top_k is not None:
            if isinstance(top_k, bool) or not isinstance(top_k, (int, float)) or int(top_k) != top_k:
                raise ValueError("top_k must be a whole number")
            k = int(top_k)
            if not TOP_K_RANGE[0] <= k <= TOP_K_RANGE[1]:
                raise ValueError(f"top_k must be between {TOP_K_RANGE[0]} and {TOP_K_RANGE[1]}")
        if temperature is not None:
            if isinstance(temperature, bool) or not isinstance(temperature, (int, float)):
                raise ValueError("temperature must be a number")
            t = float(temperature)
            if not TEMPERATURE_RANGE[0] <= t <= TEMPERATURE_RANGE[1]:  # also false for NaN
                raise ValueError(f"temperature must be between {TEMPERATURE_RANGE[0]} and {TEMPERATURE_RANGE[1]}")
        if strict is not None and not isinstance(strict, bool):
            raise ValueError("strict must be true or false")
        if answer_mode is not None and answer_mode not in ANSWER_MODES:
            raise ValueError(f"answer_mode must be one of {', '.join(ANSWER_MODES)}")
        return cls(top_k=k, temperature=t, strict=strict, answer_mode=answer_mode)  # type: ignore[arg-type]

    def apply(self, settings: Settings) -> Settings:
        return settings.replace(top_k=self.top_k, temperature=self.temperature, strict=self.strict,
                                answer_mode=self.answer_mode)


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
