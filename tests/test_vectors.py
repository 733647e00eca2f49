"""The vector index: exact below the threshold, IVF above it; recall, save/load, remove.

Small synthetic clustered data, so the whole file runs in a few seconds.
"""

from __future__ import annotations

import faiss
import numpy as np
import pytest

from rag.store.vectors import APPROXIMATE_FROM, VectorIndex, ivf_lists, ivf_nprobe

DIM = 32


def clustered(n: int, seed: int = 0, clusters: int = 40) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, DIM)).astype(np.float32)
    x = centres[rng.integers(0, clusters, n)] + 0.6 * rng.standard_normal((n, DIM)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def data():
    vectors = clustered(6000)
    ids = np.arange(len(vectors), dtype=np.int64) * 7 + 3  # ids are row ids of the store, not positions
    queries = clustered(100, seed=1)
    return ids, vectors, queries


@pytest.fixture(scope="module")
def exact(data):
    ids, vectors, _ = data
    return VectorIndex.build(ids, vectors, DIM)


@pytest.fixture(scope="module")
def approximate(data):
    ids, vectors, _ = data
    return VectorIndex.build(ids, vectors, DIM, approximate_from=1000)


def test_kind_follows_size(exact, approximate):
    assert exact.kind == "flat" and exact.exact
    assert approximate.kind == "ivf" and not approximate.exact
    assert approximate.nprobe == ivf_nprobe(approximate._inner.nlist)
    assert exact.size == approximate.size == 6000


def test_ivf_lists_grow_with_size():
    assert ivf_lists(1_000_000) == 4096
    assert ivf_lists(APPROXIMATE_FROM) <= ivf_lists(1_000_000)
    assert ivf_lists(10) >= 1


def test_approximate_recall_against_exact(data, exact, approximate):
    _, _, queries = data
    _, truth = exact.search_many(queries, 10)
    _, found = approximate.search_many(queries, 10)
    recall = np.mean([len(set(truth[i]) & set(found[i])) / 10 for i in range(len(queries))])
    assert recall >= 0.95


def test_search_returns_ids_and_cosines_best_first(data, exact, approximate):
    ids, vectors, _ = data
    for index in (exact, approximate):
        hits = index.search(vectors[10], 5)
        assert hits[0][0] == ids[10]
        assert hits[0][1] == pytest.approx(1.0, abs=1e-5)
        assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)
        assert np.allclose(index.reconstruct(int(ids[10])), vectors[10], atol=1e-6)


@pytest.mark.parametrize("which", ["exact", "approximate"])
def test_save_load_roundtrip(which, data, request, tmp_path):
    index = request.getfixturevalue(which)
    _, _, queries = data
    path = tmp_path / "vectors.faiss"
    index.save(path)
    assert not path.with_name(path.name + ".tmp").exists()
    loaded = VectorIndex.load(path, DIM)
    assert loaded.kind == index.kind and loaded.size == index.size and loaded.nprobe == index.nprobe
    for q in queries[:10]:
        assert loaded.search(q, 10) == index.search(q, 10)
    with pytest.raises(ValueError):
        VectorIndex.load(path, DIM + 1)


def test_ivf_files_built_with_fewer_probes_scan_the_measured_number_when_loaded(data, tmp_path):
    ids, vectors, _ = data
    old = VectorIndex.build(ids, vectors, DIM, approximate_from=1000, nprobe=2)  # as an older version might have
    assert old.nprobe == 2
    old.save(tmp_path / "vectors.faiss")
    loaded = VectorIndex.load(tmp_path / "vectors.faiss", DIM)
    assert loaded.nprobe == ivf_nprobe(loaded._inner.nlist) > 2


def test_ivf_probes_grow_with_the_cells_but_their_share_falls():
    assert ivf_nprobe(500) == 68 and ivf_nprobe(4096) == 192  # 3·sqrt(cells): docs/scaling.md
    assert ivf_nprobe(4096) / 4096 < ivf_nprobe(500) / 500
    assert ivf_nprobe(4) <= 4


@pytest.mark.parametrize("approximate_from", [10**9, 1000])
def test_remove_in_place(approximate_from, data):
    ids, vectors, _ = data
    index = VectorIndex.build(ids[:3000], vectors[:3000], DIM, approximate_from=approximate_from)
    gone = [int(i) for i in ids[:50]]
    assert index.remove(gone) is True
    assert index.size == 2950
    for row, vector in zip(ids[:50], vectors[:50]):
        assert int(row) not in {i for i, _ in index.search(vector, 10)}
    assert index.search(vectors[100], 1)[0][0] == ids[100]
    assert index.remove([]) is True


def test_hnsw_files_from_earlier_versions_load_but_cannot_remove(data, tmp_path):
    ids, vectors, _ = data
    hnsw = faiss.IndexHNSWFlat(DIM, 16, faiss.METRIC_INNER_PRODUCT)
    legacy = VectorIndex(DIM, faiss.IndexIDMap2(hnsw))
    legacy.add(ids[:500], vectors[:500])
    legacy.save(tmp_path / "old.faiss")
    loaded = VectorIndex.load(tmp_path / "old.faiss", DIM)
    assert loaded.kind == "hnsw"
    assert loaded.search(vectors[3], 1)[0][0] == ids[3]
    assert loaded.remove([int(ids[0])]) is False  # the caller rebuilds
    assert loaded.size == 500


def test_empty_index():
    index = VectorIndex.build(np.zeros(0, dtype=np.int64), np.zeros((0, DIM), dtype=np.float32), DIM)
    assert index.size == 0
    assert index.search(np.ones(DIM, dtype=np.float32), 5) == []


def test_vectors_are_stored_once_as_float16_and_old_float32_blobs_still_read(tmp_path):
    """SQLite keeps chunk vectors (and the embedding cache its vectors) as float16, half of float32."""
    from embeddings.cache import CachedEncoder, EmbeddingCache
    from rag.store.sqlite import _blob, vector_from_blob

    dim = DIM
    vector = clustered(1, seed=3)[0]
    blob = _blob(vector)
    assert len(blob) == 2 * dim
    assert np.allclose(vector_from_blob(blob, dim), vector, atol=1e-3)
    assert np.array_equal(vector_from_blob(vector.tobytes(), dim), vector)  # written by earlier versions
    with pytest.raises(ValueError):
        vector_from_blob(b"\0" * 10, dim)

    class Fake:
        name, dim = "fake", 4

        def encode(self, texts, batch_size=32, progress=False):
            return np.array([[0.1, 0.2, 0.3, 0.9273618495495704]] * len(texts), dtype=np.float32)

    cache = EmbeddingCache(tmp_path / "cache.sqlite")
    encoder = CachedEncoder(Fake(), cache)
    fresh = encoder.encode(["a text"])
    again = encoder.encode(["a text"])
    assert encoder.encoded == 1 and np.array_equal(fresh, again)  # the same vector fresh or from the cache
    (stored,) = cache._db.execute("SELECT vector FROM embeddings").fetchone()
    assert len(stored) == 2 * Fake.dim
    cache._db.execute("UPDATE embeddings SET vector = ?", (np.arange(4, dtype=np.float32).tobytes(),))
    assert np.array_equal(encoder.encode(["a text"])[0], np.arange(4, dtype=np.float32))  # an earlier float32 cache
