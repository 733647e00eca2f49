"""One thread for the math of one question: small calls of torch and FAISS run fastest unparallelised.

A question's steps call the models with one text or a few (the question, a handful of sentences,
the reader's and the verifier's pairs) and FAISS with one query. Split over both cores, each of
their many small operations waits at a barrier until both threads have run; when the cores are
shared (another request, the generator, other jobs) that wait is most of the time. Measured at
load ~10 on the 2-core machine (docs/scaling.md): encoding one question took 1,856 ms with two
torch threads and 256 ms with one, 4 texts 2,106 against 674 ms, 32 texts the same either way;
a FAISS flat search over 100k vectors 144 against 57 ms. The vectors are the same to float32 rounding
(35 of 41 questions bitwise, the others within 1.2e-7, as a question encoded alone already differs
from the same question in a batch; tests/test_threads.py); the dev sets' answers are unchanged.

The thread counts are per calling thread (OpenMP's settings are), so a request thread inside
``one_thread`` does not slow down an ingest running beside it; torch and FAISS are only touched
if the process has loaded them.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def one_thread() -> Iterator[None]:
    """Run the block's torch and FAISS calls on one thread of this thread, then restore the counts."""
    torch, faiss = sys.modules.get("torch"), sys.modules.get("faiss")
    torch_threads = torch.get_num_threads() if torch is not None else 1
    faiss_threads = faiss.omp_get_max_threads() if faiss is not None else 1
    if torch_threads != 1:
        torch.set_num_threads(1)
    if faiss_threads != 1:
        faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        if torch_threads != 1:
            torch.set_num_threads(torch_threads)
        if faiss_threads != 1:
            faiss.omp_set_num_threads(faiss_threads)
