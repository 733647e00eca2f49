"""Soak test: 1, 5, then 20 concurrent chat sessions against one running `rag serve`, M minutes each.

Each session is its own ``gradio_client.Client`` asking questions through the
program API (``/ask``) back to back. Reports, per level, errors, the wait for an
answer (p50/p95) and the server's memory (RSS via psutil), then whether memory
stayed flat over the whole run; exits non-zero on any error. The server answers
in its configured mode (``--answer-mode`` sets ``RAG_ANSWER_MODE`` for a server
it starts; the default ``auto`` is extractive with the packaged base model).
Loopback only: the server is started on 127.0.0.1 (or ``--url`` must point at a
loopback address).

    python -m bench.soak --minutes 2 --sessions 1,5,20 [--home H] [--url http://127.0.0.1:7860/]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import psutil

ROOT = Path(__file__).resolve().parents[1]
# Generic questions about the bundled articles' topics, plus ones the articles cannot answer
# (refusals are answers too); all valid, so any error is the server's fault.
QUESTIONS = [
    "What happened to bitcoin mining in China?",
    "Why did miners move their machines?",
    "What did the authorities decide about cryptocurrency?",
    "Which regions are mentioned in the articles?",
    "What did the banks say?",
    "Who won the football world cup in 2018?",
    "What is the capital of Australia?",
    "Summarise the news about energy use.",
]


@dataclass
class Results:
    """Everything the sessions and the memory sampler record, guarded by one lock."""

    latencies: list[float] = field(default_factory=list)  # seconds, successful requests
    errors: list[str] = field(default_factory=list)
    rss: list[tuple[float, int]] = field(default_factory=list)  # (seconds since start, bytes)
    lock: threading.Lock = field(default_factory=threading.Lock)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def is_loopback_url(url: str) -> bool:
    return (urlparse(url).hostname or "") in {"127.0.0.1", "localhost", "::1"}


def start_server(home: Path | None, port: int, log: Path, answer_mode: str | None = None) -> subprocess.Popen:
    """`rag serve` on 127.0.0.1:port (it builds the index first if the home has none)."""
    args = [sys.executable, "-m", "rag", "serve", "--host", "127.0.0.1", "--port", str(port)]
    args += ["--home", str(home)] if home else []
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    if answer_mode:
        env["RAG_ANSWER_MODE"] = answer_mode
    with open(log, "wb") as out:
        return subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def wait_ready(url: str, server: subprocess.Popen | None, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server is not None and server.poll() is not None:
            raise RuntimeError(f"the server exited with code {server.returncode} before it was ready")
        try:
            with urllib.request.urlopen(url + "config", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(1)
    raise TimeoutError(f"the server at {url} was not ready after {timeout:.0f} s")


def tree_rss(process: psutil.Process) -> int:
    """RSS of the server and any children it started."""
    total = 0
    for p in [process, *process.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def sample_memory(process: psutil.Process, results: Results, stop: threading.Event, started: float) -> None:
    while not stop.is_set():
        try:
            rss = tree_rss(process)
        except psutil.Error:
            return
        with results.lock:
            results.rss.append((time.monotonic() - started, rss))
        stop.wait(1.0)


def session(url: str, seed: int, deadline: float, results: Results, request_timeout: float) -> None:
    """One chat session: its own client, questions in a loop until the deadline."""
    from gradio_client import Client

    rng = random.Random(seed)
    try:
        client = Client(url, verbose=False, download_files=False)
    except Exception as exc:  # noqa: BLE001 - every failure is counted and reported
        with results.lock:
            results.errors.append(f"connect: {type(exc).__name__}: {exc}")
        return
    while time.monotonic() < deadline:
        question = rng.choice(QUESTIONS)
        started = time.monotonic()
        try:
            answer = client.submit(question, api_name="/ask").result(timeout=request_timeout)
            if not isinstance(answer, dict) or not answer.get("answer"):
                raise ValueError(f"unexpected reply {str(answer)[:200]!r}")
            if not answer["refused"] and not answer["citations"]:
                raise ValueError("an answer without citations")
        except Exception as exc:  # noqa: BLE001
            with results.lock:
                results.errors.append(f"{question!r}: {type(exc).__name__}: {' '.join(str(exc).split())[:300]}")
            continue
        with results.lock:
            results.latencies.append(time.monotonic() - started)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def summarise(results: Results, seconds: float, sessions: int, warmup: float) -> dict:
    rss = results.rss
    after_warmup = next((b for t, b in rss if t >= warmup), rss[-1][1] if rss else 0)
    end = rss[-1][1] if rss else 0
    mb = 1 / 2**20
    return {
        "sessions": sessions,
        "seconds": round(seconds, 1),
        "requests": len(results.latencies) + len(results.errors),
        "errors": len(results.errors),
        "first_errors": results.errors[:5],
        "throughput_per_min": round(len(results.latencies) / seconds * 60, 1) if seconds else 0.0,
        "latency_p50_s": round(percentile(results.latencies, 50), 3),
        "latency_p95_s": round(percentile(results.latencies, 95), 3),
        "latency_max_s": round(max(results.latencies, default=float("nan")), 3),
        "latency_mean_s": round(statistics.fmean(results.latencies), 3) if results.latencies else float("nan"),
        "rss_start_mb": round(rss[0][1] * mb, 1) if rss else None,
        "rss_after_warmup_mb": round(after_warmup * mb, 1),
        "rss_end_mb": round(end * mb, 1),
        "rss_max_mb": round(max((b for _, b in rss), default=0) * mb, 1),
        "rss_flat": bool(after_warmup) and abs(end - after_warmup) <= 0.15 * after_warmup,
    }


def soak(url: str, server_pid: int, minutes: float, sessions: int, request_timeout: float = 180) -> dict:
    """Run the sessions against ``url`` and sample the server's memory; returns the summary."""
    if not is_loopback_url(url):
        raise ValueError(f"the soak test only talks to loopback servers, not {url}")
    results = Results()
    process = psutil.Process(server_pid)
    stop = threading.Event()
    started = time.monotonic()
    sampler = threading.Thread(target=sample_memory, args=(process, results, stop, started), daemon=True)
    sampler.start()
    deadline = started + minutes * 60
    threads = [threading.Thread(target=session, args=(url, n, deadline, results, request_timeout), daemon=True)
               for n in range(sessions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=max(0.0, deadline - time.monotonic()) + request_timeout + 30)
    stop.set()
    sampler.join(timeout=5)
    if any(t.is_alive() for t in threads):
        results.errors.append("a session did not finish within its request timeout")
    return summarise(results, time.monotonic() - started, sessions, warmup=min(60.0, minutes * 60 * 0.2))


def soak_levels(url: str, server_pid: int, minutes: float, levels: list[int], request_timeout: float = 180) -> dict:
    """``soak`` at each number of sessions in turn, on one server; memory is flat if the last level ends
    within 15 % of where the first stood after its warm-up."""
    runs = [soak(url, server_pid, minutes, sessions, request_timeout) for sessions in levels]
    settled, end = runs[0]["rss_after_warmup_mb"], runs[-1]["rss_end_mb"]
    return {"levels": runs, "errors": sum(run["errors"] for run in runs),
            "requests": sum(run["requests"] for run in runs), "rss_settled_mb": settled, "rss_end_mb": end,
            "rss_max_mb": max(run["rss_max_mb"] for run in runs),
            "rss_flat": bool(settled) and abs(end - settled) <= 0.15 * settled}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=2.0, help="minutes at each number of sessions")
    parser.add_argument("--sessions", type=_levels, default=[1, 5, 20],
                        help="concurrent sessions, one level or several run in turn: 20, or 1,5,20 (default)")
    parser.add_argument("--answer-mode", choices=("auto", "extractive", "generative"),
                        help="RAG_ANSWER_MODE for the server it starts (default: the server's own setting)")
    parser.add_argument("--home", type=Path, help="home folder for the server it starts (default: ./var)")
    parser.add_argument("--url", help="use a server already running on loopback (then --pid is its process)")
    parser.add_argument("--pid", type=int, help="process id of the server given by --url, for memory")
    parser.add_argument("--ready-timeout", type=float, default=900, help="seconds to wait for the server")
    parser.add_argument("--json", type=Path, help="also write the summary to this file")
    args = parser.parse_args(argv)
    server = None
    if args.url:
        url, pid = args.url.rstrip("/") + "/", args.pid
        if pid is None:
            parser.error("--url needs --pid (the server process, for its memory)")
    else:
        port = free_port()
        url = f"http://127.0.0.1:{port}/"
        log = Path(os.environ.get("TMPDIR", "/tmp")) / f"soak-server-{port}.log"
        server = start_server(args.home, port, log, args.answer_mode)
        pid = server.pid
        print(f"soak: server pid {pid} on {url} (log {log})", file=sys.stderr)
    try:
        wait_ready(url, server, args.ready_timeout)
        print(f"soak: load average at start {' '.join(f'{x:.2f}' for x in os.getloadavg())}", file=sys.stderr)
        summary = soak_levels(url, pid, args.minutes, args.sessions)
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
    print(json.dumps(summary, indent=2))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    for run in summary["levels"]:
        print(f"soak: {run['sessions']:>3} sessions: {run['requests']} requests, {run['errors']} errors, "
              f"wait p50 {run['latency_p50_s']} s, p95 {run['latency_p95_s']} s; RSS {run['rss_end_mb']} MB",
              file=sys.stderr)
    print(f"soak: memory {summary['rss_settled_mb']} -> {summary['rss_end_mb']} MB (max {summary['rss_max_mb']}, "
          f"{'flat' if summary['rss_flat'] else 'NOT flat'}); load average {load}", file=sys.stderr)
    return 1 if summary["errors"] or not summary["requests"] else 0


def _levels(text: str) -> list[int]:
    levels = [int(part) for part in text.split(",") if part.strip()]
    if not levels or min(levels) < 1:
        raise argparse.ArgumentTypeError("sessions are whole numbers from 1, e.g. 1,5,20")
    return levels


if __name__ == "__main__":
    sys.exit(main())
