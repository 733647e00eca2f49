"""Connections to the PostgreSQL store: a pool that survives a database restart, and bounded statements.

One connection per process serialised every reader behind one lock, and a
server restart broke it for good. Here each read takes a pooled connection
(``psycopg_pool``), checked before use, so connections the restart killed are
dropped and new ones made; a read that still meets a broken connection is
retried once on a fresh one. What cannot be served fails with one line
(``DatabaseUnavailable``, an ``IndexUnusable`` the chat, the API and the CLI
already show as such), never a traceback.

Reads on the question path are bounded by ``statement_timeout`` (default
``STATEMENT_TIMEOUT_S``); writes, migrations and the one-off bulk loads are not,
as an ingest of a large document may rightly take long. Both knobs ride in the
store URL, beside libpq's own parameters::

    postgresql://rag@db:5432/rag?statement_timeout=10&pool_size=8
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from rag.core.errors import IndexUnusable, StoreUnreachable
from rag.store.protocol import redact

CONNECT_TIMEOUT_S = 5
STATEMENT_TIMEOUT_S = 5.0  # a question's reads; 0 = no limit
POOL_SIZE = 4  # connections per process: the serving threads' reads run side by side up to this
POOL_WAIT_S = 5.0  # how long a read waits for a free (or newly made) connection
T = TypeVar("T")

# The pool logs every failed reconnection attempt as a warning; while the database is down that is a line
# per attempt on the server's stderr. The request that meets the outage already says so, once.
logging.getLogger("psycopg.pool").setLevel(logging.ERROR)


class DatabaseUnavailable(StoreUnreachable, IndexUnusable):
    """The database did not serve this request (down, restarting, or too slow); the store keeps reconnecting."""


@dataclass(frozen=True)
class PoolOptions:
    """What the store URL may set beyond libpq's own parameters."""

    statement_timeout_s: float = STATEMENT_TIMEOUT_S
    pool_size: int = POOL_SIZE


def split_url(url: str) -> tuple[str, PoolOptions]:
    """The URL for libpq (without our parameters) and the pool options it carried."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    ours = {key: value for key, value in query if key in ("statement_timeout", "pool_size")}
    if not ours:
        return url, PoolOptions()
    try:
        options = PoolOptions(float(ours.get("statement_timeout", STATEMENT_TIMEOUT_S)),
                              int(ours.get("pool_size", POOL_SIZE)))
        if options.statement_timeout_s < 0 or options.pool_size < 1:
            raise ValueError("out of range")
    except ValueError:
        raise StoreUnreachable(f"bad store URL {redact(url)}: statement_timeout is seconds (0 = no limit) and "
                               "pool_size a whole number of connections (at least 1)") from None
    rest = urlencode([(key, value) for key, value in query if key not in ours])
    return urlunsplit(parts._replace(query=rest)), options


def connect(url: str):
    """One connection of its own (migrations, the session advisory lock); a clear ``StoreUnreachable`` if none."""
    import psycopg

    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)
    except psycopg.OperationalError as exc:
        raise StoreUnreachable(
            f"cannot reach the PostgreSQL store at {redact(url)} ({first_line(exc)}): start the server or fix "
            "--store / RAG_STORE (postgresql://USER:PASSWORD@HOST:PORT/DATABASE), or unset it for the embedded index"
        ) from None
    except psycopg.ProgrammingError as exc:  # a URL psycopg cannot parse
        raise StoreUnreachable(f"bad store URL {redact(url)} ({first_line(exc)}): "
                               "use postgresql://USER:PASSWORD@HOST:PORT/DATABASE") from None


class Pool:
    """The store's connections: ``run`` a read (bounded, retried once), or hold a ``transaction`` for a write."""

    def __init__(self, url: str, options: PoolOptions, configure: Callable[[object], None]):
        from psycopg_pool import ConnectionPool

        self.url, self.options = url, options
        self._configure = configure
        self._pool = ConnectionPool(
            url, min_size=1, max_size=options.pool_size, open=False, timeout=POOL_WAIT_S, name="rag-store",
            kwargs={"autocommit": True, "connect_timeout": CONNECT_TIMEOUT_S},
            configure=self._setup, check=ConnectionPool.check_connection,
            # psycopg_pool backs off exponentially while it cannot connect; giving up after a few seconds
            # (the next request starts afresh) keeps the wait after the database is back to about a second.
            reconnect_timeout=POOL_WAIT_S)
        self._pool.open(wait=False)

    def _setup(self, conn) -> None:
        self._configure(conn)
        conn.execute(f"SET statement_timeout = {int(self.options.statement_timeout_s * 1000)}")

    def run(self, work: Callable[[object], T], bounded: bool = True) -> T:
        """``work(connection)`` on a pooled connection; once more on a fresh one if the first was broken."""
        import psycopg
        from psycopg_pool import PoolTimeout

        for attempt in (1, 2):
            try:
                with self._pool.connection() as conn:
                    if bounded:
                        return work(conn)
                    with conn.transaction():
                        conn.execute("SET LOCAL statement_timeout = 0")
                        return work(conn)
            except psycopg.errors.QueryCanceled as exc:
                raise DatabaseUnavailable(
                    f"the database did not answer within {self.options.statement_timeout_s:g} s "
                    f"(statement_timeout in the store URL; {first_line(exc)})") from None
            except PoolTimeout:
                raise self.unavailable(self._why_no_connection()) from None
            except psycopg.OperationalError as exc:
                if attempt == 2:
                    raise self.unavailable(first_line(exc)) from None
        raise AssertionError("unreachable")  # pragma: no cover

    @contextmanager
    def transaction(self) -> Iterator:
        """A pooled connection inside one transaction, without the statement timeout (writes may be long)."""
        import psycopg

        try:
            with self._pool.connection() as conn, conn.transaction():
                conn.execute("SET LOCAL statement_timeout = 0")
                yield conn
        except psycopg.OperationalError as exc:  # nothing of the transaction was kept
            raise self.unavailable(first_line(exc)) from None

    def _why_no_connection(self) -> str:
        """Why the pool had no connection for us: the server's refusal, or every connection busy."""
        import psycopg

        try:
            psycopg.connect(self.url, connect_timeout=CONNECT_TIMEOUT_S).close()
        except psycopg.Error as exc:
            return first_line(exc)
        return f"all {self.options.pool_size} connections busy for {POOL_WAIT_S:g} s (pool_size in the store URL)"

    def unavailable(self, reason: str) -> DatabaseUnavailable:
        return DatabaseUnavailable(f"database unavailable at {redact(self.url)}: {reason}; "
                                   "reconnecting in the background, try again in a few seconds")

    def close(self) -> None:
        self._pool.close()


class Fetched:
    """A read's rows, fetched whole before its connection went back to the pool (a cursor's reading methods)."""

    def __init__(self, rows: list[tuple]):
        self._rows = rows

    def fetchone(self) -> tuple | None:
        return self._rows[0] if self._rows else None

    def fetchall(self) -> list[tuple]:
        return self._rows

    def __iter__(self) -> Iterator[tuple]:
        return iter(self._rows)


class PooledReads:
    """``execute(sql, params)`` as on a connection, each call a bounded, retried read on a pooled connection."""

    def __init__(self, pool: Pool):
        self._pool = pool

    def execute(self, sql: str, params: tuple | list = ()) -> Fetched:
        return Fetched(self._pool.run(lambda conn: conn.execute(sql, params).fetchall()))


def first_line(exc: Exception) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = lines[-1] if lines and lines[0].startswith("connection failed") and len(lines) > 1 else (lines[0] if lines else type(exc).__name__)
    return text if len(text) <= 160 else text[:159] + "…"
