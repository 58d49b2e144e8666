"""Per-guild settings a server manager changes with /settings, kept across restarts."""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass, replace

from musicbox.core.config import PlaybackConfig
from musicbox.core.limits import QueueLimits

_SCHEMA = """
CREATE TABLE IF NOT EXISTS guild_settings (
    guild_id INTEGER PRIMARY KEY,
    dj_role TEXT NOT NULL,
    default_volume INTEGER NOT NULL,
    max_queue INTEGER NOT NULL,
    max_playlist INTEGER NOT NULL,
    max_track_s INTEGER NOT NULL
)
"""
# Added with loudness normalisation: 0 plays every song as loud as its source is.
_LOUDNESS_COLUMN = "ALTER TABLE guild_settings ADD COLUMN loudness INTEGER NOT NULL DEFAULT 1"


@dataclass(frozen=True, slots=True)
class GuildSettings:
    dj_role: str
    default_volume: int
    max_queue: int
    max_playlist: int
    max_track_s: int
    loudness: bool = True  # songs evened out to the owner's loudness_lufs (when the owner has it on)

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
    def limits(self) -> QueueLimits:
        return QueueLimits(
            max_queue=self.max_queue, max_playlist=self.max_playlist, max_track_s=self.max_track_s
        )

    def changed(
        self,
        *,
        dj_role: str | None = None,
        default_volume: int | None = None,
        max_queue: int | None = None,
        max_playlist: int | None = None,
        max_track_s: int | None = None,
        loudness: bool | None = None,
    ) -> GuildSettings:
        return replace(
            self,
            dj_role=self.dj_role if dj_role is None else dj_role,
            default_volume=self.default_volume if default_volume is None else default_volume,
            max_queue=self.max_queue if max_queue is None else max_queue,
            max_playlist=self.max_playlist if max_playlist is None else max_playlist,
            max_track_s=self.max_track_s if max_track_s is None else max_track_s,
            loudness=self.loudness if loudness is None else loudness,
        )


class SettingsStore:
    """Blocking SQLite access: call from a worker thread (`asyncio.to_thread`), never the event loop.
    Reads are served from memory after the first, since every command consults them."""

    def __init__(self, connection: sqlite3.Connection, defaults: GuildSettings) -> None:
        self._connection = connection
        self._defaults = defaults
        self._lock = threading.Lock()
        self._known: dict[int, GuildSettings] = {}
        connection.execute(_SCHEMA)
        columns = {str(row[1]) for row in connection.execute("PRAGMA table_info(guild_settings)")}
        if "loudness" not in columns:
            connection.execute(_LOUDNESS_COLUMN)

    def get(self, guild_id: int) -> GuildSettings:
        with self._lock:
            if guild_id in self._known:
                return self._known[guild_id]
            row = self._connection.execute(
                "SELECT dj_role, default_volume, max_queue, max_playlist, max_track_s, loudness"
                " FROM guild_settings WHERE guild_id = ?",
                (guild_id,),
            ).fetchone()
            settings = self._defaults if row is None else _settings(*row)
            self._known[guild_id] = settings
            return settings

    def cached(self, guild_id: int) -> GuildSettings | None:
        return self._known.get(guild_id)

    def put(self, guild_id: int, settings: GuildSettings) -> None:
        with self._lock:
            self._connection.execute(
                "INSERT INTO guild_settings"
                " (guild_id, dj_role, default_volume, max_queue, max_playlist, max_track_s, loudness)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(guild_id) DO UPDATE SET"
                " dj_role=excluded.dj_role, default_volume=excluded.default_volume,"
                " max_queue=excluded.max_queue, max_playlist=excluded.max_playlist,"
                " max_track_s=excluded.max_track_s, loudness=excluded.loudness",
                (
                    guild_id,
                    settings.dj_role,
                    settings.default_volume,
                    settings.max_queue,
                    settings.max_playlist,
                    settings.max_track_s,
                    int(settings.loudness),
                ),
            )
            self._known[guild_id] = settings


def _settings(
    dj_role: str, default_volume: int, max_queue: int, max_playlist: int, max_track_s: int, loudness: int
) -> GuildSettings:
    return GuildSettings(dj_role, default_volume, max_queue, max_playlist, max_track_s, bool(loudness))
