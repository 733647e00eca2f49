"""Faults: a disk that fills up during an ingest, and an index file damaged while a server has it open.

The full disk is real: the ingest runs under a file-size limit (RLIMIT_FSIZE,
what `ulimit -f` sets), so the kernel refuses the writes that would grow a file
past it, as a full file system would. The ingest must stop with one line that
says what to do, and the index as it was must still answer; a later ingest with
room finishes the library.
"""

from __future__ import annotations

import logging
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rag import Assistant, IndexUnusable, Settings
from rag.ingest.read import sha256_bytes
from scale_support import ROOT, rag_env
from test_crash_recovery import Library


def _settings(home: Path) -> Settings:
    return Settings(home=home, translate=False, generator="none")


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """Five generated articles, indexed (in this process: no subprocess start-up)."""
    home = tmp_path_factory.mktemp("faults") / "home"
    Library(home / "library", seed=11).add(5)
    assistant = Assistant(_settings(home))
    assert len(assistant.ingest().added) == 5
    assistant.close()
    return home


@pytest.fixture
def home(built: Path, tmp_path: Path) -> Path:
    target = tmp_path / "home"
    shutil.copytree(built, target)
    return target


def _limited(limit: int):
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def _big_article(n: int) -> str:
    """About 160 KB of distinct sentences: its passages cannot fit under the limit."""
    return f"Report on Quorvane{n}\n\n" + "\n".join(
        f"Quorvane{n} line {i}: the harbour council {i * 7 % 101} approved budget {i} for bridge {i % 13}."
        for i in range(2000)) + "\n"


@pytest.mark.slow
def test_full_disk_during_ingest_gives_one_line_and_keeps_the_index(home: Path) -> None:
    index_files = [p for p in (home / "index").iterdir() if p.is_file()]
    limit = max(p.stat().st_size for p in index_files) + 64 * 1024
    for n in range(1):
        (home / "library" / f"big{n}.txt").write_text(_big_article(n), encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "rag", "ingest", "--home", str(home)], cwd=ROOT, capture_output=True,
                         text=True, timeout=600, env=rag_env(RAG_TRANSLATE="0"), preexec_fn=_limited(limit))
    assert run.returncode == 2, (run.returncode, run.stderr[-3000:])
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert "Traceback" not in run.stderr and "disk I/O error" not in run.stderr, run.stderr[-3000:]
    said = [line for line in lines if "disk full" in line]
    assert said == [lines[-1]], run.stderr[-3000:]
    assert said[0].startswith("rag: disk full while writing the index") and "rag ingest" in said[0], said

    assistant = Assistant(_settings(home))  # the index as it was still answers
    try:
        assert assistant.search("Zorbix3")[0].chunk.doc_id == "doc003.txt"
        assert {d["doc_id"] for d in assistant.documents()} >= {f"doc{n:03d}.txt" for n in range(5)}
    finally:
        assistant.close()

    again = subprocess.run([sys.executable, "-m", "rag", "ingest", "--home", str(home)], cwd=ROOT,
                           capture_output=True, text=True, timeout=600, env=rag_env(RAG_TRANSLATE="0"))
    assert again.returncode == 0, again.stderr[-3000:]
    assistant = Assistant(_settings(home))
    try:
        library = {p.name: sha256_bytes(p.read_bytes()) for p in (home / "library").iterdir()}
        assert assistant.index.store.document_hashes() == library
        assert assistant.search("Quorvane0 harbour council")[0].chunk.doc_id == "big0.txt"
        assert assistant.index.vectors().size == assistant.index.store.counts()["chunks"]
    finally:
        assistant.close()


def test_full_disk_while_saving_the_vector_file_keeps_the_old_file(tmp_path: Path) -> None:
    """vectors.faiss is written beside itself and renamed: a refused write leaves the saved file as it was."""
    script = (
        "import numpy as np, sys\n"
        "from pathlib import Path\n"
        "from rag.core.errors import DiskFull\n"
        "from rag.store.vectors import VectorIndex\n"
        "path = Path(sys.argv[1])\n"
        "vectors = np.random.default_rng(0).standard_normal((2000, 384)).astype('float32')\n"
        "try:\n"
        "    VectorIndex.build(np.arange(2000), vectors, 384).save(path)\n"
        "except DiskFull as exc:\n"
        "    print(exc)\n"
    )
    path = tmp_path / "vectors.faiss"
    path.write_bytes(b"the previous file")
    run = subprocess.run([sys.executable, "-c", script, str(path)], cwd=ROOT, capture_output=True, text=True,
                         timeout=120, env=rag_env(), preexec_fn=_limited(256 * 1024))
    assert run.returncode == 0 and run.stdout.startswith("disk full while writing the index at"), run
    assert path.read_bytes() == b"the previous file"
    assert [p.name for p in tmp_path.iterdir()] == ["vectors.faiss"], "the partial file was left behind"


def test_damaged_database_under_a_running_reader_is_rebuilt_and_picked_up(home: Path, caplog) -> None:
    """A server's index sees the damage as one line, `ingest` rebuilds from the library, the server reads the new file."""
    server = Assistant(_settings(home))  # stands for `rag serve`: opened before the damage, never restarted
    assert server.search("Zorbix2")[0].chunk.doc_id == "doc002.txt"
    database = home / "index" / "chunks.sqlite"
    damaged = bytearray(database.read_bytes())
    damaged[100:4096] = b"\xff" * (4096 - 100)  # the schema page
    damaged[8192:] = bytes(len(damaged) - 8192)
    database.write_bytes(bytes(damaged))

    cli = Assistant(_settings(home))  # stands for `rag ingest`
    with pytest.raises(IndexUnusable) as found:
        cli.documents()
    assert "damaged" in str(found.value) and "\n" not in str(found.value)
    with caplog.at_level(logging.WARNING):
        report = cli.ingest()
    assert len(report.added) == 5
    said = [r.getMessage() for r in caplog.records if "damaged" in r.getMessage()]
    assert len(said) == 1 and said[0].startswith(f"the index at {home / 'index'} is damaged ("), caplog.text
    assert said[0].endswith("; rebuilding it from the library") and "\n" not in said[0]
    cli.close()
    assert len(server.documents()) == 5  # no restart
    assert server.search("Zorbix4")[0].chunk.doc_id == "doc004.txt"
    server.close()
