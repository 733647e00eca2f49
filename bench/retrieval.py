"""Passage-level answer hit@1/3/5 on the three dev corpora, without the answer model.

Opens (building once) the calibration indexes under ``var/calibrate`` and scores a
retrieval configuration; ``--misses`` lists every question not answered in the top 5
with the rank (to depth 20) of the first passage that holds the answer.

    python -m bench.retrieval [--misses] [--corpus general] [--set rrf_k=5 ...]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from bench.calibrate import CORPORA, open_index, questions
from rag.core.config import PROJECT_ROOT
from rag.evaluation.metrics import answer_rank
from rag.retrieval.retrieve import retrieve

CUTOFFS = (1, 3, 5)


def _texts(hits) -> list[str]:
    return [f"{h.chunk.text}\n{h.chunk.text_en or ''}" for h in hits]


def evaluate(index, qs, params: dict, misses: bool = False) -> dict[int, float]:
    hits = {k: 0 for k in CUTOFFS}
    for q in qs:
        found = retrieve(index, q["question"], k=20 if misses else max(CUTOFFS), **params).hits
        rank = answer_rank(_texts(found[:max(CUTOFFS)]), q["must_include"])
        for k in CUTOFFS:
            hits[k] += rank is not None and rank <= k
        if misses and (rank is None or rank > 3):
            deep = answer_rank(_texts(found), q["must_include"])
            print(f"\n--- rank@5 {rank} rank@20 {deep}: {q['question']}\n    must: {q['must_include']}")
            for i, h in enumerate(found[:5]):
                print(f"    {i + 1}. [{h.chunk.doc_id} | {h.chunk.section[:60]}] d={h.dense and round(h.dense, 3)} "
                      f"l={h.lexical and round(h.lexical, 2)} {h.chunk.text[:110]!r}")
            if deep:
                h = found[deep - 1]
                print(f"    ANSWER {deep}. [{h.chunk.doc_id} | {h.chunk.section[:60]}] d={h.dense and round(h.dense, 3)} "
                      f"l={h.lexical and round(h.lexical, 2)} {h.chunk.text[:300]!r}")
    return {k: hits[k] / len(qs) for k in CUTOFFS}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, default=PROJECT_ROOT / "var" / "calibrate")
    parser.add_argument("--corpus", action="append", choices=list(CORPORA))
    parser.add_argument("--misses", action="store_true")
    parser.add_argument("--set", action="append", default=[], help="name=value retrieval parameter")
    args = parser.parse_args(argv)
    params = {}
    for item in args.set:
        name, value = item.split("=", 1)
        params[name] = float(value) if "." in value else int(value)
    for name in args.corpus or list(CORPORA):
        t = time.time()
        index = open_index(name, args.home)
        qs = questions(name)
        scores = evaluate(index, qs, params, args.misses)
        print(f"{name:8} n={len(qs):3} " + " ".join(f"hit@{k} {v:.3f} ({round(v * len(qs))})" for k, v in scores.items())
              + f"  [{time.time() - t:.0f}s]")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
