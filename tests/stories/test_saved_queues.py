"""The owner restarts the bot: each guild's queue is waiting for its next /play, once."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from musicbox.core.queue import LoopMode, QueuedTrack
from musicbox.core.track import Track, TrackId
from musicbox.store.database import connect
from musicbox.store.queues import QueueStore, SavedPlayback


def entry(key: str, requester: int) -> QueuedTrack:
    track = Track(
        TrackId("youtube", key), f"Song {key}", f"https://youtu.be/{key}", duration_s=61.5, artist="A"
    )
    return QueuedTrack(track, requester_id=requester)


def test_a_saved_queue_comes_back_in_order_after_a_restart_and_only_once(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    QueueStore(connect(path)).save(1, [entry("b", 7), entry("a", 8)])
    QueueStore(connect(path)).save(2, [entry("c", 9)])
    restarted = QueueStore(connect(path))
    assert restarted.take(1) == ([entry("b", 7), entry("a", 8)], None)
    assert restarted.take(1) == ([], None)
    assert restarted.take(2) == ([entry("c", 9)], None)


def test_saving_again_replaces_the_old_queue(tmp_path: Path) -> None:
    store = QueueStore(connect(tmp_path / "state.sqlite3"))
    store.save(1, [entry("a", 1), entry("b", 1)])
    store.save(1, [entry("z", 2)])
    assert store.take(1) == ([entry("z", 2)], None)


def test_where_a_guild_was_playing_survives_with_its_queue_until_taken(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    QueueStore(connect(path)).save(1, [entry("a", 1), entry("b", 1)], SavedPlayback(55, 42.5, LoopMode.QUEUE))
    QueueStore(connect(path)).save(2, [entry("c", 2)])
    restarted = QueueStore(connect(path))
    assert restarted.resumable() == {1: SavedPlayback(55, 42.5, LoopMode.QUEUE)}
    assert restarted.take(1) == ([entry("a", 1), entry("b", 1)], SavedPlayback(55, 42.5, LoopMode.QUEUE))
    assert restarted.resumable() == {}


def test_forgetting_a_guild_drops_its_queue_and_place(tmp_path: Path) -> None:
    store = QueueStore(connect(tmp_path / "state.sqlite3"))
    store.save(1, [entry("a", 1)], SavedPlayback(55, 3.0, LoopMode.OFF))
    store.forget(1)
    assert store.take(1) == ([], None) and store.resumable() == {}


def test_the_text_channel_of_the_last_play_is_kept_with_the_place(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    QueueStore(connect(path)).save(1, [entry("a", 1)], SavedPlayback(55, 3.0, LoopMode.OFF, 77))
    assert QueueStore(connect(path)).take(1) == ([entry("a", 1)], SavedPlayback(55, 3.0, LoopMode.OFF, 77))


def test_a_database_from_before_the_text_channel_was_kept_resumes_and_keeps_it_from_then_on(
    tmp_path: Path,
) -> None:
    """An owner updates the bot with a queue saved mid-song by the old version: it resumes (with no
    channel to speak in, as before) and the table learns the new column."""
    path = tmp_path / "state.sqlite3"
    old = sqlite3.connect(path)
    old.executescript(
        """
        CREATE TABLE saved_queue (
            guild_id INTEGER NOT NULL, position INTEGER NOT NULL, source TEXT NOT NULL,
            key TEXT NOT NULL, title TEXT NOT NULL, page_url TEXT NOT NULL, duration_s REAL,
            artist TEXT, requester_id INTEGER NOT NULL, PRIMARY KEY (guild_id, position)
        );
        CREATE TABLE saved_playback (
            guild_id INTEGER PRIMARY KEY, voice_channel_id INTEGER NOT NULL,
            position_s REAL NOT NULL, loop_mode TEXT NOT NULL
        );
        INSERT INTO saved_queue VALUES (1, 0, 'youtube', 'a', 'Song a', 'https://youtu.be/a', 61.5, 'A', 1);
        INSERT INTO saved_playback VALUES (1, 55, 42.5, 'queue');
        """
    )
    old.close()
    updated = QueueStore(connect(path))
    assert updated.take(1) == ([entry("a", 1)], SavedPlayback(55, 42.5, LoopMode.QUEUE, None))
    updated.save(2, [entry("b", 2)], SavedPlayback(56, 1.0, LoopMode.OFF, 78))
    assert QueueStore(connect(path)).resumable() == {2: SavedPlayback(56, 1.0, LoopMode.OFF, 78)}
