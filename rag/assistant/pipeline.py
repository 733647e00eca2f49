"""The assistant: the one object the CLI, the chat UI, evaluation and export talk to.

It owns an opened index and a generator, both loaded once and shared by
every conversation (models are cached per process; see ``load_encoder`` and
``load_generator``). Conversations are plain lists of ``Turn`` held by the
caller, so the assistant itself keeps no per-user state.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Collection, Iterable, Iterator
from pathlib import Path

import lxml.etree
import lxml.html

from embeddings.threads import one_thread
from rag.answer import Answerer, ModalAnswerer
from rag.answer.answerer import early_quotes
from rag.assistant.conversation import resolve
from rag.core.config import AskOptions, Settings
from rag.core.progress import CancellableGenerator, CancelToken, Quotes, cancellable
from rag.core.records import Answer, Document, Hit, IngestReport, Turn
from rag.models.generate import Generator, GeneratorError, load_generator
from rag.retrieval.index import Index
from rag.retrieval.retrieve import BadQuestion, Scoped, retrieve
from rag.retrieval.sync import Progress
from rag.retrieval.trash import Trash

MAX_QUESTION_CHARS = 2000
MARKUP = re.compile(r"<\s*/?\s*[A-Za-z!][^<>]*>")  # a tag, closing tag or comment pasted into a question
HIDDEN_ELEMENTS = "//script|//style|//template|//noscript"


class Assistant:
    """Ask questions about the documents in one library, with cited, verified answers.

    ``answerer`` is the answering strategy (default: ``ModalAnswerer``, which picks
    summary, generative or extractive answers by ``Settings.answer_mode``, with the
    word-overlap verifier); any ``rag.answer.Answerer`` plugs in here. ``index``
    shares an open index (another model over the same library); it is then not
    closed here.
    """

    def __init__(self, settings: Settings | None = None, answerer: Answerer | None = None,
                 index: Index | None = None):
        self.settings = settings or Settings.from_env()
        self.answerer: Answerer = answerer or ModalAnswerer()  # summaries, generative or extractive answers
        self.index = index if index is not None else Index(self.settings)
        self._owns_index = index is None
        self._generator: Generator | None = None
        self._generator_loaded = False
        self._ingest_lock = threading.Lock()

    # -- documents ----------------------------------------------------------------

    def ingest(self, paths: Iterable[Path | str] = (), rebuild: bool = False,
               progress: Progress | None = None) -> IngestReport:
        """Add files (copied into the library) and bring the index up to date with the library."""
        with self._ingest_lock:
            _added, skipped = self.index.add_files([Path(p) for p in paths]) if paths else ([], [])
            report = self.index.sync(rebuild=rebuild, progress=progress)
            report.skipped = skipped + report.skipped
            return report

    def remove(self, doc_id: str) -> bool:
        """Move a document from the library to the trash and drop it from the index."""
        with self._ingest_lock:
            return self.index.remove(doc_id)

    def restore(self, doc_id: str) -> IngestReport:
        """Bring the most recently removed ``doc_id`` back from the trash and index it again."""
        with self._ingest_lock:
            return self.index.restore(doc_id)

    def trash(self) -> list[dict]:
        """What can be restored: doc_id, removed_at (newest first)."""
        return [entry.to_dict() for entry in Trash(self.settings.home / "trash").entries()]

    def documents(self) -> list[dict]:
        """Every indexed document: doc_id, title, date, lang, chars, chunks."""
        return self.index.store.documents()

    def document(self, doc_id: str) -> Document | None:
        return self.index.store.document(doc_id)

    def ensure_index(self, progress: Progress | None = None) -> IngestReport | None:
        """Build the index on first use (the bundled articles); leave an existing one alone."""
        if self.index.store.counts()["documents"]:
            self.index.check_manifest()
            return None
        return self.ingest(progress=progress)

    # -- questions ----------------------------------------------------------------

    @property
    def generator(self) -> Generator | None:
        if not self._generator_loaded:
            self._generator = load_generator(self.settings)
            self._generator_loaded = True
        return self._generator

    def warm_up(self) -> None:
        """Load the encoders, the index and the generator now, so the first question is as quick as the rest."""
        self.search("warm up")
        try:
            if self.generator is not None:
                self.answerer.warm_up(self.generator)
        except GeneratorError:
            pass  # reported with the first answer, where the user sees it

    def search(self, question: str, k: int | None = None, doc_ids: Collection[str] | None = None) -> list[Hit]:
        """The best passages for ``question`` (no generation), optionally only among ``doc_ids``."""
        question = check_question(question)
        return retrieve(self.index, question, k=k or self.settings.top_k, candidates=self.settings.candidates,
                        rrf_k=self.settings.rrf_k, doc_ids=doc_ids).hits

    def stream(self, question: str, history: list[Turn] | tuple[Turn, ...] = (), options: AskOptions | None = None,
               doc_ids: Collection[str] | None = None, cancel: CancelToken | None = None,
               quotes_first: bool = False) -> Iterator[str | Quotes | Answer]:
        """Yield pieces of answer text as they are verified, then the finished ``Answer``.

        ``options`` change top-k, temperature or strictness for this call only; ``doc_ids``
        limits retrieval (and so every citation) to those documents. With ``quotes_first``
        a ``Quotes`` record (the evidence to be cited) comes before the text, as soon as
        the evidence is chosen. ``cancel`` stops the stream between steps and between
        the model's tokens: ``Cancelled`` is raised and the model is free at once.
        """
        question = check_question(question)
        resolved = resolve(question, history)
        settings = options.apply(self.settings) if options is not None else self.settings
        index = Scoped(self.index, doc_ids) if doc_ids is not None else self.index
        generator = self.generator
        if cancel is not None:
            cancel.check()
            if generator is not None:
                generator = CancellableGenerator(generator, cancel)
        own_quotes = quotes_first and getattr(self.answerer, "yields_quotes", False)
        if quotes_first and not own_quotes:
            with one_thread():
                quotes = early_quotes(index, settings, question, resolved)  # one extra retrieval for other answerers
            if cancel is not None:
                cancel.check()
            if quotes is not None:
                yield quotes
        events = (self.answerer.stream(index, generator, settings, question, resolved,  # type: ignore[arg-type]
                                       quotes_first=True) if own_quotes
                  else self.answerer.stream(index, generator, settings, question, resolved))  # type: ignore[arg-type]
        for event in cancellable(_one_thread_each(iter(events)), cancel):
            if isinstance(event, Quotes) and not quotes_first:
                continue
            yield event

    def ask(self, question: str, history: list[Turn] | tuple[Turn, ...] = (), options: AskOptions | None = None,
            doc_ids: Collection[str] | None = None) -> Answer:
        """Answer one question (with earlier turns for follow-ups)."""
        for event in self.stream(question, history, options, doc_ids):
            if isinstance(event, Answer):
                return event
        raise RuntimeError("the answer stream ended without an answer")  # pragma: no cover

    def info(self) -> dict:
        """What is loaded: documents, chunks, models, index location and size."""
        counts = self.index.store.counts()
        size = sum(p.stat().st_size for p in self.index.dir.glob("*") if p.is_file())
        manifest = self.index.store.manifest()
        return {
            **counts,
            "library": str(self.index.library()),
            "index": str(self.index.dir),
            "index_bytes": size,
            "index_version": self.index.version,
            "embedding_model": manifest.get("embedding_model", self.settings.embedding_model),
            "generator": self.settings.generator,
            "model": self.settings.model,
        }

    def close(self) -> None:
        if self._owns_index:
            self.index.close()


def open_assistant(settings: Settings, build: bool = True, progress: Progress | None = None,
                   on_report: Callable[[IngestReport], None] | None = None) -> Assistant:
    """An assistant on an index that exists (built from the library on first use, reported to ``on_report``).

    Shared by the ``rag`` commands (``rag.cli``, ``rag.evaluation.evaluate``) so neither imports the other.
    """
    assistant = Assistant(settings)
    if build:
        report = assistant.ensure_index(progress=progress)
        if report is not None and on_report is not None:
            on_report(report)
    return assistant


_DONE = object()


def _one_thread_each(events: Iterator) -> Iterator:
    """The answer's steps with the models and FAISS on one thread (``embeddings.threads``): they score one
    question and a few passages at a time. Entered and left around each step, in the thread that runs it.
    Closing this closes ``events`` at once (``rag.core.progress.cancellable``: a stopped answer frees the model)."""
    try:
        while True:
            with one_thread():
                event = next(events, _DONE)
            if event is _DONE:
                return
            yield event
    finally:
        close = getattr(events, "close", None)
        if close is not None:
            close()


def check_question(question: str) -> str:
    """The question as a reader sees it, white space folded; BadQuestion if it is empty or too long.

    Markup is pasted text, not something to look for: its tags, attributes and script
    bodies would become search terms ("alert(1)" made the question about "1"), so the
    question keeps only what a browser would show of it.
    """
    if isinstance(question, str) and len(question) <= MAX_QUESTION_CHARS and MARKUP.search(question):
        try:
            root = lxml.html.fragment_fromstring(question, create_parent="div")
        except (ValueError, lxml.etree.LxmlError):  # control characters lxml refuses: drop the tags alone
            question = MARKUP.sub(" ", question)
        else:
            for hidden in root.xpath(HIDDEN_ELEMENTS):
                hidden.drop_tree()
            question = root.text_content()
    if not isinstance(question, str) or not any(ch.isalnum() for ch in question):
        raise BadQuestion("the question is empty: type a question about the documents")
    if len(question) > MAX_QUESTION_CHARS:
        raise BadQuestion(f"the question is too long ({len(question)} characters, limit {MAX_QUESTION_CHARS})")
    return " ".join(question.split())
