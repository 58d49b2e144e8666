"""What a guild may queue: the decision, not the message (the bot words it, see bot/text.py)."""

from __future__ import annotations

from collections.abc import Iterable, Set
from dataclasses import dataclass
from enum import StrEnum

from musicbox.core.track import Track, TrackId


@dataclass(frozen=True, slots=True)
class QueueLimits:
    max_queue: int = 500
    max_playlist: int = 1000
    max_track_s: int = 3 * 3600


class Refusal(StrEnum):
    QUEUE_FULL = "queue_full"
    DUPLICATE = "duplicate"
    TOO_LONG = "too_long"


@dataclass(frozen=True, slots=True)
class Admission:
    accepted: tuple[Track, ...]
    refused: tuple[tuple[Track, Refusal], ...]

    @property
    def first_refusal(self) -> Refusal | None:
        return self.refused[0][1] if self.refused else None


def too_long(duration_s: float | None, max_track_s: int) -> bool:
    """Compared in whole seconds, as a member reads lengths: a file probed at 3:00:00.02 is a
    3:00:00 song, within a 3:00:00 limit. Unknown lengths (streams) pass."""
    return duration_s is not None and int(duration_s) > max_track_s


def refusal_for(track: Track, *, held: Set[TrackId], queued: int, limits: QueueLimits) -> Refusal | None:
    if track.id in held:
        return Refusal.DUPLICATE
    if too_long(track.duration_s, limits.max_track_s):
        return Refusal.TOO_LONG
    if queued >= limits.max_queue:
        return Refusal.QUEUE_FULL
    return None


def admit(tracks: Iterable[Track], *, held: Set[TrackId], queued: int, limits: QueueLimits) -> Admission:
    """Decide track by track, in order, as if each accepted one were already queued (so a playlist
    that repeats a song is deduplicated against itself, and the queue cap counts its own entries)."""
    seen = set(held)
    accepted: list[Track] = []
    refused: list[tuple[Track, Refusal]] = []
    for track in tracks:
        refusal = refusal_for(track, held=seen, queued=queued + len(accepted), limits=limits)
        if refusal is None:
            accepted.append(track)
            seen.add(track.id)
        else:
            refused.append((track, refusal))
    return Admission(accepted=tuple(accepted), refused=tuple(refused))


def playlist_over_limit(entry_count: int, limits: QueueLimits) -> bool:
    return entry_count > limits.max_playlist
