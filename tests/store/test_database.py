"""The state database as the bot finds it after whatever happened to the box: a file that is not
SQLite, a corrupt one, another program's, or one of an older musicbox. The bot's data is never moved
aside for nothing; anything else is, with one line saying what was lost, and the bot carries on."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest

from musicbox.core.config import PlaybackConfig
from musicbox.store.database import APPLICATION_ID, damage, open_state
from musicbox.store.settings import GuildSettings, SettingsStore


def garbage(path: Path) -> None:
    path.write_bytes(b"this is a shopping list, not a database\n" * 100)


def foreign(path: Path) -> None:
    with sqlite3.connect(path) as other:
        other.execute("CREATE TABLE photos (id INTEGER PRIMARY KEY, taken_at TEXT)")
        other.execute("INSERT INTO photos VALUES (1, 'yesterday')")


def corrupt(path: Path) -> None:
    with sqlite3.connect(path) as ours:
        ours.execute("CREATE TABLE saved_queue (guild_id INTEGER, title TEXT)")
        ours.executemany("INSERT INTO saved_queue VALUES (?, ?)", [(n, "x" * 500) for n in range(2000)])
    data = bytearray(path.read_bytes())
    data[4096 * 3 : 4096 * 6] = bytes(range(256)) * 48  # pages in the middle overwritten
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("make", "said"),
    [
        (garbage, "is not a SQLite database"),
        (foreign, "belongs to another program (its tables: photos)"),
        (corrupt, "is damaged"),
    ],
    ids=["garbage", "foreign", "corrupt"],
)
def test_a_damaged_database_is_moved_aside_logged_once_and_replaced(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, make: object, said: str
) -> None:
    path = tmp_path / "musicbox.sqlite3"
    assert callable(make)
    make(path)
    before = path.read_bytes()
    with caplog.at_level(logging.WARNING):
        database = open_state(path)
    # Usable: settings can be written and read back.
    store = SettingsStore(database, GuildSettings.defaults(PlaybackConfig()))
    store.put(1, GuildSettings.defaults(PlaybackConfig()).changed(default_volume=40))
    assert store.get(1).default_volume == 40
    [aside] = tmp_path.glob("musicbox.sqlite3.damaged-*")
    assert aside.read_bytes() == before  # nothing of it is lost for someone who wants to look
    [line] = [r.getMessage() for r in caplog.records]
    assert said in line and str(aside) in line and "saved queues, server settings" in line
    database.close()
    with caplog.at_level(logging.WARNING):
        open_state(path).close()  # the next start finds its own database: nothing more is said
    assert len(caplog.records) == 1


def test_an_older_musicbox_database_is_kept_and_stamped(tmp_path: Path) -> None:
    path = tmp_path / "musicbox.sqlite3"
    with sqlite3.connect(path) as older:
        older.execute("CREATE TABLE guild_settings (guild_id INTEGER PRIMARY KEY, dj_role TEXT)")
    assert damage(path) is None
    database = open_state(path)
    assert database.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert not list(tmp_path.glob("*.damaged-*"))


def test_nothing_there_yet_is_no_damage(tmp_path: Path) -> None:
    assert damage(tmp_path / "musicbox.sqlite3") is None
