"""``rag ingest --ray`` on a real local two-node Ray cluster (one worker slot each), against the plain loop.

The cluster is two ``ray start --block`` processes on 127.0.0.1, each in its own
process group, ended by group id at the end. One Preparer actor is killed
mid-run; Ray restarts it and retries its file, and a rerun must then find
nothing left to do, with every chunk stored once and equal to the plain ingest's.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from scale_support import ROOT, free_port, rag_env, sqlite_chunks

CORPUS = ROOT.parent / "shared" / "eval" / "general" / "corpus"
RAY = Path(sys.executable).with_name("ray")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    pytest.importorskip("ray", reason="ray missing: install the scale extra (pip install -e '.[scale]')")
    if not RAY.exists():
        pytest.skip(f"no ray command beside {sys.executable}")
    logs = tmp_path_factory.mktemp("ray")
    port = free_port()
    env = rag_env(RAY_AUTH_MODE="disabled")  # a loopback-only test cluster; no token to hand around
    common = ["--block", "--node-ip-address", "127.0.0.1", "--num-cpus", "1", "--object-store-memory", "150000000",
              "--disable-usage-stats"]
    procs = [subprocess.Popen([str(RAY), "start", "--head", "--port", str(port), "--include-dashboard=false", *common],
                              stdout=open(logs / "head.log", "w"), stderr=subprocess.STDOUT, env=env,
                              start_new_session=True)]
    try:
        _wait_for_nodes(port, 1, env, procs, logs)
        procs.append(subprocess.Popen([str(RAY), "start", "--address", f"127.0.0.1:{port}", *common],
                                      stdout=open(logs / "worker.log", "w"), stderr=subprocess.STDOUT, env=env,
                                      start_new_session=True))
        _wait_for_nodes(port, 2, env, procs, logs)
        yield f"127.0.0.1:{port}", env
    finally:
        for proc in reversed(procs):
            _end_group(proc)


def _wait_for_nodes(port: int, count: int, env: dict, procs: list, logs: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in procs):
            pytest.fail("ray start exited: " + (logs / "head.log").read_text()[-1500:])
        status = subprocess.run([str(RAY), "status", "--address", f"127.0.0.1:{port}"], capture_output=True,
                                text=True, env=env, timeout=60)
        if status.returncode == 0 and status.stdout.count(" node_") >= count:
            return
        time.sleep(1)
    pytest.fail(f"the Ray cluster did not reach {count} nodes in {timeout} s")


def _end_group(proc: subprocess.Popen) -> None:
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            time.sleep(1)  # let the group's other processes (raylet, workers) go too
        except subprocess.TimeoutExpired:
            continue


def _preparer_pids() -> list[int]:
    import psutil

    pids = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if cmdline.startswith("ray::Preparer"):
            pids.append(proc.info["pid"])
    return pids


@pytest.mark.skipif(not CORPUS.exists(), reason="shared/eval beside the repository is needed for the corpus")
def test_ray_ingest_stores_what_plain_ingest_stores_and_survives_a_killed_worker(cluster, tmp_path):
    address, env = cluster
    library = tmp_path / "library"
    shutil.copytree(CORPUS, library)
    files = len(list(library.iterdir()))

    plain = subprocess.run([sys.executable, "-m", "rag", "ingest", "--library", str(library), "--home",
                            str(tmp_path / "plain")], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert plain.returncode == 0, plain.stderr[-2000:]

    home = tmp_path / "ray"
    run = subprocess.Popen([sys.executable, "-m", "rag", "ingest", "--ray", address, "--ray-workers", "2",
                            "--library", str(library), "--home", str(home)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    killed = None
    lines = []
    for line in run.stderr:  # one "[n/total] doc" line per stored file (stderr is not a terminal)
        lines.append(line)
        if killed is None and line.strip().startswith("[3/"):
            pids = _preparer_pids()
            assert pids, "no Preparer actor process found to kill"
            os.kill(pids[0], signal.SIGKILL)
            killed = pids[0]
    out, _ = run.communicate(timeout=300)
    assert killed is not None, "".join(lines)[-2000:]
    # Ray restarts the actor and retries its task; whatever this run did not finish, the rerun must
    rerun = subprocess.run([sys.executable, "-m", "rag", "ingest", "--ray", address, "--library", str(library),
                            "--home", str(home)], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert f"unchanged {files}" in rerun.stdout or run.returncode != 0, (out, rerun.stdout)

    expected, got = sqlite_chunks(tmp_path / "plain" / "index"), sqlite_chunks(home / "index")
    assert len(got) == len(expected) and set(got) == set(expected)  # same spans, none lost, none twice
    cosines = [float(np.dot(expected[key], got[key])) for key in expected]
    assert min(cosines) >= 0.999, min(cosines)


def test_ray_address_not_answering_is_one_line_and_writes_nothing(tmp_path):
    note = tmp_path / "note.txt"
    note.write_text("A note that must not be copied anywhere.\n", encoding="utf-8")
    home = tmp_path / "home"
    result = subprocess.run([sys.executable, "-m", "rag", "ingest", str(note), "--ray", f"127.0.0.1:{free_port()}",
                             "--home", str(home)], capture_output=True, text=True, env=rag_env(), cwd=ROOT, timeout=120)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("rag: no Ray cluster answers at"), result.stderr
    assert "ray start --head" in result.stderr
    assert not home.exists()  # checked before the library or the index is touched
