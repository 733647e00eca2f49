"""Where one answer's time goes, stage by stage: plan, retrieve, evidence (with the reader), refuse, lead
(with its generation and verification), compose, and each encoder's calls.

Each code tree given (``--tree``, e.g. main's checkout, then this one) answers the same questions
of one home in its own process, one tree after the other in one run, so that load hits both alike;
the stages are timed by wrapping the functions the answerer calls (a stage inside another is timed
inside it too: "lead" holds "generate" and "verify"). With ``--cprofile`` the first tree's process also
prints the functions that took longest (cProfile, so Python-heavy code looks slower than it is).

``python -m bench.answer_steps QUESTIONS --home DIR [--library DIR] --tree /work/main --tree . [--limit N]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from bench.scale import REPO, log

PROBE = r"""
import cProfile, io, json, pstats, sys, time
from rag import Settings
from rag.assistant.pipeline import Assistant
import rag.answer.answerer as A, rag.answer.evidence as E, rag.answer.lead as LD, rag.answer.compose as C
import rag.answer.verifier as V

home, library, questions, profile = sys.argv[1], sys.argv[2] or None, json.loads(sys.argv[3]), sys.argv[4] == "1"
assistant = Assistant(Settings(home=home, corpus_dir=library) if library else Settings(home=home))
current, depth = {}, {}

def timed(name, fn):
    def wrapper(*args, **kwargs):
        depth[name] = depth.get(name, 0) + 1
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            depth[name] -= 1
            if not depth[name]:  # a stage calling itself (a verifier wrapping another) counts once
                current[name] = current.get(name, 0.0) + time.perf_counter() - started
    return wrapper

def patch(owner, attribute, name):
    if hasattr(owner, attribute):
        setattr(owner, attribute, timed(name, getattr(owner, attribute)))

assistant.warm_up()
for owner, attribute, name in ((A, "make_plan", "plan"), (A, "retrieve", "retrieve"), (A, "select_evidence", "evidence"),
                               (E, "answer_probabilities", "reader"), (A, "refusal_reason", "refuse"),
                               (A, "with_translations", "translate"), (LD, "verified_lead", "lead"),
                               (LD, "generate_lead", "generate"),
                               (C, "citations", "compose"), (C, "statements", "compose"), (C, "new_answer", "compose")):
    patch(owner, attribute, name)
for verifier in {type(v) for v in vars(V).values() if isinstance(v, type) and hasattr(v, "support")}:
    patch(verifier, "support", "verify")
patch(assistant.index.encoder.encoder, "encode", "encode English")
patch(assistant.index.multilingual_encoder.encoder, "encode", "encode multilingual")
profiler = cProfile.Profile() if profile else None
rows, texts = [], []
for question in questions:
    current.clear()
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    answer = assistant.ask(question)
    if profiler:
        profiler.disable()
    current["total"] = time.perf_counter() - started
    rows.append(dict(current))
    texts.append(answer.answer)
if profiler:
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(60)
    print(out.getvalue(), file=sys.stderr)
print(json.dumps({"rows": rows, "answers": texts}))
"""


def run(tree: Path, home: Path, library: Path | None, questions: list[str], profile: bool) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree.resolve()), "HF_HUB_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-c", PROBE, str(home), str(library or ""), json.dumps(questions),
                          "1" if profile else "0"], capture_output=True, text=True, env=env, check=False,
                         cwd=tree.resolve())  # python -c puts the working folder first on the path
    if out.returncode:
        raise SystemExit(out.stderr[-3000:])
    if profile:
        print(out.stderr[-12000:], file=sys.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def summary(rows: list[dict]) -> dict:
    names = sorted({name for row in rows for name in row} - {"total"}) + ["total"]
    return {name: {"p50_ms": round(float(np.percentile([r.get(name, 0.0) * 1000 for r in rows], 50)), 1),
                   "mean_ms": round(float(np.mean([r.get(name, 0.0) * 1000 for r in rows])), 1)} for name in names}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("questions", type=Path)
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--library", type=Path)
    parser.add_argument("--tree", type=Path, action="append")
    parser.add_argument("--limit", type=int)
    parser.add_argument("--cprofile", action="store_true")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    lines = [json.loads(line) for line in args.questions.read_text().splitlines() if line.strip()]
    questions = [line["question"] for line in lines][: args.limit]
    result: dict = {"questions": len(questions), "home": str(args.home), "trees": {}}
    for i, tree in enumerate(args.tree or [REPO]):
        before = os.getloadavg()[0]
        found = run(tree, args.home.resolve(), args.library and args.library.resolve(), questions, args.cprofile and i == 0)
        label = str(tree.resolve())
        result["trees"][label] = {"load_average": [round(before, 2), round(os.getloadavg()[0], 2)],
                                  "stages": summary(found["rows"]), "answers": found["answers"]}
        log(f"{label} (load {before:.2f} -> {os.getloadavg()[0]:.2f}), {len(questions)} questions:")
        for name, value in result["trees"][label]["stages"].items():
            log(f"    {name:22s} p50 {value['p50_ms']:9.1f}  mean {value['mean_ms']:9.1f} ms")
    answers = [t["answers"] for t in result["trees"].values()]
    if len(answers) > 1:
        result["answers_identical"] = sum(a == b for a, b in zip(answers[0], answers[-1]))
        log(f"answers identical, first tree vs last: {result['answers_identical']} / {len(questions)}")
    if args.out:
        args.out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
