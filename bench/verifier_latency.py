"""`rag check` milliseconds per sentence, the rules alone beside rules + trained verifier, in one run.

Every sentence of the claims sets (or an even spread of ``--sentences`` of them) is checked twice
in the same process, once without the model (``VerifierCalibration()``: what `rag check` did
before it) and once with the fitted thresholds, the order alternating from sentence to sentence so
a change of machine load, and the first reading of a sentence, hit both alike. One sentence is
checked both ways first, so the models' loading is not timed.

    python -m bench.verifier_latency [--home var] [--sentences N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from bench.check_claims import CLAIMS_DEV, CLAIMS_EXTRA, load_claims
from embeddings.verifier import load_verifier
from rag import Assistant, Settings
from rag.assistant.check import check_sentence, default_verifier, split_text
from rag.core.calibration import VerifierCalibration, calibrated_verifier
from rag.verify.model import ModelCheck


def timed(assistant, judge: ModelCheck, sentence: str) -> float:
    started = time.perf_counter()
    check_sentence(assistant, judge.rules, sentence, judge=judge)
    return (time.perf_counter() - started) * 1000


def summary(times: list[float]) -> dict:
    return {"n": len(times), "p50_ms": round(statistics.median(times), 1),
            "p90_ms": round(float(np.percentile(times, 90)), 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.verifier_latency", description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, help="index home of the news articles (default: RAG_HOME or ./var)")
    parser.add_argument("--sentences", type=int, help="an even spread of this many sentences (default: all)")
    args = parser.parse_args(argv)
    settings = Settings.from_env().replace(home=args.home) if args.home else Settings.from_env()
    assistant = Assistant(settings)
    assistant.ensure_index()
    rules = default_verifier(assistant)
    ways = {"rules": ModelCheck(rules, VerifierCalibration()), "rules+model": ModelCheck(rules, calibrated_verifier())}
    claims = load_claims(CLAIMS_DEV) + load_claims(CLAIMS_EXTRA)
    sentences = [" ".join(c["claim"][s:e].split()) for c in claims for s, e in split_text(c["claim"])]
    if args.sentences and args.sentences < len(sentences):
        sentences = [sentences[round(i * len(sentences) / args.sentences)] for i in range(args.sentences)]
    load_verifier()  # the trained model loaded (once per process) before the clock matters
    for judge in ways.values():  # and the encoders
        timed(assistant, judge, "Miners moved their machines abroad.")
    times: dict[str, list[float]] = {name: [] for name in ways}
    for n, sentence in enumerate(sentences):
        order = list(ways) if n % 2 == 0 else list(reversed(ways))
        for name in order:
            times[name].append(timed(assistant, ways[name], sentence))
    report = {name: summary(t) for name, t in times.items()}
    report["ratio_p50"] = round(report["rules+model"]["p50_ms"] / report["rules"]["p50_ms"], 2)
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
