"""The embedded SQLite store: one file in the state directory, the default `sql.Connection` of every
store (schema.py makes and upgrades its tables) and, on every box, the audio cache's index.

The bot opens it with `open_state`, which never lets a damaged file stop it: a file that is not
SQLite, is corrupt, belongs to another program or that the service user cannot write is moved
aside, logged once with what it held, and a fresh one is made. A crash-looping service would lose
the same things and play nothing."""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from musicbox.store.sql import SQLITE

log = logging.getLogger(__name__)

# Stamped in the file's header (PRAGMA application_id), so a database of another program is told apart.
APPLICATION_ID = 0x6D626F78  # "mbox"
# The tables musicbox makes; a file holding others, and no stamp, was made by something else.
OUR_TABLES = frozenset(
    {
        "audio_cache",
        "resolved_queries",
        "spotify_mappings",
        "guild_settings",
        "saved_queue",
        "saved_playback",
        "playlists",
        "playlist_tracks",
        "play_history",
        "favorites",
        "vitals",
        "api_tokens",
        "local_songs",
        "musicbox_schema",
    }
)
WHAT_IT_HOLDS = (
    "saved queues, server settings, saved playlists, favourites, history, Spotify matches, cached "
    "lookups, the index of the owner's music folders (read again), the audio cache's index (cached "
    "songs are fetched again), the web page's graphs and the API tokens"
)


class Database(sqlite3.Connection):
    """The connection every store of one file shares, with the one lock they all take: stores run in
    worker threads, and one store's BEGIN while another's transaction is open on the same connection
    fails ("cannot start a transaction within a transaction"), or a write joins the other's."""

    dialect = SQLITE

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lock = threading.RLock()
        self.schema_checked = False

    @contextmanager
    def transaction(self) -> Iterator[None]:
        # IMMEDIATE: the write lock is taken at BEGIN, so another process (`musicbox api token
        # create` while the bot runs) waits at the start rather than failing in the middle.
        with self.lock:
            self.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self.execute("ROLLBACK")
                raise
            self.execute("COMMIT")


def connect(path: Path) -> Database:
    path.parent.mkdir(parents=True, exist_ok=True)
    # check_same_thread=False: the connection is used from one worker thread at a time, not the loop's.
    connection: Database = sqlite3.connect(
        path, timeout=5.0, check_same_thread=False, isolation_level=None, factory=Database
    )
    # WAL lets `musicbox status` and `musicbox cache` read while the bot writes; NORMAL is crash-safe
    # under WAL (a power cut loses at most the last transactions, never corrupts).
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("PRAGMA foreign_keys=ON")
    return connection


def open_state(path: Path) -> Database:
    """The bot's database, usable whatever was left at `path`."""
    problem = damage(path)
    if problem is not None:
        aside = _move_aside(path)
        log.error(
            "the database %s %s; moved it to %s and started a fresh one. Lost: %s.",
            path,
            problem,
            aside,
            WHAT_IT_HOLDS,
        )
    connection = connect(path)
    if connection.execute("PRAGMA application_id").fetchone()[0] != APPLICATION_ID:
        connection.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    return connection


def damage(path: Path) -> str | None:
    """What is wrong with the database at `path` (as a phrase: "is not a SQLite database"), or None
    when it is usable or does not exist yet. Reads only; `musicbox doctor` asks it too."""
    if not path.exists():
        return None
    unwritable = [p.name for p in (path, *_companions(path)) if p.exists() and not os.access(p, os.W_OK)]
    if unwritable:
        return f"cannot be written by this user ({', '.join(unwritable)}: made by another, e.g. root)"
    try:
        # Read-write, as the bot opens it: a read-only open of a healthy file can fail (its WAL
        # needs the -shm), and nothing is written here.
        reader = sqlite3.connect(path, timeout=5.0)
    except sqlite3.Error as refused:
        return f"cannot be opened ({refused})"
    try:
        verdict = reader.execute("PRAGMA quick_check").fetchone()[0]
        stamp = reader.execute("PRAGMA application_id").fetchone()[0]
        tables = {
            str(row[0])
            for row in reader.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if not str(row[0]).startswith("sqlite_")
        }
    except sqlite3.DatabaseError as broken:
        return f"is not a SQLite database or is damaged ({broken})"
    finally:
        reader.close()
    if verdict != "ok":
        return f"is damaged (integrity check: {verdict})"
    if stamp not in (0, APPLICATION_ID) or (stamp == 0 and not tables <= OUR_TABLES):
        return f"belongs to another program (its tables: {', '.join(sorted(tables)) or 'none'})"
    return None


def _companions(path: Path) -> tuple[Path, Path]:
    return path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")


def _move_aside(path: Path) -> Path:
    aside = path.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
    path.replace(aside)
    for companion in _companions(path):
        if companion.exists():
            companion.replace(companion.with_name(aside.name + companion.name.removeprefix(path.name)))
    return aside
