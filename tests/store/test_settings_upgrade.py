"""A database written by an older musicbox opens in this one: its settings stay, new ones get defaults."""

from __future__ import annotations

from pathlib import Path

from musicbox.core.config import PlaybackConfig
from musicbox.store.database import connect
from musicbox.store.settings import SAVED_PLAYLISTS_DEFAULT, SAVED_SONGS_DEFAULT, GuildSettings, SettingsStore

# guild_settings as musicbox made it before saved playlists existed.
OLD_TABLE = """
CREATE TABLE guild_settings (
    guild_id INTEGER PRIMARY KEY,
    dj_role TEXT NOT NULL,
    default_volume INTEGER NOT NULL,
    max_queue INTEGER NOT NULL,
    max_playlist INTEGER NOT NULL,
    max_track_s INTEGER NOT NULL
)
"""


def test_an_older_database_keeps_its_settings_and_gains_the_playlist_limits(tmp_path: Path) -> None:
    old = connect(tmp_path / "musicbox.sqlite3")
    old.execute(OLD_TABLE)
    old.execute("INSERT INTO guild_settings VALUES (7, 'DJ', 80, 120, 50, 600)")
    old.close()

    database = connect(tmp_path / "musicbox.sqlite3")
    store = SettingsStore(database, GuildSettings.defaults(PlaybackConfig()))
    kept = store.get(7)
    assert (kept.dj_role, kept.default_volume, kept.max_queue, kept.max_playlist, kept.max_track_s) == (
        "DJ",
        80,
        120,
        50,
        600,
    )
    assert (kept.max_saved_songs, kept.max_saved_playlists) == (SAVED_SONGS_DEFAULT, SAVED_PLAYLISTS_DEFAULT)
    assert (kept.autoplay, kept.skip_share, kept.always_in_channel_id) == (False, 50, 0)
    assert (kept.text_channel_id, kept.voice_channel_id, kept.audio_filter) == (0, 0, "")
    store.put(
        7, kept.changed(max_saved_songs=10, autoplay=True, always_in_channel_id=99, audio_filter="speed:1.5")
    )
    database.close()

    again = SettingsStore(connect(tmp_path / "musicbox.sqlite3"), GuildSettings.defaults(PlaybackConfig()))
    assert again.get(7).max_saved_songs == 10 and again.get(7).dj_role == "DJ"
    assert again.get(7).autoplay is True and again.always_in() == {7: 99}
    assert again.get(7).audio_filter == "speed:1.5"  # /filter is the server's, across restarts
