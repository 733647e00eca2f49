"""`python -m bench.calibrate_check`: fit the thresholds of `rag check` and report them held out.

The verifier measures each claim once (relevance of its best evidence
sentence, coverage of its weakest clause, and the contradictions and missing
facts it found; see ``StructuredVerifier.analyse``). Two thresholds turn
those measurements into a verdict: ``min_relevance`` and ``min_coverage``.
They are fitted by grid search for accuracy (supported vs not), taking the
middle of the best plateau so neither sits on a single claim's value.

Cross-validation leaves one source article out at a time: thresholds fitted on
the claims about the other articles label the held-out article's claims, so
the printed held-out accuracy is what a new article can expect. The values
fitted on all claims are written to rag/data/check_calibration.json, which
the verifier reads.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from bench.check_claims import CLAIMS_DEV, load_claims
from rag.support import CALIBRATION_FILE, SUPPORTED, Calibration

GRID = np.round(np.arange(0.20, 0.80, 0.01), 2)


def measure(claims: list[dict], home: Path | None) -> list[dict]:
    """The verifier's measurements for each claim (no thresholds applied)."""
    from rag import Assistant, Settings
    from rag.check import analyse_sentence, default_verifier

    settings = Settings.from_env().replace(home=home) if home else Settings.from_env()
    assistant = Assistant(settings)
    assistant.ensure_index()
    verifier = default_verifier(assistant)
    out = []
    for claim in claims:
        analysis, candidates, _docs = analyse_sentence(assistant, verifier, claim["claim"])
        doc = candidates[analysis["evidence"]][0].chunk.doc_id if analysis["evidence"] >= 0 else None
        out.append({**analysis, "id": claim["id"], "label": claim["label"], "source": claim["sources"][0],
                    "evidence_doc": doc})
    return out


def predict(m: dict, min_relevance: float, min_coverage: float) -> bool:
    """Whether the verdict would be `supported` under these thresholds (mirrors ``decide``)."""
    return (m["evidence"] >= 0 and m["relevance"] >= min_relevance and not m["contradictions"]
            and not m["missing"] and m["coverage"] >= min_coverage)


def accuracy(rows: list[dict], min_relevance: float, min_coverage: float) -> float:
    return float(np.mean([predict(m, min_relevance, min_coverage) == (m["label"] == SUPPORTED) for m in rows]))


def fit(rows: list[dict]) -> tuple[float, float]:
    """The thresholds with the best accuracy; among ties, the middle of the plateau along each axis."""
    table = np.array([[accuracy(rows, r, c) for c in GRID] for r in GRID])
    best = table.max()
    ri, ci = np.argwhere(table == best).T
    # the middle of the plateau, taken per axis around the lowest-threshold optimum
    r_vals = sorted({GRID[i] for i in ri})
    c_vals = sorted({GRID[j] for i, j in zip(ri, ci) if GRID[i] == r_vals[len(r_vals) // 2]})
    return float(r_vals[len(r_vals) // 2]), float(c_vals[len(c_vals) // 2])


def cross_validate(rows: list[dict]) -> dict:
    """Leave-one-source-article-out: fit on the other articles, score the held-out one."""
    by_source: dict[str, list[dict]] = defaultdict(list)
    for m in rows:
        by_source[m["source"]].append(m)
    right, folds = 0, {}
    for source, held in sorted(by_source.items()):
        train = [m for m in rows if m["source"] != source]
        r, c = fit(train)
        ok = sum(predict(m, r, c) == (m["label"] == SUPPORTED) for m in held)
        right += ok
        folds[source] = {"claims": len(held), "right": int(ok), "min_relevance": r, "min_coverage": c}
    return {"held_out_accuracy": round(right / len(rows), 3), "right": int(right), "of": len(rows), "folds": folds}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.calibrate_check", description=__doc__.splitlines()[0])
    parser.add_argument("claims", nargs="?", type=Path, default=CLAIMS_DEV)
    parser.add_argument("--home", type=Path, help="index home (default: RAG_HOME or ./var)")
    parser.add_argument("--out", type=Path, default=CALIBRATION_FILE)
    parser.add_argument("--dry-run", action="store_true", help="print, do not write the calibration file")
    args = parser.parse_args(argv)
    claims = load_claims(args.claims)
    rows = measure(claims, args.home)
    cv = cross_validate(rows)
    r, c = fit(rows)
    print(f"{len(rows)} claims from {args.claims.name}")
    for source, fold in cv["folds"].items():
        print(f"  held out {source}: {fold['right']}/{fold['claims']} right "
              f"(fitted min_relevance {fold['min_relevance']:.2f}, min_coverage {fold['min_coverage']:.2f})")
    print(f"leave-one-article-out accuracy: {cv['right']}/{cv['of']} = {cv['held_out_accuracy']:.0%}")
    print(f"fitted on all: min_relevance {r:.2f}, min_coverage {c:.2f}, "
          f"training accuracy {accuracy(rows, r, c):.0%} (defaults would give "
          f"{accuracy(rows, Calibration.min_relevance, Calibration.min_coverage):.0%})")
    if not args.dry_run:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({
            "thresholds": {"min_relevance": r, "min_coverage": c},
            "fitted_on": args.claims.name,
            "claims": len(rows),
            "cross_validation": cv,
            "fitted_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "how": "python -m bench.calibrate_check (grid search for accuracy, leave-one-source-article-out)",
        }, indent=2) + "\n")
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
