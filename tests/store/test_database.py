"""The state database as the bot finds it after whatever happened to the box: a file that is not
SQLite, a corrupt one, another program's, or one of an older musicbox. The bot's data is never moved
aside for nothing; anything else is, with one line saying what was lost, and the bot carries on."""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
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


SERVICE_USER = 65534  # CI runs as root: the service user is played by a forked child that drops to it


def as_service_user(work: Callable[[], str]) -> str:
    """`work()` run by a child of this process that became another user; what it returned."""
    reading, writing = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover (the child: it never returns into pytest)
        said = "failed before it could say"
        try:
            logging.disable(logging.CRITICAL)  # a lock another thread held at fork must not be awaited
            os.setgroups([])
            os.setgid(SERVICE_USER)
            os.setuid(SERVICE_USER)
            said = work()
        except BaseException as failed:
            said = f"failed: {failed!r}"
        finally:
            os.write(writing, said.encode())
            os._exit(0)
    os.close(writing)
    with os.fdopen(reading) as answer:
        said = answer.read()
    os.waitpid(child, 0)
    return said


@pytest.fixture
def service_state_dir() -> Iterator[Path]:
    """The service's StateDirectory: its own, where it can reach it (pytest's tmp_path is root's 0700)."""
    state = Path(tempfile.mkdtemp(prefix="musicbox-state-"))
    state.chmod(0o755)
    os.chown(state, SERVICE_USER, SERVICE_USER)
    try:
        yield state
    finally:
        shutil.rmtree(state)


@pytest.mark.skipif(os.geteuid() != 0, reason="plays the service user with chown and setuid: needs root")
def test_a_database_root_made_before_the_first_start_is_moved_aside_by_the_service_user(
    service_state_dir: Path,
) -> None:
    state = service_state_dir
    path = state / "musicbox.sqlite3"
    open_state(path).close()  # root ran a command that made it: root's, 0644
    assert path.stat().st_uid == 0

    def start() -> str:
        problem = damage(path)
        database = open_state(path)
        SettingsStore(database, GuildSettings.defaults(PlaybackConfig())).put(
            1, GuildSettings.defaults(PlaybackConfig())
        )
        return f"{problem}"

    said = as_service_user(start)
    assert said.startswith("cannot be written by this user (musicbox.sqlite3"), said
    assert path.stat().st_uid == SERVICE_USER  # the fresh one is the service's
    assert len(list(state.glob("musicbox.sqlite3.damaged-*"))) == 1
