"""The embedded SQLite store: one file in the state directory. Each module that persists something
creates its own tables (`CREATE TABLE IF NOT EXISTS`) on the connection it is handed."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    # check_same_thread=False: the connection is used from one worker thread at a time, not the loop's.
    connection = sqlite3.connect(path, timeout=5.0, check_same_thread=False, isolation_level=None)
    # WAL lets `musicbox status` and `musicbox cache` read while the bot writes; NORMAL is crash-safe
    # under WAL (a power cut loses at most the last transactions, never corrupts).
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("PRAGMA foreign_keys=ON")
    return connection
