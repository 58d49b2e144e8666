"""Per-guild settings a server manager changes with /settings, kept across restarts."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from musicbox.core.config import PlaybackConfig
from musicbox.core.limits import QueueLimits
from musicbox.core.playlists import PlaylistLimits
from musicbox.core.sponsorblock import DEFAULT_CATEGORIES
from musicbox.store import schema
from musicbox.store.sql import Connection

# The defaults a row gets for a setting added after it was written (schema.py's steps hold them too).
SAVED_SONGS_DEFAULT = 1000  # a long playlist, as /play accepts at most
SAVED_PLAYLISTS_DEFAULT = 25
SKIP_SHARE_DEFAULT = 50  # percent of the listeners present who must vote to skip


@dataclass(frozen=True, slots=True)
class GuildSettings:
    dj_role: str
    default_volume: int
    max_queue: int
    max_playlist: int
    max_track_s: int
    max_saved_songs: int = SAVED_SONGS_DEFAULT  # songs in one saved playlist
    max_saved_playlists: int = SAVED_PLAYLISTS_DEFAULT  # saved playlists a member (or the server) keeps
    autoplay: bool = False  # when the queue runs out, play from the server's history and favourites
    skip_share: int = SKIP_SHARE_DEFAULT  # percent of present listeners whose votes skip a song
    always_in_channel_id: int = 0  # 24/7: the voice channel the bot never leaves (0: off)
    text_channel_id: int = 0  # the only text channel commands are taken in (0: any)
    voice_channel_id: int = 0  # the only voice channel the bot plays in (0: any)
    loudness: bool = True  # songs evened out to the owner's loudness_lufs (when the owner has it on)
    audio_filter: str = ""  # /filter: AudioFilter.stored, read with core.filters.stored_filter
    skip_categories: tuple[str, ...] = DEFAULT_CATEGORIES  # SponsorBlock's, left out of YouTube videos

    @classmethod
    def defaults(cls, playback: PlaybackConfig) -> GuildSettings:
        return cls(
            dj_role=playback.dj_role,
            default_volume=playback.default_volume,
            max_queue=playback.max_queue,
            max_playlist=playback.max_playlist,
            max_track_s=playback.max_track_s,
        )

    @property
    def playlist_limits(self) -> PlaylistLimits:
        return PlaylistLimits(max_songs=self.max_saved_songs, max_playlists=self.max_saved_playlists)

    @property
    def limits(self) -> QueueLimits:
        return QueueLimits(
            max_queue=self.max_queue, max_playlist=self.max_playlist, max_track_s=self.max_track_s
        )

    def changed(self, **given: Any) -> GuildSettings:
        """A copy with the settings given (None: left as it is)."""
        return replace(self, **{name: value for name, value in given.items() if value is not None})


_COLUMNS = [f.name for f in fields(GuildSettings)]


class SettingsStore:
    """Blocking database access: call from a worker thread (`asyncio.to_thread`), never the event
    loop. Reads are served from memory after the first, since every command consults them.
    Booleans are kept as 0/1; a channel id 0 is "none"."""

    def __init__(self, connection: Connection, defaults: GuildSettings) -> None:
        schema.upgrade(connection)
        self._connection = connection
        self._defaults = defaults
        self._lock = connection.lock
        self._known: dict[int, GuildSettings] = {}

    def get(self, guild_id: int) -> GuildSettings:
        with self._lock:
            if guild_id in self._known:
                return self._known[guild_id]
            row = self._connection.execute(
                f"SELECT {', '.join(_COLUMNS)} FROM guild_settings WHERE guild_id = ?", (guild_id,)
            ).fetchone()
            settings = self._defaults if row is None else _from_row(row)
            self._known[guild_id] = settings
            return settings

    def load_all(self) -> None:
        """Every server's stored settings into memory (at start: a few hundred bytes a server)."""
        with self._lock:
            rows = self._connection.execute(
                f"SELECT guild_id, {', '.join(_COLUMNS)} FROM guild_settings"
            ).fetchall()
            for guild_id, *values in rows:
                self._known[int(guild_id)] = _from_row(tuple(values))

    def cached(self, guild_id: int) -> GuildSettings | None:
        return self._known.get(guild_id)

    def always_in(self) -> dict[int, int]:
        """24/7 guilds: guild id -> the voice channel the bot stays in."""
        with self._lock:
            rows = self._connection.execute(
                "SELECT guild_id, always_in_channel_id FROM guild_settings WHERE always_in_channel_id != 0"
            ).fetchall()
        return {int(guild): int(channel) for guild, channel in rows}

    def put(self, guild_id: int, settings: GuildSettings) -> None:
        values = [_column_value(getattr(settings, name)) for name in _COLUMNS]
        updates = ", ".join(f"{name}=excluded.{name}" for name in _COLUMNS)
        with self._lock:
            self._connection.execute(
                f"INSERT INTO guild_settings (guild_id, {', '.join(_COLUMNS)})"
                f" VALUES ({', '.join('?' * (len(_COLUMNS) + 1))})"
                f" ON CONFLICT(guild_id) DO UPDATE SET {updates}",
                (guild_id, *values),
            )
            self._known[guild_id] = settings


def _from_row(row: tuple[Any, ...]) -> GuildSettings:
    given = dict(zip(_COLUMNS, row, strict=True))
    given["autoplay"] = bool(given["autoplay"])
    given["loudness"] = bool(given["loudness"])
    given["skip_categories"] = tuple(word for word in str(given["skip_categories"]).split(",") if word)
    return GuildSettings(**given)


def _column_value(value: Any) -> Any:
    return ",".join(value) if isinstance(value, tuple) else value
