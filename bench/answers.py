"""End-to-end answers with the default generator, and the peak memory of a serving process."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench.common import QUESTIONS, REPO, summary_ms, temp_home


class FirstToken:
    """Wraps a generator and notes when its first token of each call arrives."""

    def __init__(self, generator):
        self._generator = generator
        self.first_at: float | None = None

    def __getattr__(self, name: str):
        return getattr(self._generator, name)

    def stream(self, prompt: str, **kwargs):
        for piece in self._generator.stream(prompt, **kwargs):
            if self.first_at is None:
                self.first_at = time.perf_counter()
            yield piece


def answer_latency(homes: dict[str, Path], questions: list[str] = QUESTIONS) -> dict:
    """Time to the first model token, to the first streamed (verified) text and to the final Answer
    of ``Assistant.stream``, per encoder backend.

    The first text waits for the model's short reply to be verified, so it comes after the first
    model token by design. Questions alternate between backends so machine load hits both alike.
    """
    from bench.encoders import backend_env
    from rag import Answer, Assistant, Settings

    from rag.models.generate import LlamaCppGenerator, default_gguf_path

    assistants, probes = {}, {}
    for backend, home in homes.items():
        with backend_env(backend):
            assistant = Assistant(Settings(home=home))
            assistant.index.encoder  # noqa: B018 - bind this backend's encoder now
        # A model of its own per backend: a shared one would answer the second backend's
        # prompt from the first one's KV cache (the same question, the same passage).
        settings = assistant.settings
        probes[backend] = FirstToken(LlamaCppGenerator(str(default_gguf_path()), settings.n_ctx, settings.threads))
        assistant._generator, assistant._generator_loaded = probes[backend], True
        assistant.warm_up()  # what `rag serve` does before it takes questions
        _drain(assistant.stream(questions[0]))
        assistants[backend] = assistant
    first: dict[str, list[float]] = {b: [] for b in homes}
    token: dict[str, list[float]] = {b: [] for b in homes}
    total: dict[str, list[float]] = {b: [] for b in homes}
    answered: dict[str, int] = {b: 0 for b in homes}
    for question in questions:
        for backend, assistant in assistants.items():
            probes[backend].first_at = None
            started = time.perf_counter()
            first_text = None
            for event in assistant.stream(question):
                if isinstance(event, str) and first_text is None and event:
                    first_text = time.perf_counter() - started
                if isinstance(event, Answer):
                    total[backend].append(time.perf_counter() - started)
                    answered[backend] += not getattr(event, "refused", False)
            first[backend].append(first_text if first_text is not None else total[backend][-1])
            if probes[backend].first_at is not None:
                token[backend].append(probes[backend].first_at - started)
    rows = {}
    for backend in homes:
        rows[backend] = {"questions": len(questions), "answered": answered[backend],
                         "first_model_token": summary_ms(token[backend]),
                         "first_text": summary_ms(first[backend]), "answer": summary_ms(total[backend])}
        assistants[backend].close()
    return rows


def _drain(events) -> None:
    for _ in events:
        pass


class PeakRss:
    """Samples the RSS of a process and its children every ``interval`` seconds."""

    def __init__(self, pid: int, interval: float = 0.1):
        import psutil

        self.process = psutil.Process(pid)
        self.interval = interval
        self.peak = 0
        self.current = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            try:
                rss = self.process.memory_info().rss
                for child in self.process.children(recursive=True):
                    try:
                        rss += child.memory_info().rss
                    except psutil.Error:
                        pass
            except psutil.Error:
                break
            self.current = rss
            self.peak = max(self.peak, rss)
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, proc: subprocess.Popen, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.25)
    return False


def server_memory(home: Path, backend: str, questions: list[str] = QUESTIONS[:10], timeout: float = 300) -> dict:
    """Peak RSS of `rag serve` (or, without the chat UI, of an Assistant in a subprocess) answering questions."""
    private = temp_home(f"serve-{backend}")
    shutil.copytree(home, private, dirs_exist_ok=True)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "RAG_HOME": str(private), "RAG_ENCODER_BACKEND": backend,
           "GRADIO_ANALYTICS_ENABLED": "False"}
    ui_cli = REPO / "ui" / "cli.py"
    if ui_cli.exists():
        return _serve_memory(env, questions, timeout)
    return _assistant_memory(env, questions, timeout)


def _serve_memory(env: dict, questions: list[str], timeout: float) -> dict:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "rag", "serve", "--port", str(port)], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sampler = PeakRss(proc.pid)
    try:
        started = time.perf_counter()
        if not _wait_for_port(port, proc, timeout):
            return {"mode": "rag serve", "error": "the server did not start"}
        ready_s = time.perf_counter() - started
        time.sleep(1.0)
        idle = sampler.current
        from gradio_client import Client

        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        for question in questions:
            client.predict(question, api_name="/ask")
        time.sleep(0.5)
        return {"mode": "rag serve", "questions": len(questions), "ready_s": round(ready_s, 1),
                "rss_ready_mib": round(idle / 2**20, 1), "rss_peak_mib": round(sampler.peak / 2**20, 1)}
    finally:
        sampler.stop()
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


ASSISTANT_SCRIPT = """
import sys
from rag import Assistant
assistant = Assistant()
assistant.ensure_index()
assistant.generator
print("ready", flush=True)
for line in sys.stdin:
    assistant.ask(line.strip())
    print("done", flush=True)
"""


def _assistant_memory(env: dict, questions: list[str], timeout: float) -> dict:
    proc = subprocess.Popen([sys.executable, "-c", ASSISTANT_SCRIPT], cwd=REPO, env=env, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    sampler = PeakRss(proc.pid)
    try:
        assert proc.stdout and proc.stdin
        proc.stdout.readline()
        idle = sampler.current
        for question in questions:
            proc.stdin.write(question + "\n")
            proc.stdin.flush()
            proc.stdout.readline()
        return {"mode": "assistant subprocess", "questions": len(questions),
                "rss_ready_mib": round(idle / 2**20, 1), "rss_peak_mib": round(sampler.peak / 2**20, 1)}
    finally:
        sampler.stop()
        proc.kill()
        proc.wait(timeout=20)
