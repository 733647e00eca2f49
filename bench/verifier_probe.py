"""`python -m bench.verifier_probe`: the trained verifier against today's rules on the claims sets.

Nothing here trains or tunes the model; the claims sets are only read. For every claim, the
evidence candidates are found the way `rag check` finds them (``rag.check.analyse_sentence``,
read-only: the retrieved passages' sentences, ranked by the rules' own similarity) and scored
three ways:

- rules: today's `rag check` verdict (``rag.check.check_text``);
- model: the best of the top ``TOP`` candidates by the model's P(supported); supported at or
  above a threshold, else contradicted or not found by the larger of the two;
- combined: the rules keep priority where they are sharp (their contradiction stands; a
  candidate whose window lacks a number, date or name of the claim can never support it),
  the model decides the rest.

Thresholds are fitted leave-one-set-out: each set is scored with the threshold that did best on
the other one (the middle of the best range), never on the set itself. Also printed: the model on
the claims' own ``evidence`` sentence, and the milliseconds per claim with five evidence sentences.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from bench.check_claims import CLAIMS_DEV, CLAIMS_EXTRA, _merge, load_claims, score
from bench.common import REPO
from embeddings.verifier import CONTRADICTED, MODEL_DIR, NOT_FOUND, SUPPORTED, Verifier
from rag import Assistant, Settings
from rag.assistant.check import analyse_sentence, check_text, default_verifier, split_text
from rag.verify.support import names, normalise, quantities_and_dates, same_name

TOP = 8  # candidates the model reads per claim, in the rules' ranking
THRESHOLDS = [round(x, 2) for x in np.arange(0.05, 0.96, 0.05)]
OUT = REPO / "bench" / "verifier_probe.json"
VERDICTS = {SUPPORTED: "supported", CONTRADICTED: "contradicted", NOT_FOUND: "not_found"}


@dataclass(frozen=True)
class Candidates:
    """One claim as `rag check` sees it: today's verdict and the evidence candidates (no model involved)."""

    claim: dict
    rules: dict  # {"verdict", "reason", "citations"} as `rag check` gives them
    doc_ids: list[str]  # per candidate
    evidence: list[str]  # per candidate: the sentence before and the sentence, as the model reads them
    lacks_fact: list[bool]  # per candidate: a number, date or name of the claim is not in its window


@dataclass(frozen=True)
class Probe:
    """A claim's candidates with the model's probabilities on them (candidates x 3)."""

    claim: dict
    rules: dict
    doc_ids: list[str]
    probabilities: np.ndarray
    lacks_fact: list[bool]


def missing_fact(claim: str, window: str, known: str) -> bool:
    """Whether a strong quantity, a date or a name of ``claim`` is absent from ``window``."""
    c_q, c_d = quantities_and_dates(claim)
    w_q, w_d = quantities_and_dates(window)
    for q in c_q:
        if q.strong and not any(math.isclose(q.value, e.value, rel_tol=1e-6) for e in w_q):
            return True
    if any(all(d.value != e.value for e in w_d) for d in c_d if d.kind == "year"):
        return True
    present = names(window, known=known)
    return any(not any(same_name(n.text, p.text) for p in present) for n in names(claim, known=known))


def candidates_of(assistant, rules_verifier, claim: dict) -> Candidates:
    analysis, candidates, documents = analyse_sentence(assistant, rules_verifier, claim["claim"])
    if len(split_text(claim["claim"])) == 1:  # what `rag check` does with one sentence, without a second search
        verdict = rules_verifier.decide(analysis)
        cited = [{"doc_id": candidates[verdict.evidence][0].chunk.doc_id}] if verdict.evidence >= 0 else []
        rules = {"verdict": verdict.verdict, "reason": verdict.reason, "citations": cited}
    else:
        results = [r.to_dict() for r in check_text(assistant, claim["claim"], verifier=rules_verifier)]
        rules = _merge(results)
    text = " ".join(normalise(claim["claim"]).split())
    order = np.argsort(rules_verifier.rank(text, [c[1] for c in candidates]))[::-1][:TOP] if candidates else []
    chosen = [candidates[i] for i in order]
    evidence = [" ".join(x for x in (c[1].before, c[1].english or c[1].text) if x) for c in chosen]
    known = " ".join(d.text for d in documents.values() if d is not None)
    windows = [" ".join(x for x in (c[1].before, c[1].english or c[1].text, c[1].after) if x) for c in chosen]
    return Candidates(claim, {k: rules[k] for k in ("verdict", "reason", "citations")},
                      [c[0].chunk.doc_id for c in chosen], evidence,
                      [missing_fact(claim["claim"], w, known) for w in windows])


def all_candidates(path: Path, home: Path | None, sets: dict[str, list[dict]]) -> dict[str, list[Candidates]]:
    """The candidates of every claim, measured once and kept in ``path`` (retrieval and the rules are slow)."""
    if path.is_file():
        saved = json.loads(path.read_text(encoding="utf-8"))
        if all([c["id"] for c in claims] == [c["claim"]["id"] for c in saved.get(name, [])]
               for name, claims in sets.items()):
            return {name: [Candidates(**c) for c in saved[name]] for name in sets}
    settings = Settings.from_env().replace(home=home) if home else Settings.from_env()
    assistant = Assistant(settings)
    assistant.ensure_index()
    rules_verifier = default_verifier(assistant)
    out: dict[str, list[Candidates]] = {}
    for name, claims in sets.items():
        out[name] = []
        for claim in claims:
            out[name].append(candidates_of(assistant, rules_verifier, claim))
            print(f"{name} {claim['id']}: rules {out[name][-1].rules['verdict']}", file=sys.stderr, flush=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({k: [asdict(c) for c in v] for k, v in out.items()}, ensure_ascii=False) + "\n",
                    encoding="utf-8")
    return out


def probe(model: Verifier, c: Candidates) -> Probe:
    return Probe(c.claim, c.rules, c.doc_ids, model.judge(c.claim["claim"], c.evidence), c.lacks_fact)


def decide(probe: Probe, threshold: float, combined: bool) -> dict:
    """The model's verdict (``combined``: under the rules' sharp vetoes) as a `rag check` result."""
    p = probe.probabilities
    if combined and probe.rules["verdict"] == "contradicted":
        return {**probe.rules}
    allowed = [i for i in range(len(p)) if not (combined and probe.lacks_fact[i])]
    if allowed:
        best = max(allowed, key=lambda i: p[i, SUPPORTED])
        if p[best, SUPPORTED] >= threshold:
            return {"verdict": "supported", "reason": f"P(supported) {p[best, SUPPORTED]:.2f}",
                    "citations": [{"doc_id": probe.doc_ids[best]}]}
    if not len(p):
        return {"verdict": "not_found", "reason": "no candidates", "citations": []}
    label = CONTRADICTED if p[:, CONTRADICTED].max() >= p[:, NOT_FOUND].max() else NOT_FOUND
    return {"verdict": VERDICTS[label], "reason": f"P({VERDICTS[label]}) {p[:, label].max():.2f}", "citations": []}


def fitted(probes: list[Probe], combined: bool) -> float:
    """The threshold with the most claims right on ``probes``: the middle of the best run."""
    right = [score([p.claim for p in probes], [decide(p, t, combined) for p in probes])["overall"]["right"]
             for t in THRESHOLDS]
    best = [t for t, r in zip(THRESHOLDS, right) if r == max(right)]
    return best[len(best) // 2]


def figures(probes: list[Probe], results: list[dict]) -> dict:
    s = score([p.claim for p in probes], results)
    return {k: s[k] for k in ("overall", "unsupported_not_supported", "supported_with_gold_citation")} | {
        "misses": s["misses"]}


def evidence_only(model: Verifier, claims: list[dict]) -> dict:
    """The model alone on each claim's own evidence sentence (argmax): right = supported iff labelled so."""
    right = sum((model.judge(c["claim"], [c["evidence"]])[0].argmax() == SUPPORTED) == (c["label"] == "supported")
                for c in claims)
    return {"right": int(right), "of": len(claims)}


def latency(model: Verifier, claims: list[dict], evidence: int = 5) -> dict:
    """Milliseconds per claim to judge ``evidence`` sentences (the claims' evidence plus others')."""
    pool = [c["evidence"] for c in claims]
    times = []
    for n, c in enumerate(claims):
        texts = [pool[(n + k) % len(pool)] for k in range(evidence)]
        started = time.perf_counter()
        model.judge(c["claim"], texts)
        times.append((time.perf_counter() - started) * 1000)
    return {"evidence": evidence, "p50_ms": round(statistics.median(times), 1),
            "p90_ms": round(float(np.percentile(times, 90)), 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.verifier_probe", description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, help="index home (default: RAG_HOME or ./var)")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--candidates", type=Path, default=REPO / "var" / "verifier-probe-candidates.json",
                        help="where the retrieved candidates and today's verdicts are kept between runs")
    parser.add_argument("--model", type=Path, default=MODEL_DIR, help="the verifier folder (default: the shipped one)")
    args = parser.parse_args(argv)
    sets = {"claims_dev": load_claims(CLAIMS_DEV), "claims_extra": load_claims(CLAIMS_EXTRA)}
    found = all_candidates(args.candidates, args.home, sets)
    model = Verifier.load(args.model)
    probes = {name: [probe(model, c) for c in found[name]] for name in sets}
    report: dict = {}
    for name, mine in probes.items():
        other = next(v for k, v in probes.items() if k != name)
        t_model, t_comb = fitted(other, False), fitted(other, True)
        report[name] = {
            "rules": figures(mine, [p.rules for p in mine]),
            "model": {"threshold": t_model, **figures(mine, [decide(p, t_model, False) for p in mine])},
            "combined": {"threshold": t_comb, **figures(mine, [decide(p, t_comb, True) for p in mine])},
            "model_on_gold_evidence": evidence_only(model, sets[name]),
        }
        print(name)
        for way in ("rules", "model", "combined"):
            f = report[name][way]
            print(f"  {way:9} overall {f['overall']['right']}/{f['overall']['of']}  edited caught "
                  f"{f['unsupported_not_supported']['right']}/{f['unsupported_not_supported']['of']}  true cited "
                  f"{f['supported_with_gold_citation']['right']}/{f['supported_with_gold_citation']['of']}"
                  + (f"  (threshold {f['threshold']})" if "threshold" in f else ""))
        print(f"  model on the gold evidence sentence: {report[name]['model_on_gold_evidence']}")
    report["latency"] = latency(model, sets["claims_dev"] + sets["claims_extra"])
    print(f"latency: {report['latency']}")
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=1, default=str) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
