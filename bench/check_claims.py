"""`python -m bench.check_claims`: how well `rag check` labels claims with a known answer.

For each claim of a claims file (default ../shared/eval/claims_dev.jsonl, and
tests/data/claims_extra.jsonl, the held-out claims written for this project)
it runs the check and counts:

- overall: supported claims reported `supported`, unsupported ones reported anything else;
- unsupported caught: unsupported claims not reported `supported`;
- supported cited: supported claims reported `supported` with a citation into a gold source.

``--cli`` runs the real command, `rag check --json CLAIM`, once per claim (slow:
the models load every time); by default the same code runs in one process.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from bench.common import REPO

CLAIMS_DEV = REPO.parent / "shared" / "eval" / "claims_dev.jsonl"
CLAIMS_EXTRA = REPO / "tests" / "data" / "claims_extra.jsonl"


def load_claims(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def score(claims: list[dict], results: list[dict]) -> dict:
    """The three figures of the issue, with the ids of the claims that missed."""
    right, caught, cited = [], [], []
    wrong: list[str] = []
    for claim, result in zip(claims, results):
        verdict = result["verdict"]
        supported = claim["label"] == "supported"
        ok = (verdict == "supported") == supported
        right.append(ok)
        if not ok:
            wrong.append(f"{claim['id']} ({claim['label']}/{claim.get('edit', '')}) -> {verdict}: {result['reason']}")
        if supported:
            gold = set(claim.get("sources", []))
            cited.append(verdict == "supported" and any(c["doc_id"] in gold for c in result["citations"]))
        else:
            caught.append(verdict != "supported")
    return {
        "claims": len(claims),
        "overall": _share(right),
        "unsupported_not_supported": _share(caught),
        "supported_with_gold_citation": _share(cited),
        "misses": wrong,
    }


def _share(values: list[bool]) -> dict:
    return {"right": sum(values), "of": len(values), "share": round(sum(values) / len(values), 3) if values else None}


def run_in_process(claims: list[dict], home: Path | None) -> list[dict]:
    from rag import Assistant, Settings
    from rag.assistant.check import check_text

    settings = Settings.from_env().replace(home=home) if home else Settings.from_env()
    assistant = Assistant(settings)
    assistant.ensure_index()
    out = []
    for claim in claims:
        result = check_text(assistant, claim["claim"])
        out.append(_one(result[0].to_dict() if len(result) == 1 else _merge([r.to_dict() for r in result])))
    return out


def run_cli(claims: list[dict], home: Path | None) -> list[dict]:
    out = []
    for claim in claims:
        command = [sys.executable, "-m", "rag", "check", "--json", claim["claim"]]
        if home:
            command += ["--home", str(home)]
        done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
        if done.returncode != 0:
            raise SystemExit(f"rag check failed on {claim['id']}: {done.stderr.strip()[-300:]}")
        results = json.loads(done.stdout)["results"]
        out.append(_one(results[0] if len(results) == 1 else _merge(results)))
    return out


def _merge(results: list[dict]) -> dict:
    """A claim the splitter cut in two is supported only if every piece is."""
    order = {"contradicted": 0, "not_found": 1, "supported": 2}
    worst = min(results, key=lambda r: order[r["verdict"]])
    citations = [c for r in results for c in r["citations"]]
    return {**worst, "citations": citations}


def _one(result: dict) -> dict:
    return {"verdict": result["verdict"], "reason": result["reason"], "citations": result["citations"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.check_claims", description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path, default=[CLAIMS_DEV, CLAIMS_EXTRA])
    parser.add_argument("--home", type=Path, help="index home (default: RAG_HOME or ./var)")
    parser.add_argument("--cli", action="store_true", help="run `rag check --json` once per claim")
    parser.add_argument("--out", type=Path, help="write the figures and every verdict as JSON")
    args = parser.parse_args(argv)
    report = {}
    for path in args.files:
        claims = load_claims(path)
        results = (run_cli if args.cli else run_in_process)(claims, args.home)
        figures = score(claims, results)
        report[path.name] = {**figures, "verdicts": [{"id": c["id"], **r} for c, r in zip(claims, results)]}
        print(f"{path.name}: {figures['claims']} claims")
        for key in ("overall", "unsupported_not_supported", "supported_with_gold_citation"):
            f = figures[key]
            print(f"  {key:30} {f['right']}/{f['of']} = {f['share']:.0%}")
        for miss in figures["misses"]:
            print(f"  miss: {miss}")
    if args.out:
        args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
