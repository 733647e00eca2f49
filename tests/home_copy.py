"""Private copies of the shared test home, taken from a copy no connection ever opened.

Copying the live home would open and close its SQLite files in the test
process, and closing a file drops every POSIX lock the process holds on it,
SQLite's own included (a documented SQLite pitfall): the session's open
connections lose their locks and the next connection to the index reads
"disk I/O error". So the shared home is copied once, right after it is built
and closed, and every private copy is made from that copy.
"""

from __future__ import annotations

import shutil
from pathlib import Path


def pristine(home: Path) -> Path:
    """Where the untouched copy of ``home`` lives."""
    return home.parent / f"{home.name}-pristine"


def keep_pristine(home: Path) -> None:
    """Copy ``home`` aside while no connection is open on it (call right after building it)."""
    shutil.copytree(home, pristine(home))


def copy_home(home: Path, target: Path) -> Path:
    """A private copy of the shared ``home`` at ``target`` (the assembled model cache is not copied)."""
    shutil.copytree(pristine(home), target, ignore=shutil.ignore_patterns(".cache"))
    return target
