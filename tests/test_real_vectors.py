"""The real-vector cache of bench.real_vectors: a fixed order, resumable shards, documents rebuilt for the stores.

A tiny fake corpus (two "packages" already chunked) and a fake encoder stand in for the Debian
packages and MiniLM, so this runs in well under a second.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from bench import real_vectors
from bench.vectors import smallest_meeting
from rag.core.records import Chunk, Document


class FakeEncoder:
    """Deterministic unit vectors from the text's hash; counts what it was asked to encode."""

    calls: list[int] = []

    def __init__(self, *args, **kwargs):
        self.name = "fake"

    def encode(self, texts):
        FakeEncoder.calls.append(len(texts))
        out = np.array([np.random.default_rng(abs(hash(t)) % 2**32).standard_normal(4) for t in texts], dtype=np.float32)
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def _package(name: str, docs: int, chunks: int) -> list:
    out = []
    for d in range(docs):
        text = " ".join(f"{name} document {d} passage {c} words here." for c in range(chunks))
        doc = Document(f"{name}/{d}.html", f"sha{name}{d}", f"{name} {d}", None, "en", text)
        spans, start = [], 0
        for c in range(chunks):
            piece = f"{name} document {d} passage {c} words here."
            spans.append(Chunk(f"{name}/{d}#{c}", doc.doc_id, start, start + len(piece), piece))
            start += len(piece) + 1
        out.append((doc, spans, [(s.start, s.end, "sentence") for s in spans]))
    return out


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setattr(real_vectors, "ROOT", tmp_path)
    monkeypatch.setattr(real_vectors, "PACKAGES", ("a", "b"))
    monkeypatch.setattr(real_vectors, "SHARD", 7)
    monkeypatch.setattr(real_vectors, "HELDOUT_PERCENT", 20)
    monkeypatch.setattr(real_vectors, "Encoder", FakeEncoder)
    (tmp_path / "chunks").mkdir()
    for name, docs in (("a", 12), ("b", 9)):
        (tmp_path / "chunks" / f"{name}.pkl").write_bytes(pickle.dumps(_package(name, docs, 3)))
    FakeEncoder.calls = []
    return tmp_path


def test_plan_is_shuffled_held_out_by_document_and_fixed(cache):
    plan = real_vectors.plan(target=40)
    corpus = real_vectors.Corpus(plan.packages)
    indexed = {corpus.passage(r)[0].doc_id for r in plan.rows}
    asked = {corpus.passage(r)[0].doc_id for r in plan.query_rows}
    assert len(plan.rows) == 40 and asked and not indexed & asked
    assert plan.rows.tolist() != sorted(plan.rows.tolist())  # a shuffled prefix, not package order
    (cache / "chunks" / "a.pkl").write_bytes(pickle.dumps(_package("a", 2, 1)))  # the plan is read back, not remade
    assert real_vectors.plan(target=40).rows.tolist() == plan.rows.tolist()


def test_a_killed_run_continues_at_the_first_missing_shard(cache, monkeypatch):
    real_vectors.plan(target=40)
    real_vectors.encode(minutes=0)  # the queries, then stops before the first shard: nothing else encoded
    assert not real_vectors.shard_path(0).exists()
    real_vectors.encode()
    shards = sorted(real_vectors.vectors_dir().glob("*.npy"))
    assert len(shards) == 6  # 40 passages in shards of 7
    real_vectors.shard_path(2).unlink()  # as if killed while writing shard 2
    FakeEncoder.calls = []
    real_vectors.encode()
    assert FakeEncoder.calls == [7]
    vectors, queries, info = real_vectors.load()
    assert vectors.shape == (40, 4) and info["encoded_passages"] == 40 and len(queries) == info["queries"]


def test_load_stops_at_a_gap_and_documents_match_their_vectors(cache):
    plan = real_vectors.plan(target=40)
    real_vectors.encode()
    real_vectors.shard_path(3).unlink()
    vectors, _, _ = real_vectors.load()
    assert len(vectors) == 21  # shards 0-2 only: the prefix is what is used
    docs, matrix = real_vectors.load_documents()
    assert sum(len(chunks) for _, chunks, _ in docs) == len(matrix) == 21
    corpus = real_vectors.Corpus(plan.packages)
    first = {tuple(r): v for r, v in zip(plan.rows[:21].tolist(), vectors)}
    row = 0
    for doc, chunks, _ in docs:
        assert [c.start for c in chunks] == sorted(c.start for c in chunks)
        for chunk in chunks:
            key = next(k for k in first if corpus.passage(k)[1] == chunk)
            assert np.allclose(first[key], matrix[row])
            row += 1


def test_smallest_setting_meeting_the_recall_goal():
    sweep = [{"nprobe": 32, "recall_at_10": 0.97}, {"nprobe": 8, "recall_at_10": 0.9}, {"nprobe": 16, "recall_at_10": 0.95}]
    assert smallest_meeting(sweep, "nprobe")["nprobe"] == 16
    assert smallest_meeting(sweep, "nprobe", goal=0.99) is None


def test_translations_are_skipped_by_their_locale_folder():
    assert real_vectors._translation(Path("html/de-DE/sect.apt.html"))
    assert not real_vectors._translation(Path("html/en-US/sect.apt.html"))
    assert not real_vectors._translation(Path("html/topics/db/models.html"))  # a two-letter topic, not a locale
