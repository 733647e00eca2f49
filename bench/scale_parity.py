"""Does the PostgreSQL store retrieve and answer like the embedded one? hit@5 and answers on a dev set.

``python -m bench.scale_parity --store postgresql://… [--questions FILE --library DIR]``
indexes the library into both stores and writes bench/scale/parity-<name>.json.
The test ``tests/test_pgstore.py`` runs the same comparison on the news dev set.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from rag import Assistant, Settings

REPO = Path(__file__).resolve().parents[1]
NEWS = REPO.parent / "shared" / "eval" / "dev_questions.jsonl"


def hit_at(assistant: Assistant, questions: list[dict], k: int = 5) -> tuple[float, list[list[str]]]:
    """Share of answerable questions with a gold source among the top ``k`` passages, and each ranking."""
    rankings, hits, asked = [], 0, 0
    for q in questions:
        ranked = [h.chunk.doc_id for h in assistant.search(q["question"], k=k)]
        rankings.append(ranked)
        if q.get("answerable", True) and q.get("sources"):
            asked += 1
            hits += any(doc in q["sources"] for doc in ranked)
    return (hits / asked if asked else 0.0), rankings


def answers(assistant: Assistant, questions: list[dict]) -> list[dict]:
    """What the assistant answers (quotes only: no generator, so the answer depends on retrieval alone)."""
    out = []
    for q in questions:
        a = assistant.ask(q["question"])
        out.append({"answer": a.answer, "refused": a.refused,
                    "citations": [(c.doc_id, c.start, c.end) for c in a.citations]})
    return out


def parity(store_url: str, questions: list[dict], library: Path | None = None) -> dict:
    """Index ``library`` (default: the bundled articles) into SQLite and into ``store_url``; compare."""
    result: dict = {"questions": len(questions)}
    runs = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, store in (("sqlite_faiss", ""), ("postgresql_pgvector", store_url)):
            settings = Settings(home=Path(tmp) / name, corpus_dir=library, store=store, generator="none")
            assistant = Assistant(settings)
            started = time.perf_counter()
            assistant.ingest(rebuild=True)
            ingest_s = time.perf_counter() - started
            score, rankings = hit_at(assistant, questions)
            runs[name] = {"hit@5": score, "rankings": rankings, "answers": answers(assistant, questions),
                          "ingest_s": round(ingest_s, 2)}
            assistant.close()
    a, b = runs["sqlite_faiss"], runs["postgresql_pgvector"]
    same = [x == y for x, y in zip(a["answers"], b["answers"])]
    result.update({
        "hit@5": {name: round(run["hit@5"], 4) for name, run in runs.items()},
        "hit@5_difference_points": round(100 * (b["hit@5"] - a["hit@5"]), 2),
        "same_answers": sum(same),
        "different_answers": [{"question": questions[i]["question"], "sqlite_faiss": a["answers"][i]["citations"],
                               "postgresql_pgvector": b["answers"][i]["citations"]}
                              for i, s in enumerate(same) if not s],
        "same_top5_documents": sum(set(x) == set(y) for x, y in zip(a["rankings"], b["rankings"])),
        "ingest_s": {name: run["ingest_s"] for name, run in runs.items()},
    })
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True, help="postgresql:// URL of an empty database")
    parser.add_argument("--questions", type=Path, default=NEWS)
    parser.add_argument("--library", type=Path, help="corpus folder (default: the bundled articles)")
    parser.add_argument("--name", default="news")
    args = parser.parse_args()
    questions = [json.loads(line) for line in args.questions.read_text().splitlines() if line.strip()]
    result = parity(args.store, questions, args.library)
    out = REPO / "bench" / "scale" / f"parity-{args.name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "different_answers"}, indent=2))


if __name__ == "__main__":
    main()
