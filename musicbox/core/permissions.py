"""Who may change a guild's playback. Pure: the bot passes in what it knows about the member."""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass
from enum import StrEnum


class Action(StrEnum):
    PLAY = "play"
    SKIP = "skip"
    STOP = "stop"
    CLEAR = "clear"
    REMOVE = "remove"
    MOVE = "move"
    VOLUME = "volume"
    FILTER = "filter"
    SETTINGS = "settings"
    PAUSE = "pause"
    SHUFFLE = "shuffle"
    LOOP = "loop"
    SEEK = "seek"
    SERVER_PLAYLIST = "server_playlist"  # create, fill, rename or delete one of the server's playlists


# Everyone may add music and look around; these change what others hear, so a DJ role can reserve them.
DJ_ACTIONS: frozenset[Action] = frozenset(
    {
        Action.SKIP,
        Action.STOP,
        Action.CLEAR,
        Action.REMOVE,
        Action.MOVE,
        Action.VOLUME,
        Action.FILTER,
        Action.SETTINGS,
        Action.SERVER_PLAYLIST,
    }
)


@dataclass(frozen=True, slots=True)
class MemberStanding:
    role_names: Set[str]
    is_admin: bool  # Manage Server or Administrator: may always act
    alone_with_bot: bool  # the only listener in the bot's voice channel


def may(action: Action, member: MemberStanding, *, dj_role: str) -> bool:
    if member.is_admin:
        return True
    # Settings outlive the session and bind everyone: only server managers change them.
    if action is Action.SETTINGS:
        return False
    if action not in DJ_ACTIONS or not dj_role:
        return True
    # A member alone with the bot harms nobody by skipping or stopping their own listening.
    if member.alone_with_bot and action in {Action.SKIP, Action.STOP}:
        return True
    return dj_role in member.role_names
