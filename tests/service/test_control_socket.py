"""Where `musicbox status` and the bot meet: never in a directory another local user could have made
first (the fallback outside systemd can be /tmp/runtime-<uid>) or could write into. Run as root, as
CI does: another user is played by chown."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from musicbox.service.control import SOCKET_NAME, ControlUnavailable, ask, ask_status, serving, unsafe

NOBODY = 65534
# Another local user is played by chown, which only root may do (CI runs as root).
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="plays another local user with chown: needs root")


def shared_tmp(tmp_path: Path) -> Path:
    """A directory like /tmp: anyone may make a name in it, nobody may take another's."""
    place = tmp_path / "tmp"
    place.mkdir()
    place.chmod(0o1777)
    return place


@as_root
async def test_a_directory_another_user_made_first_is_neither_served_nor_asked(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    squatted = shared_tmp(tmp_path) / "runtime-0"
    squatted.mkdir(mode=0o777)
    os.chown(squatted, NOBODY, NOBODY)
    with caplog.at_level(logging.ERROR):
        async with serving(squatted, lambda: {"state": "online"}) as path:
            assert path is None
            assert not (squatted / SOCKET_NAME).exists()
            with pytest.raises(ControlUnavailable, match="made by another user"):
                await ask_status(squatted)
    [told] = [r.getMessage() for r in caplog.records]
    assert "not serving `musicbox status`" in told and "uid 65534" in told


async def test_a_directory_others_can_write_is_refused(tmp_path: Path) -> None:
    open_to_all = tmp_path / "open"
    open_to_all.mkdir()
    open_to_all.chmod(0o777)
    assert unsafe(open_to_all / "musicbox") == f"{open_to_all} can be written by other users"
    async with serving(open_to_all / "musicbox", lambda: {}) as path:
        assert path is None


@as_root
async def test_a_private_directory_is_made_and_served_and_the_service_user_s_is_asked(tmp_path: Path) -> None:
    runtime = shared_tmp(tmp_path) / "runtime-0" / "musicbox"  # made by the bot: its own, 0700
    async with serving(runtime, lambda: {"state": "online"}) as path:
        assert path == runtime / SOCKET_NAME
        assert (runtime.stat().st_mode & 0o777, runtime.stat().st_uid) == (0o700, os.geteuid())
        assert await ask_status(runtime) == {"state": "online"}
        # Root asking a service user's directory in one only root could write (/run/musicbox).
        os.chown(runtime.parent, 0, 0)
        os.chown(runtime, NOBODY, NOBODY)
        assert unsafe(runtime) is None


async def test_the_bench_asks_for_the_last_starts_and_an_unknown_request_is_told_so(tmp_path: Path) -> None:
    runtime = tmp_path / "run"
    starts = [{"guild_id": 7, "marks": {"command": 12.5}}]
    async with serving(runtime, lambda: {"state": "online"}, {"starts": lambda _: starts}):
        assert await ask(runtime, "starts") == starts
        assert await ask_status(runtime) == {"state": "online"}
        assert "unknown request" in (await ask(runtime, "reboot"))["error"]
