"""`musicbox status` as the owner reads it: server, channel and song names, upstream hosts and log
lines are whatever someone typed, and text like `[/]` or `[bold]` in them shows as typed."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

from musicbox.service.control import serving

MARKUP = "[/] [bold]not bold[/bold] [link=http://x]"


def report_naming(text: str) -> dict[str, Any]:
    """What a running bot answers, with `text` in every name and line someone else chose."""
    return {
        "state": "online",
        "version": "1.0",
        "config": "/etc/musicbox/config.toml",
        "pid": 1,
        "uptime_s": 60.0,
        "user": f"bot {text}",
        "gateway_latency_ms": 40.0,
        "guilds": 1,
        "voice_sessions": [
            {
                "guild_id": 1,
                "guild": f"server {text}",
                "channel": f"channel {text}",
                "now_playing": f"song {text}",
                "position_s": 3.0,
                "paused": True,
                "queue_length": 2,
                "loop": "off",
            }
        ],
        "max_voice_sessions": 4,
        "rss_mb": 80.0,
        "allocator": "glibc",
        "children": 0,
        "tasks": 10,
        "last_errors": [{"at": 0.0, "level": "WARNING", "guild": 1, "message": f"could not play {text}"}],
        "cache": None,
        "web": {"url": "http://192.168.1.20:8080/", "problem": None},
        "update": {
            "at": 0.0,
            "outcome": "rolled back",
            "installed": {"yt-dlp": "2025.11.12", "deno": "2.5.6"},
            "problem": f"the smoke test failed {text}",
        },
        "upstreams": {
            "retries": 0,
            "failures": 5,
            "troubled": [
                {"name": f"host{text}", "circuit": "open", "consecutive_failures": 5, "retry_in_s": 9}
            ],
        },
        "music_folders": [
            {"folder": f"/srv/music {text}", "songs": 12, "problem": None},
            {"folder": "/media/usb/Music", "songs": 0, "problem": "does not exist"},
        ],
    }


async def test_names_and_log_lines_holding_markup_are_shown_as_typed(tmp_path: Path) -> None:
    async with serving(tmp_path, lambda: report_naming(MARKUP)):
        shown = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "musicbox",
            "status",
            env={**os.environ, "RUNTIME_DIRECTORY": str(tmp_path), "COLUMNS": "400"},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        printed, errors = await asyncio.wait_for(shown.communicate(), timeout=60)
    assert shown.returncode == 0, errors.decode()
    screen = printed.decode()
    for line in (
        f"as bot {MARKUP}",
        f"server {MARKUP}",
        f"song {MARKUP} (paused)",
        f"could not play {MARKUP}",
        "80.0 MiB (glibc malloc)",
    ):
        assert line in screen, screen
    assert f"host{MARKUP}: circuit open" in screen
    assert "web page http://192.168.1.20:8080/ (`musicbox web link` logs you in once)" in screen
    assert f"music folder /srv/music {MARKUP}: 12 songs" in screen
    assert (
        "update rolled back " in screen and f"the smoke test failed {MARKUP}; now yt-dlp 2025.11.12" in screen
    )
    # A folder the bot cannot read is one line that says so, and the bot goes on.
    assert (
        "music folder /media/usb/Music does not exist for the bot: its songs are not offered "
        "(see `musicbox doctor`)" in screen
    )
