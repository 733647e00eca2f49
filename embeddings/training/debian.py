"""Fetch and unpack the Debian documentation packages the trained models learn from.

Only packages named in ``TRAINING_PACKAGES`` may feed training; the dev corpora come from other
packages, so a model never sees the documents it is measured on. ``apt-get download`` needs no
root and no install; ``dpkg-deb -x`` unpacks without running maintainer scripts.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

TRAINING_PACKAGES = ("debian-faq", "apache2-doc", "vim-doc")
DEFAULT_CACHE = Path("var/train/debs")


def fetch(package: str, cache: Path = DEFAULT_CACHE) -> Path:
    """The unpacked root of ``package`` (downloaded once into ``cache``)."""
    if package not in TRAINING_PACKAGES:
        raise ValueError(f"{package} is not a training package: {', '.join(TRAINING_PACKAGES)}")
    root = cache / "x" / package
    if root.is_dir() and any(root.iterdir()):
        return root
    cache.mkdir(parents=True, exist_ok=True)
    debs = sorted(cache.glob(f"{package}_*.deb"))
    if not debs:
        subprocess.run(["apt-get", "download", package], cwd=cache, check=True,
                       stdout=subprocess.DEVNULL)
        debs = sorted(cache.glob(f"{package}_*.deb"))
    root.mkdir(parents=True, exist_ok=True)
    subprocess.run(["dpkg-deb", "-x", str(debs[-1]), str(root)], check=True)
    return root


def html_files(package: str, cache: Path = DEFAULT_CACHE) -> list[Path]:
    """Every HTML page the package ships, in a stable order (English pages only for apache2-doc)."""
    root = fetch(package, cache)
    pages = sorted(p for p in root.rglob("*.html") if p.is_file())
    if package == "apache2-doc":  # the manual ships a folder per language: manual/en/, manual/de/, ...
        pages = [p for p in pages if "en" in p.relative_to(root).parts]
    return pages
