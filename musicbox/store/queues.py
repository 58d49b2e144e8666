"""Queues that survive a restart, a crash or a reboot.

A playing session checkpoints its queue and position every few seconds; a clean shutdown saves them
once more. On start the bot rejoins the voice channels where members still listen and resumes the
track at its stored position; other guilds get their queue back on their next /play."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from musicbox.core.queue import LoopMode, QueuedTrack
from musicbox.core.track import Track, TrackId
from musicbox.store import schema
from musicbox.store.sql import Connection


@dataclass(frozen=True, slots=True)
class SavedPlayback:
    """Where a guild was when its queue was saved: the first saved entry was playing at `position_s`;
    `text_channel_id`: where its /play was last used, where the bot says what nobody asked about
    ("I couldn't play …") after a restart too."""

    voice_channel_id: int
    position_s: float
    loop: LoopMode
    text_channel_id: int | None = None


class QueueStore:
    """Blocking database access: call from a worker thread, never the event loop. A row saved
    before the text channel was kept resumes with no channel to speak in."""

    def __init__(self, connection: Connection) -> None:
        schema.upgrade(connection)
        self._connection = connection
        self._lock = connection.lock

    def save(
        self, guild_id: int, entries: Sequence[QueuedTrack], playback: SavedPlayback | None = None
    ) -> None:
        rows = [
            (
                guild_id,
                position,
                e.track.id.source,
                e.track.id.key,
                e.track.title,
                e.track.page_url,
                e.track.duration_s,
                e.track.artist,
                e.requester_id,
            )
            for position, e in enumerate(entries)
        ]
        with self._lock, self._connection.transaction():
            self._connection.execute("DELETE FROM saved_queue WHERE guild_id = ?", (guild_id,))
            self._connection.executemany(
                "INSERT INTO saved_queue (guild_id, position, source, key, title, page_url, duration_s,"
                " artist, requester_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            self._connection.execute("DELETE FROM saved_playback WHERE guild_id = ?", (guild_id,))
            if playback is not None and entries:
                self._connection.execute(
                    "INSERT INTO saved_playback"
                    " (guild_id, voice_channel_id, position_s, loop_mode, text_channel_id)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (
                        guild_id,
                        playback.voice_channel_id,
                        playback.position_s,
                        playback.loop.value,
                        playback.text_channel_id,
                    ),
                )

    def forget(self, guild_id: int) -> None:
        self.save(guild_id, [])

    def resumable(self) -> dict[int, SavedPlayback]:
        """Guilds that were playing when the bot stopped, by guild id."""
        with self._lock:
            rows = self._connection.execute(
                "SELECT guild_id, voice_channel_id, position_s, loop_mode, text_channel_id"
                " FROM saved_playback"
            ).fetchall()
        return {
            guild: SavedPlayback(voice, position, LoopMode(loop), text)
            for guild, voice, position, loop, text in rows
        }

    def take(self, guild_id: int) -> tuple[list[QueuedTrack], SavedPlayback | None]:
        """The saved queue of a guild and where it was playing, removed from the store (they now
        live in a session again, which checkpoints them anew)."""
        playback = self.resumable().get(guild_id)
        with self._lock, self._connection.transaction():
            self._connection.execute("DELETE FROM saved_playback WHERE guild_id = ?", (guild_id,))
            rows = self._connection.execute(
                "SELECT source, key, title, page_url, duration_s, artist, requester_id FROM saved_queue"
                " WHERE guild_id = ? ORDER BY position",
                (guild_id,),
            ).fetchall()
            self._connection.execute("DELETE FROM saved_queue WHERE guild_id = ?", (guild_id,))
        entries = [
            QueuedTrack(
                Track(TrackId(source, key), title, page_url, duration_s=duration_s, artist=artist),
                requester_id=requester_id,
            )
            for source, key, title, page_url, duration_s, artist, requester_id in rows
        ]
        return entries, playback
