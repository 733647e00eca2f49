"""Fit the weight of the reader's probability in the evidence score, with leave-one-corpus-out validation.

The candidates of every answerable dev question are collected as ``bench.calibrate_evidence`` collects
them (the calibrated hubness weight and focus cap), the best ``READ_CANDIDATES`` with the reader's
probability (``rag.answer.read``). Every other weight stays as fitted; the reader's weight is the one of
``READER_WEIGHTS`` with the best evidence@3, then evidence@1, then answer rank, averaged over the
corpora so each counts the same, under the calibrated keep ratio; of tied values the smallest (a
reader that changes nothing is not used). Leave-one-corpus-out: the weight chosen without a corpus
is scored on it, beside weight 0 (no reader) and the weight chosen with every corpus in.

    python -m bench.calibrate_reader [--feature reader|counted] [--cache var/evidence-candidates.pkl] [--write]

``--feature counted`` fits the weight of ``counted`` (a number of what a quantity question counts) the same way.

Then refit ``min_relevance`` on the new scores: ``python -m bench.calibrate --relevance-only --write``.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402

from bench.calibrate_evidence import (  # noqa: E402
    TOP, Question, answer_mrr, averaged, cached_collect, capped, evidence_at, feature_names, update_calibration,
)
from bench.calibrate import READING_CORPORA  # noqa: E402
from rag.core.calibration import CALIBRATION_FILE, calibrated_evidence  # noqa: E402
from rag.core.config import PROJECT_ROOT  # noqa: E402

READER_WEIGHTS = [0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.6, 0.8]
# The features fitted this way, one at a time with every other weight fixed, and the weights tried: the reader's
# probability, and ``counted`` (a number of what a quantity question counts), which sits on the same scale.
FEATURE_WEIGHTS = {"reader": READER_WEIGHTS, "counted": [0.0, 0.1, 0.2, 0.3]}


def metric(questions: list[Question], reader: float, feature: str = "reader") -> tuple[float, float, float]:
    """Evidence@3, evidence@1 and answer MRR under the calibrated weights with ``reader`` as ``feature``'s weight."""
    calibration = calibrated_evidence()
    w = np.array([{**calibration.weights, feature: reader}.get(n, 0.0) for n in feature_names()])
    return (averaged(questions, lambda part: evidence_at(part, w, TOP, calibration.keep_ratio)),
            averaged(questions, lambda part: evidence_at(part, w, 1, calibration.keep_ratio)),
            averaged(questions, lambda part: answer_mrr(part, w)))


def best_weight(questions: list[Question], feature: str = "reader") -> float:
    values = FEATURE_WEIGHTS[feature]
    tried = {w: metric(questions, w, feature) for w in values}
    top = max(tried.values())
    return min(w for w in values if tried[w] == top)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, default=PROJECT_ROOT / "var" / "calibrate")
    parser.add_argument("--write", action="store_true", help=f"write the fitted weight to {CALIBRATION_FILE}")
    parser.add_argument("--corpus", action="append", choices=list(READING_CORPORA),
                        help="fit on these corpora only (repeat; default: all of them)")
    parser.add_argument("--feature", choices=list(FEATURE_WEIGHTS), default="reader", help="the weight to fit")
    parser.add_argument("--cache", type=Path, default=None, help="keep the collected candidates in this pickle")
    args = parser.parse_args(argv)
    calibration = calibrated_evidence()
    questions = capped(cached_collect(args.cache, args.home, calibration.hub_weight, read=True, corpora=args.corpus),
                       calibration.focus_max)
    feature = args.feature
    chosen = best_weight(questions, feature)
    print(f"{feature} weight fitted on every corpus: {chosen}")
    print(f"{'corpus':10} {'weight':>6} {'weight 0':>10} {'with it in':>11} {'held out':>9}   (evidence@{TOP}, @1)")
    held = {}
    for corpus in sorted({q.corpus for q in questions}):
        without = best_weight([q for q in questions if q.corpus != corpus], feature)
        mine = [q for q in questions if q.corpus == corpus]
        row = {"weight": without, "questions": len(mine), "no_reader": metric(mine, 0.0, feature)[:2],
               "with": metric(mine, chosen, feature)[:2], "held_out": metric(mine, without, feature)[:2]}
        held[corpus] = row
        print(f"{corpus:10} {without:6.2f} " + " ".join(f"{row[k][0]:.3f}/{row[k][1]:.3f}".rjust(width) for k, width in
                                                          (("no_reader", 10), ("with", 11), ("held_out", 9))))
    if args.write:
        def change(data: dict) -> None:
            data["evidence"]["weights"][feature] = chosen
            data["evidence"][f"{feature}_fit"] = {"name": "bench/calibrate_reader.py", "weights_tried":
                                                  FEATURE_WEIGHTS[feature], "leave_one_corpus_out": held}
        update_calibration(change)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
