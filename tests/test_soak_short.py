"""A short soak: 4 chat sessions for 30 s against a real `rag serve` on loopback, with no errors.

The full run is `make soak` (20 sessions, 5 minutes); this one keeps the same
code path in `make test`: subprocess server, gradio_client sessions, RSS sampling.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bench.soak import free_port, soak, start_server, wait_ready
from tests.home_copy import copy_home


@pytest.mark.slow
def test_four_sessions_for_thirty_seconds_without_errors(built_home: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    copy_home(built_home, home)
    port = free_port()
    server = start_server(home, port, tmp_path / "server.log")
    try:
        wait_ready(f"http://127.0.0.1:{port}/", server, timeout=600)
        summary = soak(f"http://127.0.0.1:{port}/", server.pid, minutes=0.5, sessions=4, request_timeout=120)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    assert summary["errors"] == 0, summary["first_errors"]
    assert summary["requests"] >= 4, summary
    assert summary["rss_max_mb"] and summary["rss_end_mb"] <= summary["rss_max_mb"]
    assert summary["latency_p50_s"] <= summary["latency_p95_s"]


def test_soak_refuses_non_loopback_servers() -> None:
    with pytest.raises(ValueError, match="loopback"):
        soak("http://192.0.2.1:7860/", 1, minutes=0.01, sessions=1)
