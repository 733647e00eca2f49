"""The errors a caller is expected to catch, each with a message that says what to do.

They live here, below every stage, so that the command line, the chat and the
API catch them without importing the stage that raises them; ``one_line`` is how
the chat and the API show any message.
"""


class BadQuestion(ValueError):
    """The question cannot be asked as typed; the message says why."""


class GeneratorError(Exception):
    """The generator cannot be loaded or reached; the message says what to do."""


class IndexUnusable(Exception):
    """The index cannot be used as it is; the message says how to recover."""


class StoreUnreachable(Exception):
    """The store named by ``--store`` / ``RAG_STORE`` cannot be used; the message says how to fix it."""


def one_line(text: object, limit: int = 300) -> str:
    """A message as one printable line of at most ``limit`` characters: safe to show and to log.

    Control characters (terminal escapes in a request's value) become spaces, so a log line stays one plain line.
    """
    flat = " ".join("".join(ch if ch.isprintable() else " " for ch in str(text)).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class IndexDamaged(IndexUnusable):
    """An index file cannot be read as written; `rag ingest` rebuilds it from the library."""

    def __init__(self, found: str):
        super().__init__(f"{found}; rebuild it with `rag ingest --rebuild`")
        self.found = found  # what is wrong, without the advice (for the line a rebuild prints)


class DiskFull(IndexUnusable):
    """A write to the index failed for want of space; what was committed before is still there."""

    @classmethod
    def writing(cls, where: object, cause: object) -> "DiskFull":
        """The one line a failed write gives: what happened and what to do."""
        return cls(f"disk full while writing the index at {where} ({one_line(cause, 100)}); free space and run "
                   "`rag ingest` again (the documents indexed before are still answered from)")
