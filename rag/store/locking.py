"""One writer at a time on an index: a file lock shared by every process, re-entrant inside one.

``rag ingest``, ``rag remove`` and the server's uploads all change an index; they
take turns through an ``flock`` on a file beside the database. A process waiting
for its turn says so once ("index is busy"), so a stalled command is never a
mystery. Inside one process the lock is re-entrant (a sync that ends by writing
the vector file holds it once) and threads take turns on it as well.
"""

from __future__ import annotations

import fcntl
import logging
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import IO

LOG = logging.getLogger("rag.store")


class _WriterLock:
    """The lock of one lock file in this process: a thread lock, and the flock while any thread holds it."""

    def __init__(self, path: Path):
        self.path = path
        self.threads = threading.RLock()
        self.depth = 0
        self.handle: IO[str] | None = None

    def _take_file(self, wait: bool) -> bool:
        handle = open(self.path, "a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not wait:
                handle.close()
                return False
            LOG.warning("the index at %s is busy (another process is writing it); waiting for it to finish",
                        self.path.parent)
            fcntl.flock(handle, fcntl.LOCK_EX)
        self.handle = handle
        return True

    def _release_file(self) -> None:
        assert self.handle is not None
        fcntl.flock(self.handle, fcntl.LOCK_UN)
        self.handle.close()
        self.handle = None

    @contextmanager
    def hold(self, wait: bool) -> Iterator[bool]:
        """Yield True while this thread holds the lock; without ``wait``, yield False at once if another does."""
        if not self.threads.acquire(blocking=wait):
            yield False
            return
        try:
            if self.depth == 0 and not self._take_file(wait):
                yield False
                return
            self.depth += 1
            try:
                yield True
            finally:
                self.depth -= 1
                if self.depth == 0:
                    self._release_file()
        finally:
            self.threads.release()


_LOCKS: dict[Path, _WriterLock] = {}
_GUARD = threading.Lock()


def writer_lock(path: Path, wait: bool = True) -> AbstractContextManager[bool]:
    """The writer lock at ``path`` (a ``.lock`` file beside the database): ``with writer_lock(p) as held: ...``."""
    key = Path(path).absolute()
    with _GUARD:
        lock = _LOCKS.setdefault(key, _WriterLock(key))
    return lock.hold(wait)

