"""Keeping an index in line with its library: plan what changed, write each document, finish a generation.

``sync`` runs the plan in this process; ``rag.retrieval.distributed`` runs the
same plan with files prepared on Ray, through ``syncing``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path

from rag.core.errors import IndexDamaged
from rag.core.records import Document, IngestReport, Skipped
from rag.ingest.prepare import Prepared, prepare_document
from rag.ingest.read import IngestError, read_bytes, read_document, sha256_bytes

Progress = Callable[[int, int, str], None]  # (done, total, current doc_id)


@dataclasses.dataclass
class SyncPlan:
    """What a sync has to do, worked out from the library folder and the store before any write."""

    report: IngestReport  # unchanged and skipped files filled in
    todo: list[tuple[Path, str]]  # (path, doc_id) to (re)index
    gone: list[str]  # doc_ids stored but no longer in the library
    stored: dict[str, str]  # doc_id -> sha256 in the store when planned
    present: dict[str, str] = dataclasses.field(default_factory=dict)  # doc_id -> sha256 of each readable file


class Syncing:
    """The sync of an ``Index`` (a part of ``Index``): plan, removals, one transaction per document."""

    def sync(self, rebuild: bool = False, progress: Progress | None = None) -> IngestReport:
        """Bring the index in line with the library folder, one committed document at a time.

        The store's ``exclusive`` lock is held throughout, so two processes syncing one
        shared library take turns instead of indexing the same file twice.
        """
        with self.syncing(rebuild) as plan:
            report = plan.report
            for done, (path, doc_id) in enumerate(plan.todo):
                if progress:
                    progress(done, len(plan.todo), doc_id)
                    self.profile.listener = lambda stage, d=done, name=doc_id: progress(d, len(plan.todo), f"{name} · {stage}")
                try:
                    with self.profile.stage("read + extract"):
                        doc = self._read(plan, path, doc_id)
                    self._put(doc)
                except IngestError as exc:
                    self.record_failure(plan, doc_id, str(exc))
                    continue
                (report.updated if doc_id in plan.stored else report.added).append(doc_id)
            self.profile.listener = None
            if progress:
                progress(len(plan.todo), len(plan.todo), "")
        return report

    def _read(self, plan: SyncPlan, path: Path, doc_id: str) -> Document:
        """The file's ``Document``: the one ``add_files`` extracted if the file is unchanged since, else read now."""
        doc = self.read_ahead.pop(doc_id, None)
        if doc is not None and doc.sha256 == plan.present.get(doc_id):
            return doc
        return read_document(path, doc_id, int(self.settings.max_file_mb * 1e6))

    @contextlib.contextmanager
    def syncing(self, rebuild: bool = False) -> Iterator[SyncPlan]:
        """What every sync (plain or ``rag.retrieval.distributed``) does around writing the files in ``plan.todo``.

        Before: take the store's ``exclusive`` lock, forget everything if ``rebuild`` (or if the
        database is found damaged), plan, and remove the documents whose files are gone. After the
        body (only if it did not raise): record the corpus state, write the vector index, and count
        the chunks into the report.
        """
        try:
            with self.writing():
                if rebuild or self._found_damaged():
                    self.reset()
                plan = self.plan()
                self._apply_removals(plan)
                yield plan
                self._finish()
                plan.report.chunks = self.store.counts()["chunks"]
        finally:
            self.read_ahead.clear()  # for one sync only: a later one reads the files as they are then

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the writer lock (other processes wait their turn) and mark this process as the writer."""
        with self.store.exclusive():
            self._writing += 1
            try:
                yield
            finally:
                self._writing -= 1

    def _found_damaged(self) -> bool:
        """Whether the database cannot be read (then the sync rebuilds it from the library, saying so)."""
        if self.shared:
            return False
        try:
            self.store.manifest()
            self.store.document_hashes()
        except IndexDamaged as exc:
            self.replace_damaged_store(exc)
            return True
        return False

    def plan(self) -> SyncPlan:
        """Which library files are new or changed, which are unchanged, duplicates or unreadable, and which are gone.

        A file whose content hash is already stored under its name is left alone, so a
        sync (plain or on Ray) rerun after a crash only does what the crash left undone.
        """
        report = IngestReport()
        library = self.library()
        files = sorted(p for p in library.rglob("*") if p.is_file() and not p.name.startswith("."))
        stored = self.store.document_hashes()
        if stored:
            self.check_manifest()
        else:
            self.store.set_manifest(self.expected_manifest())
        present: dict[str, str] = {}  # doc_id -> sha256 of every readable file
        max_bytes = int(self.settings.max_file_mb * 1e6)
        for path in files:
            doc_id = path.relative_to(library).as_posix()
            try:
                present[doc_id] = sha256_bytes(read_bytes(path, max_bytes))
            except IngestError as exc:
                report.skipped.append(Skipped(doc_id, str(exc)))
        owner = {sha: doc_id for doc_id, sha in present.items() if stored.get(doc_id) == sha}
        todo: list[tuple[Path, str]] = []
        for doc_id, sha in present.items():
            if stored.get(doc_id) == sha:
                report.unchanged.append(doc_id)
            elif sha in owner:
                report.skipped.append(Skipped(doc_id, f"duplicate of {owner[sha]}"))
            else:
                owner[sha] = doc_id
                todo.append((library / doc_id, doc_id))
        return SyncPlan(report, todo, sorted(set(stored) - set(present)), stored, present)

    def _apply_removals(self, plan: SyncPlan) -> None:
        for doc_id in plan.gone:
            self._delete(doc_id)
            plan.report.removed.append(doc_id)

    def record_failure(self, plan: SyncPlan, doc_id: str, reason: str) -> None:
        """A file that cannot be indexed is skipped; an older indexed version of it goes."""
        plan.report.skipped.append(Skipped(doc_id, reason))
        if doc_id in plan.stored:
            self._delete(doc_id)
            plan.report.removed.append(doc_id)

    def write(self, prepared: Prepared) -> None:
        """Store one prepared document in one transaction."""
        with self.profile.stage("write"), self._lock:
            self.store.put_document(prepared.doc, prepared.chunks, prepared.vectors, prepared.units,
                                    prepared.multilingual)

    def reset(self) -> None:
        """Forget everything indexed, in place (the embedding cache is kept: it is keyed by content).

        No file is deleted: the server may have the database open. A database too
        damaged to clear is renamed aside and a new one started.
        """
        with self._lock:
            try:
                self.store.clear()  # type: ignore[attr-defined]
            except IndexDamaged as exc:
                self.replace_damaged_store(exc)
            self._vectors, self._vectors_generation = None, -1
            self.store.set_manifest(self.expected_manifest())

    def _put(self, doc: Document) -> None:
        """Split, chunk, embed (``rag.ingest.prepare``) and store one document in one transaction."""
        self.write(prepare_document(doc, self.settings, self.encoder, lambda: self.multilingual_encoder.encoder,
                                    self.profile))

    def _delete(self, doc_id: str) -> None:
        with self._lock:
            self.store.delete_document(doc_id)

    def _finish(self) -> None:
        """Record the corpus state and write the vector index for the new generation."""
        hashes = self.store.document_hashes()
        digest = hashlib.sha256(json.dumps(sorted(hashes.items())).encode()).hexdigest()
        self.store.set_manifest({"corpus_sha256": digest, "documents": json.dumps(sorted(hashes))})
        if not self.store.native_vectors:  # a shared store indexes vectors as they are written
            with self.profile.stage("vector index"), self._lock:
                self._vectors = None
                self.vectors()
        if self.multilingual_vectors()[0].size:
            with self.profile.stage("word lexicon"):
                self.lexicon()  # the non-English words encoded now, not on the next question
        with self.profile.stage("write"):
            self.store.checkpoint()  # fold the write-ahead log into the file: no stale copy stays on disk
            self.encoder.cache.checkpoint()
