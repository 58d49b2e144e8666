"""An owner moves a box's things from its SQLite file to PostgreSQL with `musicbox store migrate`:
everything members made is there afterwards, counted table by table; a server that already holds a
bot's things is not overwritten unless the owner says so; a bad or unreachable URL is one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from musicbox.cli.app import app
from musicbox.core.config import PlaybackConfig
from musicbox.core.local_music import LocalSong
from musicbox.core.queue import LoopMode, QueuedTrack
from musicbox.core.track import Track, TrackId
from musicbox.core.vitals import Sample
from musicbox.store import schema
from musicbox.store.api_tokens import ApiTokenStore, digest
from musicbox.store.database import connect
from musicbox.store.favorites import FavoriteStore
from musicbox.store.history import HistoryStore, Played
from musicbox.store.local_songs import IndexedFile, LocalSongStore
from musicbox.store.playlists import PlaylistStore
from musicbox.store.postgres import PostgresConnection
from musicbox.store.queues import QueueStore, SavedPlayback
from musicbox.store.settings import GuildSettings, SettingsStore
from musicbox.store.spotify_mappings import SpotifyMappings
from musicbox.store.vitals import VitalsStore
from tests.fixtures.postgres import Cluster

GUILD, MEMBER = 1_180_000_000_000_000_001, 1_180_000_000_000_000_777
SONGS = [Track(TrackId("http", f"s{n}"), f"Song {n}", f"http://x/{n}", 60.0, "A") for n in range(3)]
DEFAULTS = GuildSettings.defaults(PlaybackConfig())


def a_box_that_played(state: Path) -> str:
    """Every store with something in it, as a box has after weeks of use; its API token."""
    database = connect(state / "musicbox.sqlite3")
    SettingsStore(database, DEFAULTS).put(GUILD, DEFAULTS.changed(default_volume=35, autoplay=True))
    QueueStore(database).save(
        GUILD,
        [QueuedTrack(s, MEMBER) for s in SONGS],
        SavedPlayback(GUILD + 1, 30.0, LoopMode.OFF, GUILD + 2),
    )
    SpotifyMappings(database).put("spotify-track", SONGS[0])
    playlists = PlaylistStore(database)
    playlists.create(GUILD, MEMBER, "Road trip", SONGS)
    playlists.create(GUILD, 0, "Server mix", SONGS[:1])
    playlists.delete(GUILD, 0, "Server mix")  # ids with a gap, as a real file has
    playlists.create(GUILD, 0, "Server mix 2", SONGS[1:])
    FavoriteStore(database).like(MEMBER, SONGS[2], 10.0)
    FavoriteStore(database).like(MEMBER, SONGS[0], 10.0)
    for n, song in enumerate(SONGS):
        HistoryStore(database).record(GUILD, Played(song, MEMBER, 100.0 + n))
    _, token = ApiTokenStore(database).create(MEMBER, "phone")
    VitalsStore(database).record(Sample(1000.0, 12.5, None, 1, 80.0, 3.5, 0))
    LocalSongStore(database).update(
        [IndexedFile("/music/a.mp3", "/music", 1, 10, LocalSong("ka", "Alpha", None, None, 1.0))], []
    )
    database.close()
    return token


@pytest.fixture
def owner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("MUSICBOX_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path / "state"))
    monkeypatch.setenv("CACHE_DIRECTORY", str(tmp_path / "cache"))
    (tmp_path / "state").mkdir()
    return CliRunner()


def test_a_box_moves_to_postgresql_with_everything_its_members_made(
    owner: CliRunner, tmp_path: Path, postgres: Cluster
) -> None:
    token = a_box_that_played(tmp_path / "state")
    url = postgres.new_database()

    ran = owner.invoke(app, ["store", "migrate", "--to", url, "--json"])
    assert ran.exit_code == 0, ran.output
    report = json.loads(ran.stdout)
    assert report["ok"] is True
    rows = {t["table"]: (t["source"], t["target"]) for t in report["tables"]}
    assert set(rows) == {t.name for t in schema.TABLES}
    assert (
        rows["playlist_tracks"] == (5, 5) and rows["play_history"] == (3, 3) and rows["favorites"] == (2, 2)
    )

    server = PostgresConnection(url)
    assert SettingsStore(server, DEFAULTS).get(GUILD) == DEFAULTS.changed(default_volume=35, autoplay=True)
    playlists = PlaylistStore(server)
    assert playlists.tracks(GUILD + 5, MEMBER, "road trip") == SONGS
    assert playlists.tracks(GUILD, 0, "Server mix 2") == SONGS[1:]
    playlists.create(GUILD, 0, "After the move")  # a new id, past the copied ones
    assert FavoriteStore(server).liked(MEMBER) == [SONGS[2], SONGS[0]]
    assert [p.track for p in HistoryStore(server).recent(GUILD, 5)] == SONGS[::-1]
    tokens = ApiTokenStore(server)
    assert tokens.by_digest()[digest(token)].name == "phone"  # the owner's token still works
    assert tokens.create(MEMBER, "laptop")[0].id == 2
    entries, playback = QueueStore(server).take(GUILD)
    assert [e.track for e in entries] == SONGS and playback is not None and playback.position_s == 30.0
    assert SpotifyMappings(server).get("spotify-track") == SONGS[0]
    server.close()

    refused = owner.invoke(app, ["store", "migrate", "--to", url])
    assert refused.exit_code == 1
    assert "already holds rows" in refused.stderr and "--replace" in refused.stderr
    assert "Traceback" not in refused.output

    replaced = owner.invoke(app, ["store", "migrate", "--to", url, "--replace"])
    assert replaced.exit_code == 0, replaced.output
    assert "playlist_tracks" in replaced.stdout and "differs" not in replaced.stdout
    assert "set [store] url" in replaced.stdout
    again = PostgresConnection(url)
    assert [s.name for s in PlaylistStore(again).listed(GUILD, 0)] == ["Server mix 2"]  # the new one is gone
    again.close()


def test_a_bad_or_unreachable_url_is_one_line_without_the_password(owner: CliRunner, tmp_path: Path) -> None:
    a_box_that_played(tmp_path / "state")
    bad = owner.invoke(app, ["store", "migrate", "--to", "mysql://root@db/music"])
    assert bad.exit_code == 2 and "is not a PostgreSQL URL" in bad.stderr

    away = owner.invoke(
        app, ["store", "migrate", "--to", f"postgresql://bot:hunter2@/music?host={tmp_path / 'nowhere'}"]
    )
    assert away.exit_code == 1
    assert "cannot reach PostgreSQL at postgresql://bot:***@" in away.stderr
    assert "hunter2" not in away.output and "Traceback" not in away.output
