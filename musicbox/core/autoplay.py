"""What autoplay plays when a server's queue runs out: a song from the server's own history and its
members' favourites. Pure: the bot passes in what was heard and liked, the time and a random draw.

Each candidate's weight is the sum of its hearings and likes, each decaying with age (a song heard
ten times last month weighs about what one heard three times this week), so the server's own taste
comes back, the recent more than the old. Songs among the last `window` heard are never picked:
autoplay must not sound like a loop. Nothing here leaves the box."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from musicbox.core.track import Track, TrackId

HALF_LIFE_S = 7 * 24 * 3600.0  # a hearing a week old counts half
LIKE_WEIGHT = 3.0  # a like says more than one hearing: someone chose to keep it
WINDOW = 5  # songs heard last that autoplay never repeats


@dataclass(frozen=True, slots=True)
class Heard:
    track: Track
    at: float  # Unix time


def weight_of(age_s: float) -> float:
    return math.pow(0.5, max(0.0, age_s) / HALF_LIFE_S)


def choose_next(
    heard: Sequence[Heard],
    liked: Sequence[Heard],
    *,
    now: float,
    draw: float,
    window: int = WINDOW,
) -> Track | None:
    """The song to play next, or None when every candidate was heard too lately. `heard` is newest
    first; `draw` is uniform in [0, 1)."""
    recent = {h.track.id for h in heard[:window]}
    weights: dict[TrackId, float] = {}
    tracks: dict[TrackId, Track] = {}
    for hearing in heard:
        _add(weights, tracks, hearing, 1.0, now, recent)
    for like in liked:
        _add(weights, tracks, like, LIKE_WEIGHT, now, recent)
    if not weights:
        return None
    # Sorted: the same inputs and draw give the same song, whatever order the rows came in.
    ordered = sorted(weights.items(), key=lambda item: str(item[0]))
    total = sum(weight for _, weight in ordered)
    point = min(max(draw, 0.0), 1.0) * total
    for track_id, weight in ordered:
        point -= weight
        if point < 0:
            return tracks[track_id]
    return tracks[ordered[-1][0]]


def _add(
    weights: dict[TrackId, float],
    tracks: dict[TrackId, Track],
    event: Heard,
    worth: float,
    now: float,
    recent: set[TrackId],
) -> None:
    track_id = event.track.id
    if track_id in recent:
        return
    weights[track_id] = weights.get(track_id, 0.0) + worth * weight_of(now - event.at)
    tracks.setdefault(track_id, event.track)
