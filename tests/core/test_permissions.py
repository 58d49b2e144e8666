"""Who may change what everyone hears."""

from __future__ import annotations

import pytest

from musicbox.core.permissions import Action, MemberStanding, may


def member(*roles: str, admin: bool = False, alone: bool = False) -> MemberStanding:
    return MemberStanding(role_names=set(roles), is_admin=admin, alone_with_bot=alone)


@pytest.mark.parametrize(
    ("action", "who", "dj_role", "allowed"),
    [
        (Action.SKIP, member(), "", True),
        (Action.SKIP, member(), "DJ", False),
        (Action.SKIP, member("DJ"), "DJ", True),
        (Action.SKIP, member(alone=True), "DJ", True),
        (Action.STOP, member(alone=True), "DJ", True),
        (Action.CLEAR, member(alone=True), "DJ", False),
        (Action.VOLUME, member(), "DJ", False),
        (Action.FILTER, member(), "DJ", False),  # a filter changes what everyone hears, like the volume
        (Action.FILTER, member("DJ"), "DJ", True),
        (Action.REMOVE, member("DJ"), "DJ", True),
        (Action.MOVE, member(admin=True), "DJ", True),
        (Action.PLAY, member(), "DJ", True),
        (Action.PAUSE, member(), "DJ", True),
        (Action.SETTINGS, member(), "", False),
        (Action.SETTINGS, member("DJ"), "DJ", False),
        (Action.SETTINGS, member(admin=True), "", True),
        (Action.SERVER_PLAYLIST, member(), "", True),
        (Action.SERVER_PLAYLIST, member(), "DJ", False),
        (Action.SERVER_PLAYLIST, member(alone=True), "DJ", False),  # it outlives their listening
        (Action.SERVER_PLAYLIST, member("DJ"), "DJ", True),
        (Action.SERVER_PLAYLIST, member(admin=True), "DJ", True),
    ],
)
def test_dj_role_reserves_what_changes_everyones_listening(
    action: Action, who: MemberStanding, dj_role: str, allowed: bool
) -> None:
    assert may(action, who, dj_role=dj_role) is allowed
