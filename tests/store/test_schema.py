"""The schema as boxes have it: from every earlier version to the current one, at start, keeping what
was there; a newer one refused; several processes starting at once on one server."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import psycopg
import pytest

from musicbox.core.config import PlaybackConfig
from musicbox.core.queue import LoopMode
from musicbox.store import schema
from musicbox.store.database import connect
from musicbox.store.fleet import read_heartbeats
from musicbox.store.postgres import PostgresConnection
from musicbox.store.queues import QueueStore, SavedPlayback
from musicbox.store.settings import GuildSettings, SettingsStore
from musicbox.store.sql import StoreError
from musicbox.store.vitals import VitalsStore
from tests.fixtures.postgres import Cluster, Opener


@pytest.mark.parametrize(
    ("found", "steps"),
    [(0, [2, 3, 4]), (1, [2, 3, 4]), (2, [3, 4]), (3, [4]), (4, []), (5, None)],
    ids=["nothing", "before-versions", "2", "3", "current", "newer"],
)
def test_the_steps_a_version_needs(found: int, steps: list[int] | None) -> None:
    if steps is None:
        with pytest.raises(schema.NewerSchema, match="update this one"):
            schema.pending(found)
    else:
        assert [m.version for m in schema.pending(found)] == steps


def test_a_new_database_gets_every_table_at_the_current_version(store_opener: Opener) -> None:
    database = store_opener()
    assert schema.version_of(database) == 0
    assert schema.upgrade(database) == 0
    assert schema.version_of(database) == schema.CURRENT
    assert {t.name for t in schema.TABLES} <= schema.table_names(database)
    again = store_opener()
    assert schema.upgrade(again) == schema.CURRENT  # the next start has nothing to do


# Version 1 files as older musicboxes left them: guild_settings before saved playlists had limits,
# saved_playback before the text channel was kept, and nothing else yet.
OLDEST = (
    """CREATE TABLE guild_settings (guild_id INTEGER PRIMARY KEY, dj_role TEXT NOT NULL,
    default_volume INTEGER NOT NULL, max_queue INTEGER NOT NULL, max_playlist INTEGER NOT NULL,
    max_track_s INTEGER NOT NULL)""",
    "INSERT INTO guild_settings VALUES (7, 'DJ', 80, 120, 50, 600)",
    """CREATE TABLE saved_playback (guild_id INTEGER PRIMARY KEY, voice_channel_id INTEGER NOT NULL,
    position_s REAL NOT NULL, loop_mode TEXT NOT NULL)""",
    """CREATE TABLE saved_queue (guild_id INTEGER NOT NULL, position INTEGER NOT NULL, source TEXT NOT NULL,
    key TEXT NOT NULL, title TEXT NOT NULL, page_url TEXT NOT NULL, duration_s REAL, artist TEXT,
    requester_id INTEGER NOT NULL, PRIMARY KEY (guild_id, position))""",
    "INSERT INTO saved_queue VALUES (7, 0, 'http', 'a', 'Song', 'http://a', 60.0, NULL, 3)",
    "INSERT INTO saved_playback VALUES (7, 70, 12.5, 'off')",
)


def test_a_file_from_before_versions_keeps_its_data_and_gains_what_came_since(tmp_path: Path) -> None:
    path = tmp_path / "musicbox.sqlite3"
    with sqlite3.connect(path) as old:
        for statement in OLDEST:
            old.execute(statement)
    database = connect(path)
    assert schema.version_of(database) == 1
    settings = SettingsStore(database, GuildSettings.defaults(PlaybackConfig()))  # upgrades at start
    assert schema.version_of(database) == schema.CURRENT
    kept = settings.get(7)
    assert (kept.dj_role, kept.default_volume, kept.max_track_s) == ("DJ", 80, 600)
    assert kept == GuildSettings("DJ", 80, 120, 50, 600)  # every later setting at its default
    queues = QueueStore(database)
    assert queues.resumable() == {7: SavedPlayback(70, 12.5, LoopMode.OFF, None)}
    assert [e.track.title for e in queues.take(7)[0]] == ["Song"]
    assert {t.name for t in schema.TABLES} <= schema.table_names(database)


def test_a_version_2_database_keeps_its_settings_and_gains_filter_sponsorblock_and_first_audio(
    store_opener: Opener,
) -> None:
    database = store_opener()
    with database.transaction():  # as musicbox at version 2 left it
        schema.MIGRATIONS[0].steps[database.dialect](database)
        database.execute("INSERT INTO musicbox_schema (version) VALUES (2)")
        database.execute(
            "INSERT INTO guild_settings (guild_id, dj_role, default_volume, max_queue, max_playlist,"
            " max_track_s, autoplay) VALUES (7, 'DJ', 80, 120, 50, 600, 1)"
        )
        database.execute(
            "INSERT INTO vitals (at, streams, rss_mb, cpu_percent, errors) VALUES (1.0, 2, 60.0, 3.0, 0)"
        )
    assert schema.version_of(database) == 2
    kept = SettingsStore(database, GuildSettings.defaults(PlaybackConfig())).get(7)  # upgrades at start
    assert schema.version_of(database) == schema.CURRENT
    assert kept == GuildSettings("DJ", 80, 120, 50, 600, autoplay=True)  # no filter, music_offtopic cut
    assert (kept.audio_filter, kept.skip_categories) == ("", ("music_offtopic",))
    assert VitalsStore(database).since(0.0)[0].first_audio_p95_ms is None  # no figure then


def test_a_version_3_database_keeps_its_data_and_a_postgresql_one_gains_the_fleet_tables(
    store_opener: Opener,
) -> None:
    database = store_opener()
    with database.transaction():  # as musicbox at version 3 left it
        for migration in schema.MIGRATIONS[:2]:
            migration.steps[database.dialect](database)
        database.execute("INSERT INTO musicbox_schema (version) VALUES (3)")
        database.execute(
            "INSERT INTO guild_settings (guild_id, dj_role, default_volume, max_queue, max_playlist,"
            " max_track_s, audio_filter) VALUES (7, 'DJ', 80, 120, 50, 600, 'nightcore')"
        )
    assert schema.version_of(database) == 3
    kept = SettingsStore(database, GuildSettings.defaults(PlaybackConfig())).get(7)  # upgrades at start
    assert schema.version_of(database) == schema.CURRENT == 4
    assert (kept.dj_role, kept.audio_filter) == ("DJ", "nightcore")
    fleet = {"fleet_processes", "fleet_answers"}
    if database.dialect == "postgresql":
        assert fleet <= schema.table_names(database)
        assert read_heartbeats(database) == ([], None)  # no process has beaten yet
    else:
        assert not fleet & schema.table_names(database)  # a SQLite box keeps no fleet


def test_a_database_of_a_newer_musicbox_is_refused_not_downgraded(store_opener: Opener) -> None:
    database = store_opener()
    schema.upgrade(database)
    database.execute("UPDATE musicbox_schema SET version = ?", (schema.CURRENT + 1,))
    with pytest.raises(StoreError, match=f"schema version {schema.CURRENT + 1}, newer than this musicbox"):
        SettingsStore(store_opener(), GuildSettings.defaults(PlaybackConfig()))


def test_processes_starting_together_on_one_server_migrate_it_once(postgres: Cluster) -> None:
    url = postgres.new_database()
    found: list[int] = []
    failures: list[Exception] = []

    def start() -> None:
        try:
            connection = PostgresConnection(url)
            found.append(schema.upgrade(connection))
            connection.close()
        except Exception as failure:
            failures.append(failure)

    shards = [threading.Thread(target=start) for _ in range(4)]
    for shard in shards:
        shard.start()
    for shard in shards:
        shard.join(timeout=60)
    assert failures == []
    assert sorted(found) == [0, *[schema.CURRENT] * 3]  # one created the tables; the others found them made


def test_a_connection_the_server_dropped_is_made_again(postgres: Cluster) -> None:
    connection = PostgresConnection(postgres.new_database())
    store = SettingsStore(connection, GuildSettings.defaults(PlaybackConfig()))
    store.put(1, GuildSettings.defaults(PlaybackConfig()).changed(default_volume=30))
    with psycopg.connect(postgres.url(), autocommit=True) as admin:  # the server restarts, say
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid()"
            " AND datname = 'postgres' AND backend_type = 'client backend'"
        )
    fresh = SettingsStore(connection, GuildSettings.defaults(PlaybackConfig()))  # none in memory
    with pytest.raises(StoreError):
        fresh.get(1)  # the statement that found the connection gone fails, and says so
    assert fresh.get(1).default_volume == 30  # the next one connects again
