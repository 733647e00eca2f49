"""``embeddings.threads.one_thread``: a question's math on one thread, the same numbers, the counts restored."""

from __future__ import annotations

import threading

import faiss
import numpy as np
import torch

from embeddings import load_encoder
from embeddings.threads import one_thread
from rag import Settings
from rag.store.vectors import VectorIndex

TEXTS = ["Which port does the mail server listen on?", "Postfix listens on port 25 for SMTP.",
         "The quota is 10 GiB per user by default, and it can be raised by an administrator."] * 3


def test_one_thread_gives_the_same_vectors_and_neighbours_and_restores_the_counts():
    encoder = load_encoder(Settings().embedding_model)
    torch.set_num_threads(2)
    faiss.omp_set_num_threads(2)
    spread = encoder.encode(TEXTS)
    with one_thread():
        assert torch.get_num_threads() == 1 and faiss.omp_get_max_threads() == 1
        alone = encoder.encode(TEXTS)
        single = encoder.encode(TEXTS[:1])
    assert torch.get_num_threads() == 2 and faiss.omp_get_max_threads() == 2
    assert np.allclose(spread, alone, rtol=0, atol=1e-6)  # float32 rounding at most (the order of a sum)
    assert np.allclose(single[0], encoder.encode(TEXTS[:1])[0], rtol=0, atol=1e-6)
    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((5000, spread.shape[1])).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = VectorIndex.build(np.arange(5000), vectors, spread.shape[1])
    with one_thread():
        found = index.search(spread[0], 30)
    assert found == index.search(spread[0], 30)


def test_another_threads_counts_are_left_alone():
    faiss.omp_set_num_threads(2)
    seen = []
    inside, done = threading.Event(), threading.Event()

    def answer():
        with one_thread():
            inside.set()
            done.wait(10)

    worker = threading.Thread(target=answer)
    worker.start()
    inside.wait(10)
    seen.append(faiss.omp_get_max_threads())  # OpenMP's setting belongs to the thread that made it
    done.set()
    worker.join()
    assert seen == [2]
