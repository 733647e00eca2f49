"""Train the reader: a MiniLM cross-encoder that scores whether a unit answers a question.

The network starts from the packaged all-MiniLM-L6-v2 with a fresh one-logit head. Its word
embeddings stay frozen, so the shipped file holds only the other weights (fp16, ~21 MB) and
the embeddings are read from the installed package at load time. Pages are split 80/20
(``pairs.held_out``): the model learns on the 80 and the Platt scaling that turns its logit
into a probability is fitted on the 20 it never saw. ``make train-reader`` runs this.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from embeddings.reader import DEFAULT_DIR, FROZEN, MAX_TOKENS, Reader, base_model_path
from embeddings.training import reader_data
from embeddings.training.pairs import Pair, held_out

SOURCE_SHARE = {"apache2-doc": 0.45, "vim-doc": 0.3, "debian-faq": 0.15, "news": 0.1}
MAX_NEGATIVES = 5  # per question: more questions for the same CPU time


def sample(pairs: list[Pair], budget: int, seed: int) -> list[Pair]:
    """About ``budget`` pairs, whole questions at a time, each source near its ``SOURCE_SHARE``."""
    rng = random.Random(seed)
    groups: dict[str, dict[tuple[str, str], list[Pair]]] = defaultdict(lambda: defaultdict(list))
    for pair in pairs:
        groups[pair.source][(pair.page, pair.question)].append(pair)
    chosen: list[Pair] = []
    for source, questions in sorted(groups.items()):
        keys = sorted(questions)
        rng.shuffle(keys)
        want = int(budget * SOURCE_SHARE.get(source, 0.1))
        taken = 0
        for key in keys:
            if taken >= want:
                break
            group = questions[key]
            negatives = [p for p in group if not p.label]
            group = [p for p in group if p.label] + rng.sample(negatives, min(MAX_NEGATIVES, len(negatives)))
            chosen += group
            taken += len(group)
    rng.shuffle(chosen)
    return chosen


def _batches(pairs: list[Pair], batch: int, rng: random.Random) -> list[list[Pair]]:
    """Shuffled batches of pairs of similar length (little padding: CPU time is the budget here)."""
    order = list(range(len(pairs)))
    rng.shuffle(order)
    chunk = batch * 50
    batches = []
    for at in range(0, len(order), chunk):
        part = sorted(order[at:at + chunk], key=lambda i: len(pairs[i].question) + len(pairs[i].unit))
        batches += [[pairs[i] for i in part[b:b + batch]] for b in range(0, len(part) - batch + 1, batch)]
    rng.shuffle(batches)
    return batches


def train(pairs: list[Pair], epochs: float, batch: int, lr: float, seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    base = base_model_path()
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = AutoModelForSequenceClassification.from_pretrained(base, num_labels=1)
    for name, param in model.named_parameters():
        param.requires_grad = name != FROZEN
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    steps = max(1, int(len(pairs) * epochs / batch))
    warmup = max(1, steps // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (steps - s) / (steps - warmup))))
    loss_fn = torch.nn.BCEWithLogitsLoss()
    model.train()
    rng = random.Random(seed)
    started, step, running = time.time(), 0, 0.0
    while step < steps:
        for rows in _batches(pairs, batch, rng):
            inputs = tokenizer([p.question for p in rows], [p.unit for p in rows], padding=True,
                               truncation="only_second", max_length=MAX_TOKENS, return_tensors="pt")
            logits = model(**inputs).logits.squeeze(-1)
            loss = loss_fn(logits, torch.tensor([float(p.label) for p in rows]))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            step += 1
            running = 0.98 * running + 0.02 * float(loss) if step > 1 else float(loss)
            if step % 50 == 0:
                print(f"step {step}/{steps} loss {running:.3f} {time.time() - started:.0f}s", flush=True)
            if step >= steps:
                break
    model.eval()
    return model


def export(model: torch.nn.Module, out: Path, calibration: dict, meta: dict) -> None:
    """The trained weights minus the frozen word embeddings, fp16, and the calibration beside them."""
    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().to(torch.float16).contiguous() for k, v in model.state_dict().items() if k != FROZEN}
    save_file(state, str(out / "model.safetensors"))
    (out / "reader.json").write_text(json.dumps({"calibration": calibration, **meta}, indent=1) + "\n")


def fit_platt(logits: np.ndarray, labels: np.ndarray) -> dict:
    """p = sigmoid(a * logit + b), fitted on pages the model never saw."""
    fit = LogisticRegression(C=1e4).fit(logits.reshape(-1, 1), labels)
    return {"a": float(fit.coef_[0][0]), "b": float(fit.intercept_[0])}


def held_out_report(pairs: list[Pair], probs: np.ndarray) -> dict:
    """Per source: AUC over pairs, how often a question's top unit is a positive, near-miss max probability."""
    report = {}
    for source in sorted({p.source for p in pairs}):
        idx = [i for i, p in enumerate(pairs) if p.source == source]
        labels = np.array([pairs[i].label for i in idx])
        by_question: dict[tuple[str, str], list[int]] = defaultdict(list)
        for i in idx:
            by_question[(pairs[i].page, pairs[i].question)].append(i)
        top1 = [pairs[max(q, key=lambda i: probs[i])].label for q in by_question.values()
                if any(pairs[i].label for i in q) and len(q) > 1]
        near = [float(max(probs[i] for i in q)) for q in by_question.values() if not any(pairs[i].label for i in q)]
        answerable = [float(max(probs[i] for i in q)) for q in by_question.values() if any(pairs[i].label for i in q)]
        report[source] = {
            "pairs": len(idx),
            "auc": round(float(roc_auc_score(labels, probs[idx])), 3) if 0 < labels.sum() < len(labels) else None,
            "top1": round(float(np.mean(top1)), 3) if top1 else None,
            "questions": len(top1),
            "unanswerable_max_p_median": round(float(np.median(near)), 3) if near else None,
            "answerable_max_p_median": round(float(np.median(answerable)), 3) if answerable else None,
        }
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=reader_data.DEFAULT_CACHE)
    parser.add_argument("--out", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--budget", type=int, default=8000, help="training pairs (whole questions)")
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--lr", type=float, default=4e-5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    started = time.time()
    pairs = reader_data.build(args.cache)
    train_pairs = sample([p for p in pairs if not held_out(p)], args.budget, args.seed)
    calib_pairs = sample([p for p in pairs if held_out(p)], args.budget // 4, args.seed)
    print(f"{len(pairs)} pairs; training on {len(train_pairs)}, calibrating on {len(calib_pairs)}", flush=True)
    model = train(train_pairs, args.epochs, args.batch, args.lr, args.seed)
    export(model, args.out, {"a": 1.0, "b": 0.0}, {})
    reader = Reader.load(args.out)
    logits = reader.logits([p.question for p in calib_pairs], [p.unit for p in calib_pairs])
    labels = np.array([p.label for p in calib_pairs])
    calibration = fit_platt(logits, labels)
    probs = 1 / (1 + np.exp(-(calibration["a"] * logits + calibration["b"])))
    meta = {
        "trained_pairs": reader_data.counts(train_pairs),
        "held_out_pairs": reader_data.counts(calib_pairs),
        "held_out": held_out_report(calib_pairs, probs),
        "settings": {k: v for k, v in vars(args).items() if k not in ("cache", "out")},
        "seconds": round(time.time() - started),
    }
    export(model, args.out, calibration, meta)
    print(json.dumps(meta, indent=1))


if __name__ == "__main__":
    main()
