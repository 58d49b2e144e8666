"""What `musicbox run` loads: only what the running bot uses, so its idle memory stays small."""

from __future__ import annotations

import subprocess
import sys

import pytest

# yt-dlp (about 20 MiB, and Python that holds the GIL while it parses) runs in the extraction
# workers; Typer and rich are the CLI's; spotipy only when the owner set Spotify up; psycopg only when
# the stores are on a PostgreSQL server; numpy and the simulator are the bench's.
NOT_IN_THE_SERVICE = (
    "yt_dlp", "typer", "rich", "spotipy", "psycopg", "numpy", "musicbox.sim", "musicbox.bench"
)  # fmt: skip


@pytest.mark.parametrize("entry", ["musicbox.cli.foreground", "musicbox.service.runner"])
def test_the_service_path_leaves_out_what_the_running_bot_does_not_use(entry: str) -> None:
    loaded = subprocess.run(
        [sys.executable, "-c", f"import sys, {entry}; print(' '.join(sorted(sys.modules)))"],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout.split()  # fmt: skip
    assert [name for name in NOT_IN_THE_SERVICE if name in loaded] == []
