"""`python -m bench.calibrate_check`: fit the thresholds of `rag check` and report them held out.

The verifier measures each claim once (relevance of its best evidence
sentence, coverage of its weakest clause, and the contradictions and missing
facts it found; see ``StructuredVerifier.analyse``). Two thresholds turn
those measurements into a verdict: ``min_relevance`` and ``min_coverage``.
A third value, ``coverage_weight``, says how a clause's match is scored from
its encoder similarity and its share of words found in the cited sentence
(1.0: the better of the two; below: their weighted mean), and so what the
coverage is. All three are fitted by grid search for accuracy (supported vs
not), taking the middle of the best plateau so none sits on a single claim's
value.

What counts as right is what `bench.check_claims` asks for: an unsupported
claim not reported `supported`, a supported one reported `supported` with its
evidence in the claim's source article. A supported claim whose best
evidence sentence lies elsewhere should not be reported `supported` on it:
that verdict would rest on a sentence that does not say the claim (the worst
failure of a checker), so the fit is not rewarded for it.

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
from rag.verify.claims import CALIBRATION_FILE, SUPPORTED, Calibration
from rag.verify.support import clause_coverage

GRID = np.round(np.arange(0.20, 0.80, 0.01), 2)
WEIGHTS = np.round(np.arange(0.0, 1.01, 0.1), 1)  # coverage_weight candidates; 1.0 is the max rule


_OPENED: dict = {}  # home -> (assistant, verifier), opened once per run


def measure(claims: list[dict], home: Path | None) -> list[dict]:
    """The verifier's measurements for each claim (no thresholds applied)."""
    from rag import Assistant, Settings
    from rag.assistant.check import analyse_sentence, default_verifier

    if home not in _OPENED:
        settings = Settings.from_env().replace(home=home) if home else Settings.from_env()
        assistant = Assistant(settings)
        assistant.ensure_index()
        _OPENED[home] = (assistant, default_verifier(assistant))
    assistant, verifier = _OPENED[home]
    out = []
    for claim in claims:
        analysis, candidates, _docs = analyse_sentence(assistant, verifier, claim["claim"])
        doc = candidates[analysis["evidence"]][0].chunk.doc_id if analysis["evidence"] >= 0 else None
        out.append({**analysis, "id": claim["id"], "label": claim["label"], "source": claim["sources"][0],
                    "evidence_doc": doc})
    return out


def coverage(m: dict, weight: float) -> float:
    """The claim's coverage with clauses scored at ``weight`` (mirrors ``StructuredVerifier.analyse``)."""
    return clause_coverage(m.get("clauses", []), weight)[0] if m["evidence"] >= 0 else 0.0


def should_support(m: dict) -> bool:
    """The verdict wanted: supported only for a supported claim whose evidence is in its source."""
    return m["label"] == SUPPORTED and m.get("evidence_doc") == m["source"]


def predict(m: dict, min_relevance: float, min_coverage: float, weight: float = 1.0) -> bool:
    """Whether the verdict would be `supported` under these values (mirrors ``decide``)."""
    return (m["evidence"] >= 0 and m["relevance"] >= min_relevance and not m["contradictions"]
            and not m["missing"] and coverage(m, weight) >= min_coverage)


def accuracy(rows: list[dict], min_relevance: float, min_coverage: float, weight: float = 1.0) -> float:
    return float(np.mean([predict(m, min_relevance, min_coverage, weight) == should_support(m) for m in rows]))


def _table(rows: list[dict], weight: float) -> np.ndarray:
    """Accuracy for every (min_relevance, min_coverage) of the grid at one ``weight``."""
    eligible = np.array([m["evidence"] >= 0 and not m["contradictions"] and not m["missing"] for m in rows])
    relevance = np.array([m["relevance"] for m in rows])
    cover = np.array([coverage(m, weight) for m in rows])
    truth = np.array([should_support(m) for m in rows])
    passes = (eligible[None, None, :] & (relevance[None, None, :] >= GRID[:, None, None])
              & (cover[None, None, :] >= GRID[None, :, None]))
    return (passes == truth[None, None, :]).mean(axis=2)


def fit(rows: list[dict]) -> tuple[float, float, float]:
    """(min_relevance, min_coverage, coverage_weight) with the best accuracy; among ties, plateau middles.

    The weight is the middle of the weights that reach the best accuracy; at
    that weight, the thresholds are the middle of their plateau along each axis.
    """
    tables = {float(w): _table(rows, float(w)) for w in WEIGHTS}
    best = max(t.max() for t in tables.values())
    weights = [w for w, t in tables.items() if t.max() == best]
    weight = weights[len(weights) // 2]
    table = tables[weight]
    ri, ci = np.argwhere(table == best).T
    r_vals = sorted({GRID[i] for i in ri})
    c_vals = sorted({GRID[j] for i, j in zip(ri, ci) if GRID[i] == r_vals[len(r_vals) // 2]})
    return float(r_vals[len(r_vals) // 2]), float(c_vals[len(c_vals) // 2]), weight


def cross_validate(rows: list[dict]) -> dict:
    """Leave-one-source-article-out: fit on the other articles, score the held-out one."""
    by_source: dict[str, list[dict]] = defaultdict(list)
    for m in rows:
        by_source[m["source"]].append(m)
    right, folds = 0, {}
    for source, held in sorted(by_source.items()):
        train = [m for m in rows if m["source"] != source]
        r, c, w = fit(train)
        ok = sum(predict(m, r, c, w) == should_support(m) for m in held)
        right += ok
        folds[source] = {"claims": len(held), "right": int(ok), "min_relevance": r, "min_coverage": c,
                         "coverage_weight": w}
    return {"held_out_accuracy": round(right / len(rows), 3), "right": int(right), "of": len(rows), "folds": folds}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.calibrate_check", description=__doc__.splitlines()[0])
    parser.add_argument("claims", nargs="?", type=Path, default=CLAIMS_DEV)
    parser.add_argument("--home", type=Path, help="index home (default: RAG_HOME or ./var)")
    parser.add_argument("--out", type=Path, default=CALIBRATION_FILE)
    parser.add_argument("--dry-run", action="store_true", help="print, do not write the calibration file")
    parser.add_argument("--held-out", type=Path, action="append", default=[],
                        help="a claims file never fitted on, scored with the values fitted (repeatable)")
    args = parser.parse_args(argv)
    claims = load_claims(args.claims)
    rows = measure(claims, args.home)
    cv = cross_validate(rows)
    r, c, w = fit(rows)
    print(f"{len(rows)} claims from {args.claims.name}")
    for source, fold in cv["folds"].items():
        print(f"  held out {source}: {fold['right']}/{fold['claims']} right "
              f"(fitted min_relevance {fold['min_relevance']:.2f}, min_coverage {fold['min_coverage']:.2f}, "
              f"coverage_weight {fold['coverage_weight']:.1f})")
    print(f"leave-one-article-out accuracy: {cv['right']}/{cv['of']} = {cv['held_out_accuracy']:.0%}")
    print(f"fitted on all: min_relevance {r:.2f}, min_coverage {c:.2f}, coverage_weight {w:.1f}, "
          f"training accuracy {accuracy(rows, r, c, w):.0%} (defaults would give "
          f"{accuracy(rows, Calibration.min_relevance, Calibration.min_coverage, Calibration.coverage_weight):.0%})")
    held_out = {}
    for extra in args.held_out:
        held = measure(load_claims(extra), args.home)
        held_out[extra.name] = {"right": int(sum(predict(m, r, c, w) == should_support(m) for m in held)),
                                "of": len(held)}
        print(f"held-out set {extra.name}: {held_out[extra.name]['right']}/{len(held)} right "
              f"with the values fitted on {args.claims.name}")
    if not args.dry_run:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({
            "thresholds": {"min_relevance": r, "min_coverage": c, "coverage_weight": w},
            "fitted_on": args.claims.name,
            "claims": len(rows),
            "cross_validation": cv,
            "held_out_sets": held_out,
            "fitted_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "how": "python -m bench.calibrate_check (grid search for accuracy over both thresholds and the "
                   "clause-match weight, leave-one-source-article-out)",
        }, indent=2) + "\n")
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
