"""The one way every store speaks SQL, to either engine: the embedded SQLite file (the default, nothing
to run) or a PostgreSQL server that several processes share (`[store] url = "postgresql://…"`).

A store holds a `Connection` and writes portable SQL: `?` placeholders, `INSERT … ON CONFLICT`,
`RETURNING`, `lower()` for names compared without case, `rowid` for the order rows were added in (a
real column on PostgreSQL, see schema.py). The two connections differ only in what they must: the
SQLite one is `database.Database` itself; the PostgreSQL one (postgres.py, which alone imports
psycopg, so a SQLite box never loads it) turns `?` into psycopg's `%s` and its errors into
`StoreError`. Every use takes the connection's `lock`: stores run in worker threads that share it."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

SQLITE = "sqlite"
POSTGRESQL = "postgresql"


class StoreError(Exception):
    """The PostgreSQL server refused or could not be reached; the message says which."""


class Conflict(StoreError):
    """A unique key refused the write (a playlist name already taken)."""


# What a store catches: the engines' own errors stay theirs (sqlite3's are standard library).
FAILURES: tuple[type[Exception], ...] = (sqlite3.Error, StoreError)
CONFLICTS: tuple[type[Exception], ...] = (sqlite3.IntegrityError, Conflict)


class Rows(Protocol):
    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Connection(Protocol):
    """What the stores use of a connection; `sqlite3.Connection`'s own shape, which psycopg's
    wrapper copies. `dialect` is SQLITE or POSTGRESQL (schema.py picks its DDL by it)."""

    dialect: str
    lock: threading.RLock
    # Set by schema.upgrade once the connection's database is at the current version.
    schema_checked: bool

    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> Rows: ...

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> Rows: ...

    def transaction(self) -> AbstractContextManager[None]:
        """Statements inside commit together or not at all; holds `lock` throughout."""
        ...

    def close(self) -> None: ...


def is_postgresql(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


def redacted(url: str) -> str:
    """The URL as a terminal or log may show it: no password."""
    scheme, separator, rest = url.partition("://")
    credentials, at, place = rest.rpartition("@")
    if not separator or not at or ":" not in credentials:
        return url
    return f"{scheme}://{credentials.split(':', 1)[0]}:***@{place}"


def open_store(url: str, local: Connection) -> Connection:
    """The connection the stores share, its schema brought to the current version (schema.py):
    `local`, the box's own SQLite file (opened with `database.open_state`), when `url` is empty;
    else the PostgreSQL server it names (StoreError when it cannot be reached)."""
    from musicbox.store import schema

    connection = local
    if is_postgresql(url):
        from musicbox.store.postgres import PostgresConnection

        connection = PostgresConnection(url)
    schema.upgrade(connection)
    return connection
