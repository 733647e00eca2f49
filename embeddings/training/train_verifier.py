"""Train the support model (``embeddings/verifier.py``) on the CPU from rule-made claims.

``make train-verifier`` runs this from scratch: the training packages are fetched, claims are made
from every package but the held-out one (``HOLDOUT``) plus the news articles, MiniLM's upper layers
and a three-label head are trained for one pass over a seeded sample, and the temperature is fitted
on claims made from the held-out package, where the per-edit accuracy is measured too. One thread,
so the machine stays usable; the run stops early at ``--minutes`` and says so in the provenance.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from collections import Counter
from pathlib import Path

import numpy as np
import torch

from embeddings.training.claims_data import (NEWS, Document, Example, article_documents, balanced_sample, build,
                                             counts, package_documents)
from embeddings.training.debian import DEFAULT_CACHE, TRAINING_PACKAGES
from embeddings.verifier import (CONTRADICTED, LABELS, MODEL_DIR, NOT_FOUND, SUPPORTED, Verifier, base_model, freeze,
                                 save, softmax)

HOLDOUT = "debian-faq"  # the package the temperature and the per-edit accuracy are measured on
NEWS_PASSES = 6  # the news articles are few but the prose claims are like: each pass edits them anew
PACKAGE_PASSES = 2  # each pass edits the packages anew: the scarce edit types (date, unit, speaker) gain most
PACE_STEPS = 30  # steps timed before the plan is cut to what fits the time budget
TEMPERATURES = np.exp(np.linspace(math.log(0.2), math.log(5.0), 161))


def package_version(package: str, cache: Path) -> str:
    """The version in the .deb file name the package was unpacked from ("" when it is not there)."""
    debs = sorted(cache.glob(f"{package}_*.deb"))
    return debs[-1].name.split("_")[1].replace("%3a", ":") if debs else ""


def batches(examples: list[Example], size: int, rng: random.Random) -> list[list[Example]]:
    """Batches of similar length (less padding, a faster step), in random order."""
    order = examples[:]
    rng.shuffle(order)
    out = []
    for i in range(0, len(order), size * 50):
        pool = sorted(order[i:i + size * 50], key=lambda e: len(e.claim) + len(e.evidence))
        out += [pool[j:j + size] for j in range(0, len(pool), size)]
    rng.shuffle(out)
    return out


def train(verifier: Verifier, examples: list[Example], args: argparse.Namespace) -> dict:
    """One pass of AdamW with linear warm-up and decay, over as many batches as fit ``--minutes``.

    The first ``PACE_STEPS`` steps are timed and the plan is cut to the steps the measured pace fits in
    the budget (15 % to spare), so the learning-rate schedule runs to its end rather than being
    cut off; the budget still stops a run whose machine slows down later."""
    model, tokenizer = verifier.cross_encoder.model, verifier.cross_encoder.tokenizer
    freeze(model)
    params = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01)
    plan = batches(examples, args.batch, random.Random(args.seed))
    planned = len(plan)
    warm = max(1, len(plan) // 16)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda step: min((step + 1) / warm, max(0.0, (len(plan) - step) / (len(plan) - warm))))
    model.train()
    started, seen, losses = time.monotonic(), 0, []
    for step, batch in enumerate(plan):
        if time.monotonic() - started > args.minutes * 60:
            break
        if step == PACE_STEPS:
            pace = step / (time.monotonic() - started)
            fits = int(pace * args.minutes * 60 * 0.85)
            del plan[max(fits, step + 1):]
            warm = min(warm, max(1, len(plan) // 16))
            print(f"pace {pace * 60:.1f} steps/min: {len(plan)} of {planned} planned steps fit", flush=True)
        inputs = tokenizer([e.claim for e in batch], [e.evidence for e in batch], padding=True,
                           truncation="longest_first", max_length=verifier.cross_encoder.max_seq_length,
                           return_tensors="pt")
        loss = model(**inputs, labels=torch.tensor([e.label for e in batch])).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimiser.step()
        schedule.step()
        optimiser.zero_grad()
        seen += len(batch)
        losses.append(loss.item())
        if step % 25 == 0:
            print(f"step {step}/{len(plan)} loss {np.mean(losses[-25:]):.3f} "
                  f"{time.monotonic() - started:.0f}s", flush=True)
    model.eval()
    return {"steps": len(losses), "planned_steps": planned, "fitted_steps": len(plan), "examples_seen": seen,
            "minutes": round((time.monotonic() - started) / 60, 1), "final_loss": round(float(np.mean(losses[-50:])), 3)}


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature with the lowest negative log-likelihood on held-out claims."""
    def nll(t: float) -> float:
        p = softmax(logits / t)
        return float(-np.mean(np.log(p[np.arange(len(labels)), labels] + 1e-12)))
    return float(min(TEMPERATURES, key=nll))


def held_out_report(examples: list[Example], probabilities: np.ndarray) -> dict:
    """Accuracy per edit type, and how often an edited claim is called supported."""
    predicted = probabilities.argmax(axis=1)
    right, total, called_supported = Counter(), Counter(), Counter()
    for e, p in zip(examples, predicted):
        key = f"{LABELS[e.label]}:{e.edit}"
        total[key] += 1
        right[key] += int(p == e.label)
        called_supported[key] += int(p == SUPPORTED)
    per_edit = {k: {"n": total[k], "accuracy": round(right[k] / total[k], 3),
                    "called_supported": round(called_supported[k] / total[k], 3)} for k in sorted(total)}
    return {"n": len(examples), "accuracy": round(float(np.mean(predicted == [e.label for e in examples])), 3),
            "per_edit": per_edit}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="train the claim verifier on rule-made claims")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="where the training .debs are unpacked")
    parser.add_argument("--examples", type=int, default=16000, help="training pairs (a seeded sample)")
    parser.add_argument("--held-out", type=int, default=900, help="calibration pairs from the held-out package")
    parser.add_argument("--minutes", type=float, default=50.0, help="stop training after this long")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--lr", type=float, default=8e-5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--supported-share", type=float, help="the share of supported pairs in the package "
                        "sample (default: a third; the other two labels split the rest)")
    parser.add_argument("--out", type=Path, default=MODEL_DIR)
    parser.add_argument("--init", type=Path, help="start from this trained verifier folder rather than MiniLM "
                        "(a second pass on a fresh sample, when one budget is too short for the machine)")
    parser.add_argument("--compare", type=Path, help="a verifier folder also measured on the same held-out pairs")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    started = time.monotonic()
    sources: dict[str, list[Document]] = {p: package_documents(p, args.cache) for p in TRAINING_PACKAGES}
    sources[NEWS] = article_documents()
    rng = random.Random(args.seed)
    pool = list({(e.claim, e.evidence): e for name, docs in sources.items() if name not in (HOLDOUT, NEWS)
                 for k in range(PACKAGE_PASSES) for e in build(docs, args.seed + 100 * k)}.values())
    news = list({(e.claim, e.evidence): e for k in range(NEWS_PASSES) for e in build(sources[NEWS], args.seed + k)}
                .values())  # all of them go in; the packages fill the rest of the sample
    shares = None
    if args.supported_share is not None:
        rest = (1.0 - args.supported_share) / 2
        shares = {SUPPORTED: args.supported_share, CONTRADICTED: rest, NOT_FOUND: rest}
    training = news + balanced_sample(pool, max(0, args.examples - len(news)), rng, shares)
    rng.shuffle(training)
    held = build(sources[HOLDOUT], args.seed + 1)
    held = rng.sample(held, min(args.held_out, len(held)))
    print(f"{len(training)} training pairs of {len(pool)}, {len(held)} held out", flush=True)
    verifier = Verifier.load(args.init) if args.init else Verifier(base_model())
    run = train(verifier, training, args)
    logits = verifier.logits([e.claim for e in held], [e.evidence for e in held])
    labels = np.array([e.label for e in held])
    temperature = fit_temperature(logits, labels)
    report = held_out_report(held, softmax(logits / temperature))
    provenance = {
        "packages": {p: package_version(p, args.cache) for p in TRAINING_PACKAGES},
        "articles": [d.doc_id for d in sources[NEWS]], "held_out_package": HOLDOUT,
        "seed": args.seed, "supported_share": args.supported_share, "training": counts(training), "held_out": report, "run": run,
        "initialised_from": json.loads((args.init / "config.json").read_text())["run"] | {"seed": json.loads(
            (args.init / "config.json").read_text())["seed"]} if args.init else "all-MiniLM-L6-v2",
        "total_minutes": round((time.monotonic() - started) / 60, 1),
    }
    if args.compare:  # the same pairs, the other model with its own temperature
        other = Verifier.load(args.compare)
        p = softmax(other.logits([e.claim for e in held], [e.evidence for e in held]) / other.temperature)
        provenance["compared"] = {"model": str(args.compare), **held_out_report(held, p)}
        print(json.dumps({"compared_accuracy": provenance["compared"]["accuracy"]}), flush=True)
    save(verifier.cross_encoder.model, temperature, provenance, args.out)
    print(json.dumps({"temperature": temperature, "run": run, "held_out_accuracy": report["accuracy"]}, indent=1))


if __name__ == "__main__":
    main()
