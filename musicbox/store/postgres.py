"""The stores' connection to a PostgreSQL server, through psycopg 3 (synchronous: the stores run in
worker threads, like SQLite's). Imported only when `[store] url` names a server, so a SQLite box
never loads psycopg.

One connection per process, in autocommit (each statement its own transaction, as on SQLite), shared
under one lock like SQLite's. A connection the server dropped (a restart, a failover) fails the
statement that found it so; the next statement connects again, so a store outlives the outage."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from musicbox.store.sql import POSTGRESQL, Conflict, Rows, StoreError, redacted

if TYPE_CHECKING:
    import psycopg

CONNECT_TIMEOUT_S = 10  # a server that does not answer in this long is reported, not waited for


class PostgresConnection:
    dialect = POSTGRESQL

    def __init__(self, url: str) -> None:
        self.lock = threading.RLock()
        self.schema_checked = False
        self._url = url
        self._raw = self._connect()

    def _connect(self) -> psycopg.Connection[tuple[Any, ...]]:
        import psycopg

        try:
            return psycopg.connect(self._url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)
        except psycopg.Error as failed:
            reason = _first_line(failed)
            raise StoreError(f"cannot reach PostgreSQL at {redacted(self._url)}: {reason}") from failed

    def _live(self) -> psycopg.Connection[tuple[Any, ...]]:
        if self._raw.closed:
            self._raw = self._connect()
        return self._raw

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Rows:
        with self.lock, _translated():
            return self._live().execute(_placeholders(sql), _adapted(parameters))

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> Rows:
        with self.lock, _translated():
            cursor = self._live().cursor()
            cursor.executemany(_placeholders(sql), [_adapted(row) for row in parameters])
            return cursor

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self.lock, _translated(), self._live().transaction():
            yield

    def close(self) -> None:
        self._raw.close()


def schema_version_at(url: str) -> int:
    """The schema version of the database at `url`, read without changing it (`musicbox doctor`
    and `setup`); StoreError when it cannot be reached."""
    from musicbox.store.schema import version_of

    connection = PostgresConnection(url)
    try:
        return version_of(connection)
    finally:
        connection.close()


@contextmanager
def _translated() -> Iterator[None]:
    """psycopg's errors as the stores know them: a unique key's refusal, or a failure to report."""
    import psycopg

    try:
        yield
    except psycopg.errors.IntegrityError as refused:
        raise Conflict(_first_line(refused)) from refused
    except psycopg.Error as failed:
        raise StoreError(f"PostgreSQL: {_first_line(failed)}") from failed


@functools.lru_cache(maxsize=256)
def _placeholders(sql: str) -> str:
    # The stores write SQLite's `?`; psycopg takes `%s` and reads every other `%` as one too.
    assert "%" not in sql, "store SQL holds no % (psycopg would read it as a placeholder)"
    return sql.replace("?", "%s")


def _adapted(parameters: Sequence[Any]) -> tuple[Any, ...]:
    # A setting that is a bool is kept as 0/1, as SQLite keeps it; psycopg would send a boolean,
    # which an INTEGER column refuses.
    return tuple(int(value) if isinstance(value, bool) else value for value in parameters)


def _first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]
