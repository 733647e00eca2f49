"""The library folder's files: what may be added, under which name, and the trash a removal goes to.

The folder is the single truth about which documents exist; these are the
``Index`` methods that change it (the sync that follows reads it).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path

from rag.core.config import BUNDLED_CORPUS
from rag.core.records import Document, IngestReport, Skipped
from rag.ingest.read import IngestError, read_document, sha256_bytes
from rag.retrieval.trash import Trash


class LibraryFiles:
    """Adding, removing and restoring files of an ``Index``'s library (a part of ``Index``)."""

    read_ahead: dict[str, Document]  # doc_id -> the extraction ``add_files`` made, until the next sync

    def library(self) -> Path:
        """The corpus folder; the default one starts as a copy of the bundled articles."""
        folder = self.settings.library
        if self.settings.corpus_dir is None and not folder.exists():
            shutil.copytree(BUNDLED_CORPUS, folder)
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def add_files(self, paths: Iterable[Path]) -> tuple[list[str], list[Skipped]]:
        """Copy files (or the files in folders) into the library after checking they can be read.

        Only file names are kept, so no name can point outside the library.
        Returns the new doc ids and the files skipped, with reasons. The check is
        the whole extraction, so its ``Document`` is kept for the sync that follows
        (``read_ahead``): each added file is read and extracted once. The writer lock is
        held, so two processes adding the same content keep one copy.
        """
        with self.writing():
            return self._add_files(paths)

    def _add_files(self, paths: Iterable[Path]) -> tuple[list[str], list[Skipped]]:
        library = self.library()
        added, skipped = [], []
        owner = {sha: doc_id for doc_id, sha in self.store.document_hashes().items()}  # content -> its document
        for path in _expand(paths, skipped):
            target = library / _safe_name(path.name)
            if target.is_symlink() or (target.exists() and sha256_bytes(target.read_bytes()) != sha256_bytes(path.read_bytes())):
                target = _free_name(target)
            doc_id = target.relative_to(library).as_posix()
            try:
                doc = read_document(path, doc_id, int(self.settings.max_file_mb * 1e6))
            except IngestError as exc:
                skipped.append(Skipped(str(path), str(exc)))
                continue
            first = owner.setdefault(doc.sha256, doc_id)
            if first != doc_id:  # a copy is not kept: the library folder holds what the index lists, once
                skipped.append(Skipped(str(path), f"duplicate of {first}; not added"))
                continue
            self.read_ahead[doc_id] = doc
            if not (target.exists() and target.samefile(path)):
                tmp = target.with_name("." + target.name + ".part")
                tmp.unlink(missing_ok=True)  # copying onto a planted link would write through it, outside
                shutil.copyfile(path, tmp)
                tmp.replace(target)
            added.append(doc_id)
        return added, skipped

    def remove(self, doc_id: str) -> bool:
        """Move a document's file, and every copy of its content in the library, to the trash; drop it from the index.

        A copy (placed by hand beside the original, and skipped as its duplicate) would
        otherwise be indexed by the next sync: the removed content would come back.
        The writer lock is held throughout, so an ingest running meanwhile waits its turn.
        """
        with self.writing():
            return self._remove(doc_id)

    def _remove(self, doc_id: str) -> bool:
        library = self.library().resolve()
        path = (library / doc_id).resolve()
        if library not in path.parents:
            raise ValueError(f"not a document of this library: {doc_id}")
        existed = path.is_file()
        if existed:
            trash = Trash(self.settings.home / "trash")
            for copy in _copies(library, path):
                trash.put(library, copy.relative_to(library).as_posix())
            trash.put(library, path.relative_to(library).as_posix())
        if doc_id in self.store.document_hashes():
            self._delete(doc_id)
            existed = True
        self._finish()
        return existed

    def restore(self, doc_id: str) -> IngestReport:
        """Move a removed document back from the trash and index it again."""
        with self.writing():
            Trash(self.settings.home / "trash").restore(self.library().resolve(), doc_id)
            return self.sync()


def _expand(paths: Iterable[Path], skipped: list[Skipped]) -> list[Path]:
    """The files among ``paths`` and inside folders among them; links and missing paths go to ``skipped``."""
    found: list[Path] = []
    for path in map(Path, paths):
        if path.is_symlink():
            skipped.append(Skipped(str(path), "symbolic links are not followed"))
        elif path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.is_file() and not p.is_symlink() and not p.name.startswith("."))
        elif path.is_file():
            found.append(path)
        else:
            skipped.append(Skipped(str(path), "no such file"))
    return found  # whether a file is readable is decided by its content, in read_document


def _copies(library: Path, original: Path) -> list[Path]:
    """The other files of the library with the same bytes as ``original`` (same size first, then same hash)."""
    size, digest = original.stat().st_size, None
    found = []
    for path in sorted(library.rglob("*")):
        if path == original or not path.is_file() or path.is_symlink() or path.name.startswith("."):
            continue
        if path.stat().st_size == size:
            digest = digest or sha256_bytes(original.read_bytes())
            if sha256_bytes(path.read_bytes()) == digest:
                found.append(path)
    return found


def _safe_name(name: str) -> str:
    """Letters, digits and ``._- `` only, never hidden, and still ending in the file's type."""
    suffix = Path(name).suffix
    cleaned = "".join(ch if ch.isalnum() or ch in "._- " else "_" for ch in Path(name).name).strip(". ")
    if not cleaned.endswith(suffix):  # "..txt" would become "txt", a file sync never reads
        cleaned = (cleaned or "document") + suffix
    return cleaned or "document.txt"


def _free_name(target: Path) -> Path:
    for n in range(2, 10_000):
        candidate = target.with_name(f"{target.stem}-{n}{target.suffix}")
        if not candidate.exists() and not candidate.is_symlink():
            return candidate
    raise IngestError(f"too many files named {target.name}")
