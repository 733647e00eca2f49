"""`python -m bench` (`make bench`): every benchmark, written to bench/results.json and docs/benchmarks.md.

Sections (``--only`` picks some): encoding throughput, full ingest, retrieval quality and
latency, end-to-end answers, server memory, and the vector index at 1M vectors.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import datetime, timezone

from bench.common import REPO, machine

SECTIONS = ("extraction", "encode", "ingest", "retrieval", "answers", "memory", "vectors")
RESULTS = REPO / "bench" / "results.json"
REPORT = REPO / "docs" / "benchmarks.md"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=SECTIONS, help="run only these sections")
    parser.add_argument("--texts", type=int, default=3000, help="texts for the encoding throughput (default 3000)")
    parser.add_argument("--encode-budget", type=float, default=180.0,
                        help="stop the encoding rounds after this many seconds (all backends see the same texts)")
    parser.add_argument("--vectors", type=int, default=1_000_000, help="synthetic vectors for the index benchmark")
    parser.add_argument("--backends", nargs="+", default=["torch", "onnx", "onnx-int8"])
    parser.add_argument("--no-write", action="store_true", help="print only; leave results.json and the report alone")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    sections = args.only or list(SECTIONS)
    backends = args.backends if "torch" in args.backends else ["torch", *args.backends]

    from bench import answers, encoders, extraction, vectors
    from embeddings.encoder import DEFAULT_BACKEND, selected_backend

    started = time.perf_counter()
    results: dict = {"started": datetime.now(timezone.utc).isoformat(timespec="seconds"), "machine": machine(),
                     "command": "make bench  # = HF_HUB_OFFLINE=1 .venv/bin/python -m bench " + " ".join(argv or sys.argv[1:]),
                     "default_backend": DEFAULT_BACKEND, "sections": {}}
    out = results["sections"]

    def step(name: str, fn, *fn_args, **kwargs):
        print(f"[bench] {name} ...", flush=True)
        t0 = time.perf_counter()
        value = fn(*fn_args, **kwargs)
        print(f"[bench] {name}: {time.perf_counter() - t0:.0f} s\n{json.dumps(value, indent=1, default=str)}", flush=True)
        out.setdefault("seconds", {})[name] = round(time.perf_counter() - t0, 1)
        return value

    if "extraction" in sections:
        out["extraction"] = step("extraction", extraction.run)
    if "encode" in sections:
        out["encode"] = step("encode", encoders.throughput, backends, args.texts, args.encode_budget)
    if "ingest" in sections:
        out["ingest"] = step("ingest", encoders.full_ingest, backends)
    homes = None
    if {"retrieval", "answers", "memory"} & set(sections):
        built = step("build indexes", encoders.build_indexes, backends)
        homes = built.pop("homes")
        out["build"] = built
    if "retrieval" in sections:
        out["retrieval"] = step("retrieval", encoders.quality_and_latency, homes)
    chosen = selected_backend()
    pair = {b: homes[b] for b in dict.fromkeys(["torch", chosen, "onnx-int8"]) if homes and b in homes}
    if "answers" in sections:
        out["answers"] = step("answers", answers.answer_latency, pair)
    if "memory" in sections:
        out["memory"] = {b: step(f"memory {b}", answers.server_memory, home, b) for b, home in pair.items()}
    if "vectors" in sections:
        out["vectors"] = step("vectors", vectors.run, args.vectors)
    results["wall_s"] = round(time.perf_counter() - started, 1)
    results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(f"[bench] done in {results['wall_s']:.0f} s", flush=True)
    if args.only and RESULTS.exists():  # a partial run keeps the other sections of the last full one
        earlier = json.loads(RESULTS.read_text())
        merged = {**earlier.get("sections", {}), **out}
        merged["seconds"] = {**earlier.get("sections", {}).get("seconds", {}), **out.get("seconds", {})}
        results["sections"] = merged
    if not args.no_write:
        RESULTS.write_text(json.dumps(results, indent=1, default=str) + "\n")
        REPORT.parent.mkdir(parents=True, exist_ok=True)
        REPORT.write_text(report(results))
        print(f"[bench] wrote {RESULTS.relative_to(REPO)} and {REPORT.relative_to(REPO)}")
    return 0


def report(results: dict) -> str:
    from bench.report import render

    return render(results)


if __name__ == "__main__":
    raise SystemExit(main())
