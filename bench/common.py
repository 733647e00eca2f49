"""Shared pieces of the benchmarks: the machine, timers, corpus texts and questions."""

from __future__ import annotations

import json
import os
import platform
import random
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEV_QUESTIONS = REPO.parent / "shared" / "eval" / "dev_questions.jsonl"

# Generic questions about the bundled articles (bitcoin mining leaving China, 2021), written for
# the benchmarks: they exercise retrieval and answering, and are not the evaluation questions.
QUESTIONS = [
    "Why are bitcoin miners leaving China?",
    "What did the Chinese authorities decide about cryptocurrency mining?",
    "Which countries are the miners moving their machines to?",
    "How much of the world's bitcoin mining happened in China?",
    "What happened to the bitcoin network's hash rate after the crackdown?",
    "Why was Sichuan attractive for mining farms?",
    "What role does cheap hydropower play in mining?",
    "How are mining machines shipped abroad?",
    "What problems do miners face in Kazakhstan?",
    "Which companies are investing in mining data centres abroad?",
    "What happened to the price of bitcoin?",
    "How did Inner Mongolia respond to mining?",
    "What do miners say about moving to North America?",
    "How does electricity cost affect mining profits?",
    "What is a mining pool?",
    "Why does the government worry about energy consumption?",
    "What happens to second-hand mining rigs?",
    "Who is quoted about the future of mining in China?",
    "What is the capital of Australia?",
    "How many people live on Mars?",
]


def record(path: Path, key: str, result: dict) -> None:
    """Keep ``result`` under ``key`` in the JSON file of results at ``path`` (other keys stay), and print it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    previous = json.loads(path.read_text()) if path.exists() else {}
    previous[key] = result
    path.write_text(json.dumps(previous, indent=2) + "\n")
    print(json.dumps(result, indent=2))


def machine() -> dict:
    """Cores, CPU model and software versions of this run."""
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {"cores": os.cpu_count(), "cpu": cpu, "python": platform.python_version(), "platform": platform.platform()}
    try:
        info["load_average_at_start"] = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        pass
    try:
        import psutil

        info["memory_gib"] = round(psutil.virtual_memory().total / 2**30, 1)
    except ImportError:
        pass
    for module in ("torch", "onnxruntime", "faiss", "sentence_transformers", "numpy", "llama_cpp"):
        try:
            info[module] = __import__(module).__version__
        except Exception:  # noqa: BLE001 - a version string is optional
            pass
    return info


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile of ``values`` (q in 0..100)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summary_ms(seconds: list[float]) -> dict:
    """p50/p95/mean in milliseconds."""
    ms = [s * 1000 for s in seconds]
    return {"timed": len(ms), "p50_ms": round(percentile(ms, 50), 2), "p95_ms": round(percentile(ms, 95), 2),
            "mean_ms": round(statistics.fmean(ms), 2) if ms else float("nan")}


class Timer:
    def __enter__(self) -> "Timer":
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start


def temp_home(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"rag-bench-{prefix}-"))


def corpus_chunk_texts() -> list[str]:
    """The texts the encoder sees for the bundled corpus's chunks and sentences (no translation)."""
    from rag import Settings
    from rag.retrieval.index import Index

    home = temp_home("texts")
    index = Index(Settings(home=home, translate=False, **_no_multilingual()))
    index.sync()
    index.close()
    db = sqlite3.connect(str(home / "index" / "chunks.sqlite"))
    try:
        return [row[0] for row in db.execute("SELECT text FROM chunks ORDER BY id")]
    finally:
        db.close()


def varied_texts(texts: list[str], count: int, seed: int = 0) -> list[str]:
    """``count`` texts made from ``texts``: each a real chunk, trimmed at a random sentence and
    word, or two chunk halves joined, so no two batches are the same and lengths vary like chunks do."""
    rng = random.Random(seed)
    out: list[str] = []
    while len(out) < count:
        first = rng.choice(texts)
        words = first.split()
        kind = rng.random()
        if kind < 0.4:
            out.append(first)
        elif kind < 0.7:
            cut = rng.randrange(0, max(1, len(words) // 2))
            out.append(" ".join(words[cut:]))
        else:
            second = rng.choice(texts).split()
            out.append(" ".join(words[: len(words) // 2] + second[len(second) // 2:]))
    return out


def _no_multilingual() -> dict:
    """Settings that turn the multilingual side index off, where this version has one."""
    import dataclasses

    from rag import Settings

    names = {f.name for f in dataclasses.fields(Settings)}
    return {"multilingual": False} if "multilingual" in names else {}
