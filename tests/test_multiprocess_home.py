"""Several processes on one home: `rag serve`, `rag ingest` and `rag ask`/`rag remove`, killed with -9 at random.

A user keeps the chat server running and uses the command line beside it. While
the library changes under them, every process is killed at random points (the
server too, and restarted). Every request must be answered or fail with one
clear line (no traceback, no "disk I/O error"), and after one more `rag ingest`
the index must match the library exactly: the library's files and hashes, the
documents in chunks.sqlite and the vectors in vectors.faiss are the same set,
and the running server lists the same documents without a restart.

``HOME_SOAK_SECONDS`` (default 40) sets how long processes are started and
killed; `make soak-home` runs it for four minutes.
"""

from __future__ import annotations

import json
import logging
import os
import random
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import faiss
import numpy as np
import pytest

from rag import Assistant, IndexUnusable, Settings
from rag.ingest.read import sha256_bytes
from rag.retrieval.index import Index
from rag.store.sqlite import ChunkStore, lock_path
from rag.store.vectors import VECTORS_FILE, VectorIndex
from scale_support import ROOT, free_port, rag_env
from test_crash_recovery import Library

SECONDS = float(os.environ.get("HOME_SOAK_SECONDS", "40"))
BAD_WORDS = ("Traceback", "disk I/O error", "database is locked", "malformed")


@dataclass
class Tally:
    """What every request and command ended with."""

    answered: int = 0
    failed_with_a_line: int = 0
    killed: int = 0
    server_down: int = 0
    bad: list[str] = field(default_factory=list)  # tracebacks, HTTP 500, unclear failures
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, detail: str = "") -> None:
        with self.lock:
            if kind == "bad":
                self.bad.append(detail[-600:])
            else:
                setattr(self, kind, getattr(self, kind) + 1)

    def counts(self) -> dict[str, int]:
        return {"answered": self.answered, "failed_with_a_line": self.failed_with_a_line, "killed": self.killed,
                "server_down": self.server_down, "bad": len(self.bad)}


def _command_outcome(proc: subprocess.Popen, err: str, tally: Tally) -> None:
    if any(word in err for word in BAD_WORDS):
        tally.add("bad", f"{proc.args[3:5]} rc={proc.returncode}: {err}")
    elif proc.returncode == 0:
        tally.add("answered")
    elif err.strip() and err.strip().splitlines()[-1].startswith("rag"):
        tally.add("failed_with_a_line")
    else:
        tally.add("bad", f"{proc.args[3:5]} rc={proc.returncode} without a message: {err}")


class Server:
    """`rag serve` on the home, restartable; its log is kept for the check."""

    def __init__(self, home: Path, log_dir: Path):
        self.home, self.log_dir = home, log_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        log = open(self.log_dir / f"serve{self.starts}.log", "w")
        self.proc = subprocess.Popen([sys.executable, "-m", "rag", "serve", "--port", str(self.port), "--home",
                                      str(self.home)], stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
                                     env=rag_env(RAG_TRANSLATE="0", RAG_TORCH_THREADS="1"))

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def wait_ready(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc and self.proc.poll() is None, self.logs()[-2000:]
            try:
                with urllib.request.urlopen(self.url + "v1/models", timeout=5):
                    return
            except (urllib.error.URLError, OSError):
                time.sleep(0.3)
        raise AssertionError(f"rag serve did not answer within {timeout} s: {self.logs()[-2000:]}")

    def logs(self) -> str:
        return "".join(p.read_text(errors="replace") for p in sorted(self.log_dir.glob("serve*.log")))

    def get(self, path: str, body: dict | None = None) -> tuple[int, dict]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"{}")


def _ask_server(server: Server, tally: Tally, stop: threading.Event) -> None:
    """Search and list documents over HTTP until stopped, counting how each request ended."""
    n = 0
    while not stop.is_set():
        n += 1
        try:
            status, body = (server.get("v1/search", {"query": f"Zorbix{n % 12} harbour report", "k": 3})
                            if n % 3 else server.get("v1/documents"))
        except (OSError, ValueError):  # refused or reset: the server is down (killed) or restarting
            tally.add("server_down")
            time.sleep(0.3)
            continue
        message = str(body.get("error", {}).get("message", ""))
        if status == 200:
            tally.add("answered")
        elif status != 500 and message and "\n" not in message and not any(w in message for w in BAD_WORDS):
            tally.add("failed_with_a_line")
        else:
            tally.add("bad", f"HTTP {status}: {body}")
        time.sleep(0.05)


def _rag(home: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "rag", *args, "--home", str(home)], cwd=ROOT, text=True,
                            env=rag_env(RAG_TRANSLATE="0", RAG_TORCH_THREADS="1"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _round(home: Path, library: Library, rng: random.Random, server: Server, tally: Tally, round_no: int) -> None:
    """Change the library, start an ingest and a reader (or a removal), kill some of them -9 at random.

    Round 0 rebuilds the index while the server reads it; every third round kills the server too.
    """
    library.mutate(round_no)
    present = library.present()
    rebuild = ["--rebuild"] if round_no % 3 == 0 else []
    second = (("remove", rng.choice(present)) if round_no % 2 == 1 and present
              else ("ask", f"What does the report say about Zorbix{rng.randrange(library.next)}?"))
    procs = [_rag(home, "ingest", *rebuild), _rag(home, *second)]
    time.sleep(rng.uniform(1, 10))
    killed = []
    for proc in procs:
        if proc.poll() is None and rng.random() < 0.5:
            proc.kill()
            killed.append(proc)
            tally.add("killed")
    if round_no % 3 == 1:  # the server too, in the middle of whatever it was doing
        server.kill()
        server.start()
    for proc in procs:
        _out, err = proc.communicate(timeout=240)
        if proc not in killed:
            _command_outcome(proc, err, tally)


def _library_hashes(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): sha256_bytes(p.read_bytes())
            for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")}


def _vector_file_ids(index: Index) -> list[int]:
    """The chunk ids in vectors.faiss as saved, checked against the checksum the store recorded for it."""
    manifest = index.store.manifest()
    assert manifest.get("vectors_generation") == str(index.generation), "vectors.faiss is not the current one"
    vectors = VectorIndex.load(index.dir / VECTORS_FILE, index.encoder.dim)
    return sorted(faiss.vector_to_array(faiss.downcast_index(vectors._index).id_map).tolist())


@pytest.mark.slow
def test_processes_on_one_home_survive_kill_9(tmp_path: Path) -> None:
    rng = random.Random(int(os.environ.get("HOME_SOAK_SEED", "29")))
    home = tmp_path / "home"
    settings = Settings(home=home, translate=False, generator="none")
    library = _built(settings, rng)
    server, tally, stop = Server(home, tmp_path), Tally(), threading.Event()
    server.start()
    server.wait_ready()
    client = threading.Thread(target=_ask_server, args=(server, tally, stop), daemon=True)
    client.start()
    deadline, round_no = time.monotonic() + SECONDS, 0
    try:
        while time.monotonic() < deadline:
            _round(home, library, rng, server, tally, round_no)
            round_no += 1
        server.wait_ready()
        _finish(home)
        expected = _library_hashes(library.folder)
        _check_index(settings, expected)
        after_ingest = _server_listing(server, expected)
        library.add(1)  # then a rebuild with a new document: the running server must follow it too
        _finish(home, "--rebuild")
        expected = _library_hashes(library.folder)
        _check_index(settings, expected)
        after_rebuild = _server_listing(server, expected)
    finally:
        stop.set()
        client.join(timeout=90)
        server.kill()
    print(f"\nrounds {round_no}, server starts {server.starts}: {tally.counts()}")
    log = server.logs()
    assert not [line for line in log.splitlines() if any(w in line for w in BAD_WORDS) or " failed: " in line], log
    assert tally.bad == [], tally.bad
    assert tally.answered > 0
    assert after_ingest == after_rebuild == [], "the running server does not list the library's documents"


def _built(settings: Settings, rng: random.Random) -> Library:
    """Eight generated articles, indexed in this process before any other process starts."""
    library = Library(settings.home / "library", seed=rng.randrange(10**6))
    library.add(8)
    first = Assistant(settings)
    first.ingest()
    first.close()
    return library


def _finish(home: Path, *flags: str) -> None:
    final = _rag(home, "ingest", *flags)
    _out, err = final.communicate(timeout=300)
    assert final.returncode == 0, err
    assert not any(word in err for word in BAD_WORDS), err


def _check_index(settings: Settings, expected: dict[str, str]) -> None:
    """The library's documents == the documents in chunks.sqlite; the stored chunks == the vectors in vectors.faiss."""
    index = Index(settings)
    try:
        assert index.store.document_hashes() == expected, "chunks.sqlite does not hold the library's documents"
        ids, _matrix = index.store.all_vectors(index.encoder.dim)
        assert _vector_file_ids(index) == sorted(ids.tolist()), "vectors.faiss does not hold the stored chunks"
        assert np.array_equal(np.sort(ids), np.unique(ids))
    finally:
        index.close()


def _server_listing(server: Server, expected: dict[str, str]) -> list[str]:
    """What the running server's listing lacks or has beyond the library (empty once it agrees, within 10 s)."""
    difference: list[str] = []
    for _ in range(40):
        status, body = server.get("v1/documents")
        listed = {d["doc_id"] for d in body.get("data", [])} if status == 200 else set()
        difference = sorted(listed ^ set(expected))
        if not difference:
            break
        time.sleep(0.25)
    return difference

def test_a_second_writer_waits_its_turn_and_says_so(tmp_path: Path, caplog) -> None:
    """While another process holds the writer lock, a writer waits (saying so once) and a reader does not write."""
    database = tmp_path / "index" / "chunks.sqlite"
    store = ChunkStore(database)
    holder = subprocess.Popen([sys.executable, "-c", "import fcntl, sys, time\n"
                               "handle = open(sys.argv[1], 'a'); fcntl.flock(handle, fcntl.LOCK_EX)\n"
                               "print('held', flush=True); time.sleep(1.5)", str(lock_path(database))],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with store.try_exclusive() as mine:
            assert not mine
        started = time.monotonic()
        with caplog.at_level(logging.WARNING), store.exclusive():
            waited = time.monotonic() - started
            with store.try_exclusive() as mine:  # re-entrant inside the process that holds it
                assert mine
    finally:
        holder.wait(timeout=30)
        store.close()
    assert waited > 0.5
    said = [r.getMessage() for r in caplog.records]
    assert said == [f"the index at {database.parent} is busy (another process is writing it); waiting for it to "
                    "finish"], said


def test_a_write_that_stays_busy_fails_with_one_line(tmp_path: Path) -> None:
    """A write kept waiting past the busy timeout says so in one line, not as a raw "database is locked"."""
    store = ChunkStore(tmp_path / "chunks.sqlite")
    store._db.execute("PRAGMA busy_timeout = 100")  # the real wait is a minute
    other = sqlite3.connect(tmp_path / "chunks.sqlite", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(IndexUnusable) as found:
            store.set_manifest({"note": "x"})
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert "stayed busy" in str(found.value) and "\n" not in str(found.value)
    store.set_manifest({"note": "x"})  # and works once the other write is done
    store.close()
