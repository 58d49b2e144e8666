"""`musicbox demo`, as a newcomer runs it: no token, no network, and it shows musicbox working."""

from __future__ import annotations

import json
import subprocess
import sys

from musicbox.sim.demo import FIRST_SONG, PLAYLIST_FIRST, PLAYLIST_LENGTH
from musicbox.sim.media import entry


def test_the_demo_runs_to_completion_and_the_channel_hears_the_scene() -> None:
    finished = subprocess.run(
        [sys.executable, "-m", "musicbox", "demo", "--json", "--song-seconds", "3"],
        capture_output=True,
        text=True,
        timeout=150,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr[-2000:]
    outcome = json.loads(finished.stdout)
    assert outcome["succeeded"] and outcome["failed_interactions"] == 0 and outcome["violations"] == []
    playlist = [entry(PLAYLIST_FIRST + i).full_title for i in range(PLAYLIST_LENGTH)]
    assert outcome["heard"] == [entry(FIRST_SONG).full_title, *playlist]
    refused = [line["saw"] for line in outcome["lines"] if "file://" in line["typed"]]
    assert refused[0].startswith("Join a voice channel")
    assert "file:// links are not played" in refused[1]
    assert all(line["ack_ms"] < 3000 for line in outcome["lines"])
