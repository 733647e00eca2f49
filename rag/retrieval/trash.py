"""The trash: removed documents are moved here, never deleted, so a removal can be undone.

Each removal is a folder ``<home>/trash/<time>-<n>/`` holding the file under its
doc_id path and a small ``entry.json``. ``restore`` only ever moves a file that a
trash entry names back to the library path that entry records, so no name typed
by a user can make it read or write anywhere else.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

ENTRY_FILE = "entry.json"


class TrashError(ValueError):
    """A restore that cannot be done; the message says why in one line."""


@dataclass(frozen=True)
class TrashEntry:
    doc_id: str
    removed_at: str  # UTC, ISO 8601
    folder: Path

    @property
    def file(self) -> Path:
        return self.folder / "file" / self.doc_id

    def to_dict(self) -> dict[str, str]:
        return {"doc_id": self.doc_id, "removed_at": self.removed_at}


class Trash:
    """One trash folder (``<home>/trash``)."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def put(self, library: Path, doc_id: str) -> TrashEntry:
        """Move ``library/doc_id`` into a new entry (the caller has checked it lies inside the library)."""
        source = library / doc_id
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        for n in range(1, 10_000):
            folder = self.folder / f"{stamp}-{n:04d}"
            try:
                folder.mkdir(parents=True)
                break
            except FileExistsError:
                continue
        else:  # pragma: no cover - ten thousand removals in one second
            raise TrashError("the trash is busy; try again")
        entry = TrashEntry(doc_id, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), folder)
        entry.file.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(source), str(entry.file))
        (folder / ENTRY_FILE).write_text(json.dumps(entry.to_dict()), encoding="utf-8")
        return entry

    def entries(self) -> list[TrashEntry]:
        """Every restorable entry, newest first; unreadable or tampered entries are left out."""
        if not self.folder.is_dir():
            return []
        found = []
        for folder in self.folder.iterdir():
            try:
                data = json.loads((folder / ENTRY_FILE).read_text(encoding="utf-8"))
                entry = TrashEntry(str(data["doc_id"]), str(data["removed_at"]), folder)
            except (OSError, ValueError, KeyError, TypeError):
                continue
            if _inside(entry.file, folder) and entry.file.is_file() and not entry.file.is_symlink():
                found.append(entry)
        return sorted(found, key=lambda e: e.folder.name, reverse=True)

    def restore(self, library: Path, doc_id: str) -> Path:
        """Move the newest removed copy of ``doc_id`` back into the library; returns its path there."""
        entry = next((e for e in self.entries() if e.doc_id == doc_id), None)
        if entry is None:
            raise TrashError(f"{doc_id} is not in the trash")
        target = library / entry.doc_id
        if not _inside(target, library):
            raise TrashError(f"{doc_id} would land outside the library")
        if target.exists() or target.is_symlink():
            raise TrashError(f"the library already has a document named {doc_id}; remove or rename it first")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(entry.file), str(target))
        shutil.rmtree(entry.folder, ignore_errors=True)
        return target


def _inside(path: Path, folder: Path) -> bool:
    folder = folder.resolve()
    return folder in path.resolve().parents
