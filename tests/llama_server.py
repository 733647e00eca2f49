"""llama-cpp-python's OpenAI-compatible server with the packaged GGUF, started for a test module."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from rag.models.generate import default_gguf_path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def llama_server(*options: str) -> Iterator[str]:
    """The server on a free loopback port, serving the model as "gemma-270m": its /v1 address until the block ends.

    ``options`` are passed on (``"--chat_format", "gemma"`` for the chat endpoint).
    A server that exits or does not answer within 120 s fails the test.
    """
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(default_gguf_path()), "--model_alias", "gemma-270m",
         *options, "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url + "/models", timeout=2).read()
            break
        except OSError:
            if process.poll() is not None:
                pytest.fail("llama_cpp.server exited at start")
            time.sleep(0.5)
    else:
        process.kill()
        pytest.fail("llama_cpp.server did not start in 120 s")
    try:
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
