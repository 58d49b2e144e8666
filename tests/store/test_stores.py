"""Everything the bot keeps, on both engines: the embedded SQLite file and a PostgreSQL server. Each
story writes through one connection and reads back through another opened afterwards, as the bot
finds its things after a restart (or another shard finds them on the same server)."""

from __future__ import annotations

import pytest

from musicbox.core.config import PlaybackConfig
from musicbox.core.local_music import LocalSong
from musicbox.core.playlists import SERVER_OWNER, PlaylistSummary
from musicbox.core.queue import LoopMode, QueuedTrack
from musicbox.core.track import Track, TrackId
from musicbox.core.vitals import Sample
from musicbox.store import history as history_module
from musicbox.store.api_tokens import ApiTokenStore, digest
from musicbox.store.favorites import FavoriteStore
from musicbox.store.history import HistoryStore, Played
from musicbox.store.local_songs import IndexedFile, LocalSongStore
from musicbox.store.playlists import PlaylistExists, PlaylistStore
from musicbox.store.queues import QueueStore, SavedPlayback
from musicbox.store.settings import GuildSettings, SettingsStore
from musicbox.store.spotify_mappings import SpotifyMappings
from musicbox.store.vitals import VitalsStore
from tests.fixtures.postgres import Opener

GUILD = 1_180_000_000_000_000_001  # Discord ids are 64-bit: past what a 32-bit column holds
MEMBER = 1_180_000_000_000_000_777
SONGS = [
    Track(TrackId("http", f"s{n}"), f"Song {n} «ünïcode»", f"http://x/{n}", duration_s=60.5 + n, artist="A")
    for n in range(5)
]


def test_settings_a_manager_changed_are_there_after_a_restart(store_opener: Opener) -> None:
    defaults = GuildSettings.defaults(PlaybackConfig())
    store = SettingsStore(store_opener(), defaults)
    assert store.get(GUILD) == defaults
    changed = defaults.changed(
        default_volume=40, autoplay=True, loudness=False, always_in_channel_id=GUILD + 5
    )
    store.put(GUILD, changed)
    store.put(GUILD, changed.changed(dj_role="Mods"))  # a second change replaces the first

    again = SettingsStore(store_opener(), defaults)
    assert again.get(GUILD) == changed.changed(dj_role="Mods")
    assert again.get(GUILD).autoplay is True and again.get(GUILD).loudness is False
    assert again.always_in() == {GUILD: GUILD + 5}
    again.load_all()
    assert again.cached(GUILD) == changed.changed(dj_role="Mods")


def test_a_saved_queue_resumes_where_it_was_and_is_taken_once(store_opener: Opener) -> None:
    queues = QueueStore(store_opener())
    entries = [QueuedTrack(song, requester_id=MEMBER) for song in SONGS]
    playback = SavedPlayback(
        voice_channel_id=GUILD + 1, position_s=42.5, loop=LoopMode.QUEUE, text_channel_id=GUILD + 2
    )
    queues.save(GUILD, entries[:2], playback)
    queues.save(GUILD, entries, playback)  # the next checkpoint replaces the first

    again = QueueStore(store_opener())
    assert again.resumable() == {GUILD: playback}
    taken, where = again.take(GUILD)
    assert [e.track for e in taken] == SONGS and {e.requester_id for e in taken} == {MEMBER}
    assert where == playback
    assert again.take(GUILD) == ([], None)


def test_a_spotify_match_is_kept_replaced_and_forgotten(store_opener: Opener) -> None:
    mappings = SpotifyMappings(store_opener(), clock=lambda: 1000.0)
    mappings.put("sp1", SONGS[0])
    mappings.put("sp1", SONGS[1])  # matched again after the first upload vanished
    mappings.put("sp2", SONGS[2])
    again = SpotifyMappings(store_opener())
    assert again.get("sp1") == SONGS[1] and again.count() == 2
    again.forget("sp1")
    assert again.get("sp1") is None and again.count() == 1


def test_playlists_keep_their_songs_and_names_taken_without_case(store_opener: Opener) -> None:
    playlists = PlaylistStore(store_opener())
    playlists.create(GUILD, MEMBER, "Road Trip", SONGS[:3])
    playlists.create(GUILD, SERVER_OWNER, "road trip", SONGS[:1])  # the server's: another owner
    with pytest.raises(PlaylistExists):
        playlists.create(GUILD + 9, MEMBER, "ROAD TRIP")  # a member's are theirs in every server
    assert playlists.append(GUILD, MEMBER, "road trip", SONGS[3:])
    playlists.create(GUILD, MEMBER, "b-sides")
    with pytest.raises(PlaylistExists):
        playlists.rename(GUILD, MEMBER, "b-sides", "Road trip")

    again = PlaylistStore(store_opener())
    assert again.listed(GUILD + 3, MEMBER) == [PlaylistSummary("b-sides", 0), PlaylistSummary("Road Trip", 5)]
    assert again.tracks(GUILD, MEMBER, "ROAD TRIP") == SONGS
    assert again.tracks(GUILD, SERVER_OWNER, "Road Trip") == SONGS[:1]
    assert again.rename(GUILD, MEMBER, "b-sides", "Rarities")
    assert again.delete(GUILD, MEMBER, "road trip") and not again.delete(GUILD, MEMBER, "road trip")
    again.create(GUILD, MEMBER, "Road Trip", SONGS[4:])  # its songs went with it: none come back
    assert again.tracks(GUILD, MEMBER, "Road Trip") == SONGS[4:]
    assert again.tracks(GUILD, MEMBER, "nothing") is None and not again.append(
        GUILD, MEMBER, "nothing", SONGS
    )


def test_favourites_are_kept_once_in_the_order_they_were_liked(store_opener: Opener) -> None:
    favorites = FavoriteStore(store_opener())
    assert favorites.like(MEMBER, SONGS[2], 10.0)
    assert favorites.like(MEMBER, SONGS[0], 10.0)  # the same second: the order of the likes decides
    assert not favorites.like(MEMBER, SONGS[2], 11.0)
    assert favorites.like(MEMBER + 1, SONGS[1], 12.0)
    again = FavoriteStore(store_opener())
    assert again.liked(MEMBER) == [SONGS[2], SONGS[0]]
    assert sorted(liked_at for _, liked_at in again.liked_by_any([MEMBER, MEMBER + 1])) == [10.0, 10.0, 12.0]
    assert again.liked_by_any([]) == []


def test_history_is_newest_first_and_trimmed_per_server(
    store_opener: Opener, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(history_module, "KEPT_PER_GUILD", 3)
    history = HistoryStore(store_opener())
    for n, song in enumerate(SONGS):
        history.record(GUILD, Played(song, MEMBER, 100.0 + n))
    history.record(GUILD + 1, Played(SONGS[0], MEMBER, 50.0))
    again = HistoryStore(store_opener())
    assert [p.track for p in again.recent(GUILD, 10)] == [SONGS[4], SONGS[3], SONGS[2]]
    assert again.recent(GUILD + 1, 10) == [Played(SONGS[0], MEMBER, 50.0)]


def test_an_api_token_works_until_revoked(store_opener: Opener) -> None:
    tokens = ApiTokenStore(store_opener())
    first, secret = tokens.create(MEMBER, "phone")
    second, _ = tokens.create(MEMBER, "laptop")
    assert second.id > first.id
    again = ApiTokenStore(store_opener())
    assert again.by_digest()[digest(secret)] == first
    assert again.revoke(first.id) and not again.revoke(first.id)
    assert list(again.by_digest().values()) == [second]


def test_the_graphs_figures_are_kept_and_a_sample_at_the_same_time_replaces(store_opener: Opener) -> None:
    vitals = VitalsStore(store_opener())
    vitals.record(Sample(1000.0, 12.5, None, 3, 80.0, 3.5, 0))
    vitals.record(Sample(1000.0, 13.5, 0.5, 2, 81.0, 3.0, 1))
    assert VitalsStore(store_opener()).since(0) == [Sample(1000.0, 13.5, 0.5, 2, 81.0, 3.0, 1)]


def test_the_music_folders_index_follows_changed_and_removed_files(store_opener: Opener) -> None:
    def indexed(path: str, title: str, size: int) -> IndexedFile:
        return IndexedFile(
            path, "/music", 1_700_000_000_000_000_000, size, LocalSong(f"k{path}", title, None, None, 1.0)
        )

    index = LocalSongStore(store_opener())
    index.update([indexed("/music/a.mp3", "Alpha", 10), indexed("/music/b.mp3", "Beta", 20)], [])
    index.update([indexed("/music/a.mp3", "Alpha (remaster)", 11)], ["/music/b.mp3"])
    again = LocalSongStore(store_opener())
    assert again.stamps() == {"/music/a.mp3": (1_700_000_000_000_000_000, 11)}
    assert [song.title for song in again.songs()] == ["Alpha (remaster)"]
    assert (
        again.path_of("k/music/a.mp3") == ("/music/a.mp3", "/music")
        and again.path_of("k/music/b.mp3") is None
    )
    assert again.counts() == {"/music": 1}
