"""``rag ingest --ray``: extract, chunk and embed the library's files on a Ray cluster.

The driver plans the sync exactly as the plain loop does (``Index.plan``:
files whose content hash is already stored are skipped, so a rerun after a
crash does only the rest), reads each file and ships its bytes to a pool of
Ray actors, each holding one encoder. Each actor runs ``rag.ingest.prepare`` — the
same pure function as the plain loop — and the driver writes every result in
its own transaction as it arrives. A worker that dies is restarted by Ray and
its task retried; if the driver dies, what was written stays written.

Ray actors through an ``ActorPool`` rather than a Ray Data pipeline: the encoder
is loaded once per actor either way, and results must come back, in any order,
to the one process that writes them. Ray Data was not measured against this.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass

from embeddings import load_encoder
from embeddings.multilingual import load_multilingual
from rag.core.config import PROJECT_ROOT, Settings
from rag.core.records import IngestReport
from rag.ingest.prepare import prepare_bytes
from rag.ingest.read import IngestError, read_bytes
from rag.retrieval.index import Index

Progress = Callable[[int, int, str], None]
OBJECT_STORE_BYTES = 300 * 1024 * 1024  # a local cluster started here: small, the payloads are single files
ACTOR_RETRIES = 3


class RayUnavailable(Exception):
    """Ray cannot be used as asked; the message says how to fix it."""


@dataclass(frozen=True)
class Outcome:
    """What a worker sends back for one file: the prepared document, or why it could not be indexed."""

    doc_id: str
    prepared: object | None  # rag.ingest.prepare.Prepared
    error: str | None


def check_address(address: str, timeout: float = 3.0) -> None:
    """Fail fast with one line when nothing answers at ``address`` (Ray itself retries for a minute)."""
    if address == "auto":
        return
    target = address.removeprefix("ray://")
    host, _, port = target.rpartition(":")
    if not host or not port.isdigit():
        raise RayUnavailable(f"bad Ray address {address!r}: use HOST:PORT of the head node (e.g. 127.0.0.1:6379), "
                             "or --ray alone for a local cluster")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            pass
    except OSError as exc:
        raise RayUnavailable(f"no Ray cluster answers at {address} ({exc.strerror or exc}): start one with "
                             "`ray start --head` or use --ray alone for a local cluster") from None


def connect(address: str | None, workers: int) -> bool:
    """Join the cluster at ``address`` or start a local one; True if this process started it."""
    try:
        import ray
    except ImportError:
        raise RayUnavailable("`rag ingest --ray` needs the scale extra: pip install 'cited-rag[scale]'") from None
    env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")])),
           "HF_HUB_OFFLINE": os.environ.get("HF_HUB_OFFLINE", "1"), "TOKENIZERS_PARALLELISM": "false"}
    if address and address not in {"local"}:
        if address != "auto":
            check_address(address)
        try:
            ray.init(address=address, runtime_env={"env_vars": env}, logging_level="ERROR", log_to_driver=False)
        except (ConnectionError, RuntimeError) as exc:
            raise RayUnavailable(f"cannot join the Ray cluster at {address} ({str(exc).splitlines()[0]}): "
                                 "check `ray status` on the head node") from None
        return False
    ray.init(address="local", num_cpus=max(workers, 1), include_dashboard=False, object_store_memory=OBJECT_STORE_BYTES,
             runtime_env={"env_vars": env}, logging_level="ERROR", log_to_driver=False)
    return True


def _preparer_class():
    import ray

    @ray.remote(num_cpus=1, max_restarts=ACTOR_RETRIES, max_task_retries=ACTOR_RETRIES)
    class Preparer:
        """One encoder per actor; ``prepare`` is ``rag.ingest.prepare.prepare_bytes`` on one file."""

        def __init__(self, settings: Settings):
            self.settings = settings
            self.encoder = load_encoder(settings.embedding_model)
            self._multilingual = None

        def multilingual(self):
            if self._multilingual is None:
                self._multilingual = load_multilingual()
            return self._multilingual

        def pid(self) -> int:
            return os.getpid()

        def prepare(self, data: bytes, doc_id: str) -> Outcome:
            try:
                prepared = prepare_bytes(data, doc_id, self.settings, self.encoder, self.multilingual)
            except IngestError as exc:
                return Outcome(doc_id, None, str(exc))
            return Outcome(doc_id, prepared.without_blocks(), None)

    return Preparer


def ray_sync(index: Index, address: str | None = None, workers: int = 2, rebuild: bool = False,
             progress: Progress | None = None) -> IngestReport:
    """Bring the store in line with the library, preparing files on Ray; the same report as ``Index.sync``."""
    import ray
    from ray.util import ActorPool

    connect(address, workers)
    try:
        with index.syncing(rebuild) as plan:
            report = plan.report
            total = len(plan.todo)
            if total:
                settings = index.settings
                actors = [_preparer_class().remote(settings) for _ in range(max(1, min(workers, total)))]
                pool = ActorPool(actors)
                max_bytes = int(settings.max_file_mb * 1e6)
                done = 0

                def readable():  # read lazily: only the files in flight are held in memory
                    nonlocal done
                    for path, doc_id in plan.todo:
                        try:
                            yield read_bytes(path, max_bytes), doc_id
                        except IngestError as exc:
                            index.record_failure(plan, doc_id, str(exc))
                            done += 1

                for outcome in pool.map_unordered(lambda actor, item: actor.prepare.remote(*item), readable()):
                    if progress:
                        progress(done, total, outcome.doc_id)
                    if outcome.error is not None:
                        index.record_failure(plan, outcome.doc_id, outcome.error)
                    else:
                        index.write(outcome.prepared)
                        (report.updated if outcome.doc_id in plan.stored else report.added).append(outcome.doc_id)
                    done += 1
                for actor in actors:
                    ray.kill(actor)
            if progress:
                progress(total, total, "")
        return report
    finally:
        ray.shutdown()  # a local cluster stops; a joined one goes on serving others
