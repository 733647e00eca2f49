"""`make calibrate`: fit the retrieval weights on the dev sets, with leave-one-corpus-out validation.

For each dev corpus (the bundled news articles, the general HTML pages, the
PDF manuals) an index is built once under ``var/calibrate/``. Every
combination of the grid is scored by passage-level answer hit@3 and hit@5
(all ``must_include`` groups in the top-k retrieved passages), averaged over
corpora so a large corpus does not outvote a small one. Leave-one-corpus-out:
the values chosen without a corpus are scored on it, beside the score of the
values chosen with every corpus in; a large gap means the values were fitted
to one corpus. The chosen values are written to ``rag/data/calibration.json``
under the encoder's name.

    python -m bench.calibrate [--write]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from rag.calibration import CALIBRATION_FILE  # noqa: E402
from rag.config import PROJECT_ROOT, Settings  # noqa: E402
from rag.index import Index  # noqa: E402
from rag.metrics import answer_rank  # noqa: E402
from rag.retrieve import retrieve  # noqa: E402

SHARED = PROJECT_ROOT.parent / "shared" / "eval"
CORPORA = {  # name: (library folder or None for the bundled articles, questions file)
    "news": (None, SHARED / "dev_questions.jsonl"),
    "general": (SHARED / "general" / "corpus", SHARED / "general" / "questions.jsonl"),
    "pdf": (SHARED / "pdf" / "corpus", SHARED / "pdf" / "questions.jsonl"),
}
GRID = {
    "rrf_k": [5, 20, 60],
    "lexical_weight": [0.75, 1.0],
    "multilingual_scale": [1.3, 1.5, 1.8, 2.1, 2.5],
}
CUTOFFS = (3, 5)


def open_index(name: str, home_root: Path) -> Index:
    library, _questions = CORPORA[name]
    settings = Settings(home=home_root / name, corpus_dir=library)
    index = Index(settings)
    index.sync(progress=lambda done, total, doc: print(f"  {name}: [{done}/{total}] {doc}", file=sys.stderr)
               if doc else None)
    return index


def questions(name: str) -> list[dict]:
    rows = [json.loads(line) for line in CORPORA[name][1].read_text(encoding="utf-8").splitlines() if line.strip()]
    return [q for q in rows if q.get("answerable", True) and q.get("must_include")]


def score(index: Index, qs: list[dict], params: dict) -> float:
    """Mean of answer hit@3 and hit@5 for ``params``."""
    hits = {k: 0 for k in CUTOFFS}
    for q in qs:
        found = retrieve(index, q["question"], k=max(CUTOFFS), **params).hits
        rank = answer_rank([f"{h.chunk.text}\n{h.chunk.text_en or ''}" for h in found], q["must_include"])
        for k in CUTOFFS:
            hits[k] += rank is not None and rank <= k
    return sum(hits.values()) / (len(CUTOFFS) * len(qs))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, default=PROJECT_ROOT / "var" / "calibrate")
    parser.add_argument("--write", action="store_true", help=f"write the chosen values to {CALIBRATION_FILE}")
    parser.add_argument("--evidence-only", action="store_true", help="keep the retrieval values; fit the evidence scale")
    args = parser.parse_args(argv)
    indexes = {name: open_index(name, args.home) for name in CORPORA}
    qs = {name: questions(name) for name in CORPORA}
    if args.evidence_only:
        return write_evidence(indexes, qs, args.write)
    combos = [dict(zip(GRID, values)) for values in itertools.product(*GRID.values())]
    table = {}  # (combo index, corpus) -> score
    for i, params in enumerate(combos):
        for name in CORPORA:
            table[i, name] = score(indexes[name], qs[name], params)
        print(f"  {i + 1}/{len(combos)} {params}: " + " ".join(f"{n} {table[i, n]:.3f}" for n in CORPORA),
              file=sys.stderr)

    def best(names: list[str]) -> int:
        return max(range(len(combos)), key=lambda i: (sum(table[i, n] for n in names) / len(names), -i))

    chosen = best(list(CORPORA))
    print(f"chosen with every corpus: {combos[chosen]}")
    print(f"{'held out':10} {'with it in':>11} {'held out':>9} {'gap':>6}   values chosen without it")
    held = {}
    for name in CORPORA:
        without = best([n for n in CORPORA if n != name])
        held[name] = {"with": table[chosen, name], "held_out": table[without, name], "values": combos[without]}
        print(f"{name:10} {table[chosen, name]:11.3f} {table[without, name]:9.3f} "
              f"{table[without, name] - table[chosen, name]:+6.3f}   {combos[without]}")
    evidence_scale, evidence_held = calibrate_evidence(indexes, qs)
    print(f"evidence multilingual scale: {evidence_scale}; leave one corpus out: "
          + ", ".join(f"{n} {v['with']:.3f} -> {v['held_out']:.3f}" for n, v in evidence_held.items()))
    if args.write:
        encoder = indexes["news"].encoder.name
        data = json.loads(CALIBRATION_FILE.read_text(encoding="utf-8")) if CALIBRATION_FILE.exists() else {}
        entry = data.get(encoder, {})
        entry.update({"name": f"{encoder} (bench/calibrate.py)", **combos[chosen],
                      "evidence_multilingual_scale": evidence_scale,
                      "leave_one_corpus_out": held, "evidence_leave_one_corpus_out": evidence_held})
        data[encoder] = entry
        data["default"] = {k: v for k, v in entry.items() if "leave_one_corpus_out" not in k}
        CALIBRATION_FILE.parent.mkdir(parents=True, exist_ok=True)
        CALIBRATION_FILE.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {CALIBRATION_FILE}")
    return 0


def write_evidence(indexes: dict[str, Index], qs: dict[str, list[dict]], write: bool) -> int:
    scale, held = calibrate_evidence(indexes, qs)
    print(f"evidence multilingual scale: {scale}; leave one corpus out: "
          + ", ".join(f"{n} {v['with']:.3f} -> {v['held_out']:.3f}" for n, v in held.items()))
    if write:
        encoder = indexes["news"].encoder.name
        data = json.loads(CALIBRATION_FILE.read_text(encoding="utf-8"))
        for key in (encoder, "default"):
            data.setdefault(key, {})["evidence_multilingual_scale"] = scale
        data[encoder]["evidence_leave_one_corpus_out"] = held
        CALIBRATION_FILE.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {CALIBRATION_FILE}")
    return 0




# -- evidence: the multilingual scale for ranking single sentences ----------------------------

EVIDENCE_SCALES = [1.0, 1.2, 1.5, 1.8, 2.1]


def sentence_pool(index: Index, qs: list[dict]) -> list[tuple[list[tuple[bool, bool, float, float]], dict]]:
    """Per question: (is gold, is non-English, English-encoder cosine, multilingual cosine) of every candidate sentence."""
    import numpy as np

    from embeddings.multilingual import load_multilingual

    pools = []
    for q in qs:
        found = retrieve(index, q["question"], k=8)
        question_ml = load_multilingual().encode([q["question"]])[0]
        first_group = [alt.lower() for alt in q["must_include"][0]]
        pool = []
        for hit in found.hits:
            for s in index.sentences_in(hit.chunk.doc_id, hit.chunk.start, hit.chunk.end):
                gold = any(alt in s.text.lower() for alt in first_group)
                ml = float(np.dot(s.vector_ml, question_ml)) if s.vector_ml is not None else 0.0
                pool.append((gold, s.vector_ml is not None, float(np.dot(s.vector, found.vector)), ml))
        pools.append((pool, q))
    return pools


def evidence_score(pools, scale: float) -> float:
    """Share of questions whose best-scoring sentence holds the answer."""
    right = 0
    for pool, _q in pools:
        if not pool:
            continue
        best = max(pool, key=lambda p: scale * p[3] if p[1] else p[2])
        right += best[0]
    return right / max(1, len(pools))


def calibrate_evidence(indexes: dict[str, Index], qs: dict[str, list[dict]]) -> tuple[float, dict]:
    pools = {name: sentence_pool(indexes[name], qs[name]) for name in indexes}
    table = {(s, n): evidence_score(pools[n], s) for s in EVIDENCE_SCALES for n in pools}

    def best(names: list[str]) -> float:
        return max(EVIDENCE_SCALES, key=lambda s: (sum(table[s, n] for n in names), -s))

    chosen = best(list(pools))
    held = {n: {"with": table[chosen, n], "held_out": table[best([m for m in pools if m != n]), n]} for n in pools}
    for s in EVIDENCE_SCALES:
        print(f"  evidence scale {s}: " + " ".join(f"{n} {table[s, n]:.3f}" for n in pools), file=sys.stderr)
    return chosen, held


if __name__ == "__main__":
    raise SystemExit(main())
