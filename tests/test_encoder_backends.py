"""Encoder backends: torch (reference), onnx (same vectors) and onnx-int8 (own name, close vectors).

The ONNX files are exported from the packaged model once per test session into a
temporary cache (about ten seconds), never fetched from a hub.
"""

from __future__ import annotations

import numpy as np
import pytest

from embeddings import encoder as enc
from embeddings.encoder import BACKENDS, Encoder, encoder_name, load_encoder, selected_backend

SENTENCES = [
    "Bitcoin miners are moving their machines out of China after the crackdown.",
    "Miners ship their rigs abroad because Beijing banned cryptocurrency mining.",
    "The recipe needs two eggs, flour and a pinch of salt.",
    "Kazakhstan",
    "A much longer passage about electricity prices, hydropower in Sichuan during the rainy season, "
    "and how mining farms followed the cheapest power from province to province for years. " * 3,
]


@pytest.fixture(scope="module")
def onnx_cache(tmp_path_factory):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    mp = pytest.MonkeyPatch()
    mp.setenv("RAG_ENCODER_CACHE", str(tmp_path_factory.mktemp("encoders")))
    yield
    mp.undo()


@pytest.fixture(scope="module")
def reference():
    return load_encoder("default", "torch").encode(SENTENCES)


def test_names_keep_indexes_apart():
    assert encoder_name("default", "torch") == "all-MiniLM-L6-v2"
    assert encoder_name("default", "onnx") == "all-MiniLM-L6-v2"  # same vectors: interchangeable
    assert encoder_name("default", "onnx-int8") == "all-MiniLM-L6-v2+onnx-int8"
    assert encoder_name("/models/other", "onnx-int8") == "/models/other+onnx-int8"


def test_backend_selection(monkeypatch):
    monkeypatch.delenv("RAG_ENCODER_BACKEND", raising=False)
    assert selected_backend() == enc.DEFAULT_BACKEND
    monkeypatch.setenv("RAG_ENCODER_BACKEND", "onnx-int8")
    assert selected_backend() == "onnx-int8"
    assert selected_backend("torch") == "torch"  # an explicit argument wins
    monkeypatch.setenv("RAG_ENCODER_BACKEND", "tensorrt")
    with pytest.raises(ValueError, match="RAG_ENCODER_BACKEND"):
        selected_backend()
    with pytest.raises(ValueError, match="unknown encoder backend"):
        Encoder("default", backend="fp16")
    assert set(BACKENDS) == {"torch", "onnx", "onnx-int8"}


def test_load_encoder_shares_one_instance_per_backend(monkeypatch):
    monkeypatch.delenv("RAG_ENCODER_BACKEND", raising=False)
    monkeypatch.setattr(enc, "DEFAULT_BACKEND", "torch")
    assert load_encoder() is load_encoder("default", "torch")
    assert load_encoder().backend == "torch"


def test_onnx_matches_torch(onnx_cache, reference):
    encoder = Encoder("default", backend="onnx")
    vectors = encoder.encode(SENTENCES, batch_size=2)  # several batches, sorted by length inside
    assert vectors.shape == reference.shape and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.min(np.sum(vectors * reference, axis=1)) > 0.9999
    assert encoder.dim == 384 and encoder.name == "all-MiniLM-L6-v2"


def test_onnx_int8_is_close_and_ranks_alike(onnx_cache, reference):
    encoder = load_encoder("default", "onnx-int8")
    vectors = encoder.encode(SENTENCES)
    assert encoder.name.endswith("+onnx-int8")
    assert np.min(np.sum(vectors * reference, axis=1)) > 0.97
    similarity = vectors @ vectors.T
    assert np.argsort(-similarity[0])[1] == 1  # the paraphrase stays the nearest neighbour
    assert encoder.encode([]).shape == (0, 384)
    # Dynamic quantization scales activations per batch, so a text's int8 vector depends a little on
    # its batch companions (never on anything else): close, not bit-equal.
    assert float(encoder.encode_one(SENTENCES[3]) @ vectors[3]) > 0.97


def test_export_happens_once(onnx_cache):
    path = enc.resolve_model("default")
    files = enc.onnx_files(path)
    stamps = {k: f.stat().st_mtime_ns for k, f in files.items()}
    again = enc.onnx_files(path)
    assert again == files
    assert {k: f.stat().st_mtime_ns for k, f in again.items()} == stamps
    assert not list(files["fp32"].parent.glob("*.tmp"))
