"""The index of a corpus folder: open it, keep it in sync with the files, search its vectors.

The corpus folder (the "library") is the single truth about which documents
exist: ``sync`` adds new and changed files, drops removed ones and leaves
the rest alone. The manifest records what the index was built with, so an
index is never queried with a different encoder or chunking.

``Index`` is put together from parts by job: its library files and trash
(``rag.retrieval.library``), keeping it in sync (``rag.retrieval.sync``), and
here the components (encoders, manifest, FAISS lifecycle, cross-lingual
moments, word lexicon, translation cache) and the reads the answer layer makes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import logging
import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from embeddings import CachedEncoder, EmbeddingCache, load_encoder
from embeddings.multilingual import load_multilingual
from rag.core.calibration import calibrated
from rag.core.config import Settings
from rag.core.errors import DiskFull, IndexDamaged, IndexUnusable
from rag.core.profile import Profile
from rag.core.records import Document
from rag.ingest.chunk import TEXT_RULES_VERSION
from rag.ingest.extract import EXTRACTORS
from rag.models.translate import translation_key
from rag.retrieval.lexicon import Lexicon, encode_multilingual
from rag.retrieval.library import LibraryFiles
from rag.retrieval.sync import Syncing
from rag.store.crosslingual import SAMPLE as MOMENTS_SAMPLE, SEED as MOMENTS_SEED, CrossLingualScale, Moments
from rag.store.open import open_store
from rag.store.protocol import Store, VectorSearch, is_url
from rag.store.reads import StoredSentence
from rag.store.locking import writer_lock
from rag.store.sqlite import SCHEMA_VERSION, lock_path, set_aside
from rag.store.vectors import VECTORS_FILE, VectorIndex

LOG = logging.getLogger("rag.retrieval")
DATABASE_FILE = "chunks.sqlite"
TRANSLATIONS_KEPT = 512  # questions whose word translations are kept per generation (as encode_question keeps 512)


class IndexMismatch(IndexUnusable):
    """The index was built with other settings than the ones in use."""


class Index(LibraryFiles, Syncing):
    """One index: a store (SQLite + FAISS file here, or PostgreSQL), manifest, embedding cache.

    ``settings.store`` names a shared PostgreSQL store; the index directory then
    only holds this process's embedding cache.
    """

    def __init__(self, settings: Settings):
        self.settings = settings
        self.dir = settings.index
        self.dir.mkdir(parents=True, exist_ok=True)
        self.shared = is_url(settings.store)
        self._store_file = (-1, -1)  # (device, inode) of the SQLite file opened, to notice a replaced one
        self._store: Store = self._open_store()
        self._writing = 0  # > 0 while this process changes the index (under the writer lock)
        self._encoder: CachedEncoder | None = None
        self._vectors: VectorIndex | None = None
        self._vectors_generation = -1
        self._lock = threading.RLock()
        self._meta_cache: tuple[int, dict[str, dict]] = (-1, {})
        self._multilingual: tuple[int, np.ndarray, np.ndarray] | None = None
        self._moments: tuple[int, Moments | None, Moments | None] | None = None
        self._lexicon: tuple[int, Lexicon] | None = None
        self._translations: tuple[int, dict[tuple[str, float], dict[str, frozenset[str]]]] = (-1, {})
        self._multilingual_encoder: CachedEncoder | None = None
        self.read_ahead: dict[str, Document] = {}  # extractions made by ``add_files`` for the next sync
        self.profile = Profile()  # seconds per ingestion stage, for `rag ingest --profile`

    # -- the store file ---------------------------------------------------------------

    @property
    def store(self) -> Store:
        """The store; reopened first if another process's rebuild put a new database file in place (one stat)."""
        self._reopen_if_replaced()
        return self._store

    @store.setter
    def store(self, store: Store) -> None:
        self._store = store

    def _open_store(self) -> Store:
        """The store; a damaged SQLite file still opens as ``_DamagedStore``, so that `rag ingest` can replace it."""
        try:
            store: Store = open_store(self.settings.store or self.dir)  # a URL not understood raises here
        except IndexDamaged as exc:
            store = _DamagedStore(exc, self.dir / DATABASE_FILE)  # type: ignore[assignment]
        if not self.shared:
            with contextlib.suppress(OSError):
                found = (self.dir / DATABASE_FILE).stat()
                self._store_file = (found.st_dev, found.st_ino)
        return store

    def _reopen_if_replaced(self) -> None:
        """After another process set a damaged database aside and built a new one, use the new one (one stat)."""
        if self.shared:
            return
        try:
            found = (self.dir / DATABASE_FILE).stat()
        except OSError:
            return
        if (found.st_dev, found.st_ino) != self._store_file:
            with self._lock:
                # The old store is left to the garbage collector, not closed: another thread may be reading it.
                self._store = self._open_store()
                self._vectors, self._vectors_generation = None, -1

    def replace_damaged_store(self, error: IndexUnusable) -> None:
        """Set the damaged database aside (renamed, never deleted) and start an empty one; the caller holds the lock."""
        LOG.warning("%s; rebuilding it from the library", getattr(error, "found", error))
        with contextlib.suppress(Exception):
            self._store.close()
        set_aside(self.dir / DATABASE_FILE)
        self._store = self._open_store()

    # -- components ---------------------------------------------------------------

    @property
    def encoder(self) -> CachedEncoder:
        if self._encoder is None:
            cache = EmbeddingCache.open(self.dir / "embeddings.sqlite")  # a damaged one is set aside
            self._encoder = CachedEncoder(load_encoder(self.settings.embedding_model), cache)
        return self._encoder

    @property
    def multilingual_encoder(self) -> CachedEncoder:
        """The multilingual encoder (for non-English text), cached in the same embedding cache."""
        if self._multilingual_encoder is None:
            self._multilingual_encoder = CachedEncoder(load_multilingual(), self.encoder.cache)
        return self._multilingual_encoder

    def expected_manifest(self) -> dict[str, str]:
        return {
            "schema": SCHEMA_VERSION,
            "embedding_model": self.encoder.name,
            "dim": str(self.encoder.dim),
            "chunk_chars": str(self.settings.chunk_chars),
            "chunk_overlap_sentences": str(self.settings.chunk_overlap_sentences),
            "text_rules": TEXT_RULES_VERSION,
            "extractors": EXTRACTORS,
            "multilingual": str(self.settings.multilingual).lower(),
        }

    def check_manifest(self) -> None:
        """Raise ``IndexMismatch`` if the index was built with other settings."""
        stored = self.store.manifest()
        if not self.store.counts()["documents"]:
            return
        expected = self.expected_manifest()
        differences = [
            f"{key} {stored.get(key)!r} (now {value!r})" for key, value in expected.items() if stored.get(key) != value
        ]
        if differences:
            raise IndexMismatch(
                f"the index at {self.dir} was built with {', '.join(differences)}; "
                "rebuild it with `rag ingest --rebuild` or use the settings it was built with"
            )

    @property
    def generation(self) -> int:
        """The store's generation, read on every request: how a server sees another process's ingest."""
        return self.store.generation()

    @property
    def version(self) -> str:
        """A short id of the index state, for exports and evaluation runs."""
        manifest = self.store.manifest()
        return f"g{manifest.get('generation', '0')}-{manifest.get('corpus_sha256', '')[:12]}"

    def vectors(self) -> VectorIndex | VectorSearch:
        """The vector index for the current generation, loaded or rebuilt as needed (the store's own, if it has one)."""
        if self.store.native_vectors:
            return self.store.vector_search()  # type: ignore[attr-defined]
        with self._lock:
            generation = self.generation
            if self._vectors is not None and self._vectors_generation == generation:
                return self._vectors
            vectors = self._saved_vectors(generation)
            if vectors is None:
                generation, ids, matrix = self.store.vectors_at(self.encoder.dim)  # type: ignore[attr-defined]
                vectors = VectorIndex.build(ids, matrix, self.encoder.dim)
                self._save_vectors(vectors, generation)
            self._vectors, self._vectors_generation = vectors, generation
            return vectors

    def _saved_vectors(self, generation: int) -> VectorIndex | None:
        """vectors.faiss if the store records it as this generation's and its checksum matches, else None.

        A writer may replace the file between the manifest and the file being read;
        then the checksum or the file's inode differs and both are read again.
        """
        path = self.dir / VECTORS_FILE
        for _attempt in range(3):
            manifest = self.store.manifest()
            if manifest.get("vectors_generation") != str(generation):
                return None
            try:
                with open(path, "rb") as handle:
                    inode = os.fstat(handle.fileno()).st_ino
                    digest = _sha256(handle)
                if digest != manifest.get("vectors_sha256"):
                    continue
                vectors = VectorIndex.load(path, self.encoder.dim)
                if os.stat(path).st_ino == inode:
                    return vectors
            except (RuntimeError, ValueError, OSError):
                return None  # missing, damaged or foreign file: rebuilt from the store
        return None

    def _save_vectors(self, vectors: VectorIndex, generation: int) -> None:
        """Save the file for ``generation`` if this process may write now (a writer saves its own at its end).

        Only the holder of the writer lock writes, so the file and the manifest entry
        naming it change together; a reader that cannot save keeps the vectors in memory.
        """
        path = self.dir / VECTORS_FILE
        with self.store.try_exclusive() as mine:  # type: ignore[attr-defined]
            if not mine or self.store.generation() != generation:
                return
            try:
                vectors.save(path)
                self.store.set_manifest({"vectors_generation": str(generation), "vectors_sha256": _file_sha256(path)})
            except DiskFull as exc:
                if self._writing:
                    raise
                LOG.warning("%s", exc)  # a reader answers from memory all the same

    def doc_meta(self) -> dict[str, dict]:
        """doc_id -> {title, date, lang}, cached per index generation."""
        generation = self.generation
        if self._meta_cache[0] != generation:
            self._meta_cache = (generation, {d["doc_id"]: d for d in self.store.documents()})
        return self._meta_cache[1]

    # -- reading for retrieval and answers ----------------------------------------------

    def multilingual_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """(chunk id, vector) of every non-English sentence, loaded once per generation."""
        generation = self.generation
        if self._multilingual is None or self._multilingual[0] != generation:
            ids, matrix = self.store.multilingual_vectors()
            self._multilingual = (generation, ids, matrix)
        return self._multilingual[1], self._multilingual[2]

    def crosslingual_scale(self, question_vector: np.ndarray, question_ml: np.ndarray,
                           z_scale: float | None = None, hub_weight: float | None = None) -> CrossLingualScale | None:
        """How a question's multilingual similarities read on its English scale; None without non-English text.

        ``question_vector`` and ``question_ml`` are the question encoded by the English and the multilingual
        encoder; ``z_scale`` and ``hub_weight`` override the calibrated spread and hubness weight (for
        calibrating them).
        """
        english, multilingual = self._vector_moments()
        if english is None or multilingual is None:
            return None
        calibration = calibrated(self.encoder.name)
        z_scale = calibration.crosslingual_z if z_scale is None else z_scale
        hub_weight = calibration.crosslingual_hub if hub_weight is None else hub_weight
        return CrossLingualScale.for_question(english, multilingual, question_vector, question_ml, z_scale, hub_weight)

    def _vector_moments(self) -> tuple[Moments | None, Moments | None]:
        """The moments of both encoders' vectors over the library, computed once per generation."""
        generation = self.generation
        if self._moments is None or self._moments[0] != generation:
            _ids, multilingual = self.multilingual_vectors()
            english = None
            if len(multilingual):
                english = Moments.of(self.store.sample_vectors(self.encoder.dim, MOMENTS_SAMPLE, MOMENTS_SEED))
            self._moments = (generation, english, Moments.of(multilingual, hubs=True))
        return self._moments[1], self._moments[2]

    def lexicon(self) -> Lexicon:
        """The words of the non-English documents with their multilingual vectors, built once per generation and
        process (at the end of an ingest, or on the first question of a process that did not ingest)."""
        generation = self.generation
        if self._lexicon is None or self._lexicon[0] != generation:
            others = [d["doc_id"] for d in self.doc_meta().values() if (d.get("lang") or "en") != "en"]
            texts = (doc.text for doc in map(self.store.document, others) if doc is not None)
            self._lexicon = (generation, Lexicon.of(texts, self._encode_uncached))
        return self._lexicon[1]

    def _encode_uncached(self, words: list[str]) -> np.ndarray:
        """Multilingual vectors of the lexicon's words, at the precision the embedding cache keeps (float16), but not
        written to it: a library's vocabulary would double the index on disk (about 1.5 KB a word). A question's
        words are encoded with the question (``rag.retrieval.lexicon.encode_multilingual``)."""
        return self.multilingual_encoder.encoder.encode(words).astype(np.float16).astype(np.float32)

    def word_translations(self, question: str, threshold: float | None = None) -> dict[str, frozenset[str]]:
        """The question's words -> their translations among the non-English documents' words (``rag.retrieval.lexicon``).

        ``threshold`` overrides the calibrated ``lexicon_threshold`` (for calibrating it).
        """
        if not self.multilingual_vectors()[0].size:
            return {}
        threshold = calibrated(self.encoder.name).lexicon_threshold if threshold is None else threshold
        generation = self.generation
        if self._translations[0] != generation:
            self._translations = (generation, {})
        kept = self._translations[1]  # retrieval and evidence both ask for one question's translations
        if (question, threshold) not in kept:
            if len(kept) >= TRANSLATIONS_KEPT:
                kept.clear()
            asked = encode_multilingual(self.multilingual_encoder.encoder, question)  # the question's one encoding
            kept[question, threshold] = self.lexicon().translations(asked, threshold)
        return kept[question, threshold]

    def sentences_in(self, doc_id: str, start: int, end: int) -> list[StoredSentence]:
        """The units of ``doc_id`` inside ``[start, end)``, with their vectors (encoded once, then cached)."""
        found = self.store.sentences_in(doc_id, start, end)
        if not found:
            return []
        vectors = self.encoder.encode([s.text for s in found])
        return [StoredSentence(s.doc_id, s.start, s.end, s.text, s.text_en, vectors[i], s.vector_ml, s.kind)
                for i, s in enumerate(found)]

    def sentence_beside(self, doc_id: str, position: int, after: bool) -> StoredSentence | None:
        """The unit just after (or before) ``position`` in ``doc_id``, with its vectors."""
        found = self.store.sentence_beside(doc_id, position, after)
        if found is None:
            return None
        return dataclasses.replace(found, vector=self.encoder.encode([found.text])[0])

    def text_span(self, doc_id: str, start: int, end: int) -> str:
        return self.store.text_span(doc_id, start, end)

    def translation(self, text: str, lang: str, translate: Callable[[str, str], str]) -> str:
        """The English rendering of ``text``, made by ``translate`` once and then read from the index."""
        key = translation_key(text, lang)
        cached = self.store.cached_translation(key)
        if cached is None:
            cached = translate(text, lang)
            self.store.cache_translation(key, cached)
        return cached

    def cached_translation(self, text: str, lang: str) -> str | None:
        """The English rendering of ``text`` if one was made before, without making one."""
        return self.store.cached_translation(translation_key(text, lang))

    def mentions(self, doc_ids: list[str], terms: list[str]) -> dict[str, int]:
        return self.store.mentions(doc_ids, terms)

    def close(self) -> None:
        """Close the store and the embedding cache (no file of this index stays open)."""
        self.store.close()
        if self._encoder is not None:
            self._encoder.cache.close()

    # -- full-text statistics, for the answer layer ------------------------------------

    def term_document_frequency(self, terms: Iterable[str], chunk_ids: Iterable[str] | None = None) -> dict[str, int]:
        """In how many passages (of ``chunk_ids``, if given) each term occurs: full-text matching, so stemmed,
        case and accents folded."""
        return self.store.term_document_frequency(terms, chunk_ids)

    def passage_count(self) -> int:
        """How many passages (chunks) the index holds: the N of inverse document frequency."""
        return self.store.counts()["chunks"]


class _DamagedStore:
    """Stands in for a chunk store that cannot be opened: any use raises why, closing is a no-op."""

    def __init__(self, error: IndexDamaged, path: Path):
        self._error = error
        self._path = path

    def close(self) -> None:
        pass

    def exclusive(self) -> contextlib.AbstractContextManager[bool]:
        return writer_lock(lock_path(self._path))  # the rebuild that replaces the file takes turns like any writer

    def __getattr__(self, name: str):
        raise IndexDamaged(self._error.found)


def _sha256(handle) -> str:
    """A flipped byte in the vector file still loads in FAISS; only a checksum notices it."""
    digest = hashlib.sha256()
    for block in iter(lambda: handle.read(1 << 20), b""):
        digest.update(block)
    return digest.hexdigest()


def _file_sha256(path: Path) -> str:
    with open(path, "rb") as handle:
        return _sha256(handle)
