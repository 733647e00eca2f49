"""Does the reader pick the sentence that answers? A probe over the three dev sets, which it never trained on.

For every question of the news, general and PDF dev sets it takes the current build's top-5
retrieved passages, splits them into the index's own sentence units (a non-English one read
in the English rendering the index cached for it), and scores each with the reader
(``embeddings.reader``). It reports:

- for the answerable questions, how often the reader's top sentence holds every
  ``must_include`` group, beside how often the current build's first quote does (read from
  the ``rag eval`` run folders given by ``--runs``; ``make eval`` writes runs/{dev,general,pdf}),
  and how often any sentence of the five passages does (what a perfect reader reaches);
- the maximum reader probability of answerable and unanswerable questions and the AUC with
  which it tells them apart;
- the reader's time per question.

Nothing is fitted here: these sets are the yardstick.

    python -m bench.reader_probe [--runs runs] [--home var/calibrate]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench.calibrate import CORPORA, open_index  # noqa: E402
from bench.common import percentile  # noqa: E402
from embeddings.reader import Reader  # noqa: E402
from rag.core.config import PROJECT_ROOT  # noqa: E402
from rag.retrieval.index import Index  # noqa: E402
from rag.evaluation.metrics import must_include_hits  # noqa: E402
from rag.retrieval.retrieve import retrieve  # noqa: E402

DEPTH = 5  # passages read per question
RUN_FOLDERS = {"news": "dev", "general": "general", "pdf": "pdf"}  # `make eval`'s run folder per corpus


def all_questions(name: str) -> list[dict]:
    """Every question of the corpus, the unanswerable ones too."""
    lines = CORPORA[name][1].read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def units_of(index: Index, question: str) -> list[tuple[str, str]]:
    """(what the reader reads, what the hit test reads) for each sentence unit of the top-``DEPTH`` passages.

    A non-English sentence is read in the English rendering the index cached for it (the one the
    answer path shows beside its quote), and tested on both, as a quote with its translation is.
    """
    units: list[tuple[str, str]] = []
    for hit in retrieve(index, question, k=DEPTH).hits:
        chunk = hit.chunk
        for s in index.store.sentences_in(chunk.doc_id, chunk.start, chunk.end):
            english = index.cached_translation(s.text, hit.lang) if hit.lang != "en" else None
            if s.text.strip():
                units.append((english or s.text, f"{s.text}\n{english or ''}"))
    return units


def holds(text: str, groups: list) -> bool:
    return bool(groups) and all(hit is not None for hit in must_include_hits(text, groups))


def build_quotes(runs: Path, name: str) -> dict[str, str]:
    """The current build's first quote (with its translation) per question id, from a ``rag eval`` run."""
    path = runs / RUN_FOLDERS[name] / "results.jsonl"
    if not path.exists():
        return {}
    quotes = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        cites = record.get("citations") or []
        if cites and not record.get("refused"):
            quotes[record["id"]] = f"{cites[0].get('quote', '')}\n{cites[0].get('translation') or ''}"
        else:
            quotes[record["id"]] = ""
    return quotes


def auc(positive: list[float], negative: list[float]) -> float | None:
    """P(an answerable question's max probability > an unanswerable one's), ties counted half."""
    if not positive or not negative:
        return None
    wins = sum((p > n) + 0.5 * (p == n) for p in positive for n in negative)
    return wins / (len(positive) * len(negative))


def probe(index: Index, name: str, reader: Reader, quotes: dict[str, str]) -> dict:
    answerable_max, unanswerable_max, seconds, counts = [], [], [], []
    reader_hits = build_hits = reachable = graded = 0
    rows = []  # per question, so a later build's quotes can be compared without re-reading
    for q in all_questions(name):
        units = units_of(index, q["question"])
        started = time.perf_counter()
        probs = reader.score(q["question"], [read for read, _ in units])
        seconds.append(time.perf_counter() - started)
        counts.append(len(units))
        best = float(probs.max()) if len(units) else 0.0
        top = units[int(np.argmax(probs))][1] if len(units) else ""
        rows.append({"id": q["id"], "answerable": q.get("answerable", True), "max_p": round(best, 3), "top": top})
        if not q.get("answerable", True):
            unanswerable_max.append(best)
            continue
        answerable_max.append(best)
        groups = q.get("must_include") or []
        if not groups:
            continue
        graded += 1
        reader_hits += holds(top, groups)
        build_hits += holds(quotes.get(q["id"], ""), groups)
        reachable += any(holds(tested, groups) for _, tested in units)
    ms = [s * 1000 for s in seconds]
    return {
        "answerable": graded,
        "reader_top_sentence_holds": reader_hits,
        "build_first_quote_holds": build_hits if quotes else None,
        "any_sentence_holds": reachable,
        "unanswerable": len(unanswerable_max),
        "answerable_max_p_median": round(float(np.median(answerable_max)), 3) if answerable_max else None,
        "unanswerable_max_p_median": round(float(np.median(unanswerable_max)), 3) if unanswerable_max else None,
        "unanswerable_max_p": [round(p, 3) for p in sorted(unanswerable_max)],
        "auc_answerable_vs_not": None if (a := auc(answerable_max, unanswerable_max)) is None else round(a, 3),
        "units_per_question_mean": round(float(np.mean(counts)), 1),
        "reader_ms_p50": round(percentile(ms, 50), 1),
        "reader_ms_p95": round(percentile(ms, 95), 1),
        "questions": rows,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=PROJECT_ROOT / "var" / "calibrate")
    parser.add_argument("--runs", type=Path, default=PROJECT_ROOT / "runs", help="rag eval run folders")
    parser.add_argument("--reader", type=Path, default=None, help="reader folder (default: the shipped one)")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "bench" / "reader_probe.json")
    parser.add_argument("--corpus", action="append", choices=sorted(CORPORA), help="default: all three")
    args = parser.parse_args(argv)
    reader = Reader.load(args.reader) if args.reader else Reader.load()
    results = {}
    for name in args.corpus or list(CORPORA):
        index = open_index(name, args.home)
        try:
            results[name] = probe(index, name, reader, build_quotes(args.runs, name))
        finally:
            index.close()
        print(name, json.dumps({k: v for k, v in results[name].items() if k not in ("unanswerable_max_p", "questions")}),
              flush=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
