"""`musicbox cache stats|purge` over a cache the bot filled, with the bot's store still open."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from musicbox.cache.store import AudioStore
from musicbox.store.database import connect
from tests.fixtures.cli import run_musicbox


def musicbox(tmp_path: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    environment = {
        "MUSICBOX_CONFIG": str(tmp_path / "config.toml"),
        "STATE_DIRECTORY": str(tmp_path / "state"),
        "CACHE_DIRECTORY": str(tmp_path / "cache"),
        "MUSICBOX_CACHE_BUDGET_MB": "64",
    }
    return run_musicbox(*arguments, environment=environment)


def fill(tmp_path: Path, clock: list[float]) -> AudioStore:
    """The bot's side: three songs cached, one of them last played ten days ago."""
    database = connect(tmp_path / "state" / "musicbox.sqlite3")
    store = AudioStore(
        tmp_path / "cache" / "audio", database, budget_bytes=64 * 2**20, clock=lambda: clock[0]
    )
    for name, played_at in (("old", clock[0] - 10 * 86_400), ("new", clock[0]), ("newer", clock[0])):
        partial = store.partial_for(f"http:{name}")
        partial.write_bytes(b"OggS" + bytes(100_000))
        saved = clock[0]
        clock[0] = played_at
        store.commit(f"http:{name}", partial)
        clock[0] = saved
    return store


def test_stats_counts_songs_and_bytes_against_the_budget(tmp_path: Path) -> None:
    fill(tmp_path, [time.time()])
    ran = musicbox(tmp_path, "cache", "stats", "--json")
    assert ran.returncode == 0, ran.stderr
    report = json.loads(ran.stdout)
    assert (report["songs"], report["budget_mb"], report["being_written"]) == (3, 64.0, 0)
    assert report["used_mb"] == round(3 * 100_004 / 2**20, 1)
    assert report["oldest_played_days_ago"] == 10.0


def test_purge_older_than_removes_only_the_stale_song_while_the_bot_holds_the_store(tmp_path: Path) -> None:
    bot_store = fill(tmp_path, [time.time()])
    writing = bot_store.partial_for("http:playing-now")
    writing.write_bytes(b"OggS being written")
    ran = musicbox(tmp_path, "cache", "purge", "--older-than", "7d", "--json")
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["songs_removed"] == 1
    assert not bot_store.file_for("http:old").exists()
    assert bot_store.file_for("http:new").exists()
    assert writing.exists()  # the bot's song in progress is not the visitor's to delete
    assert bot_store.lookup("http:old") is None and bot_store.lookup("http:new") is not None
    again = musicbox(tmp_path, "cache", "purge", "--older-than", "7d")
    assert "removed 0 songs not played for 7 days (0.0 MB)" in again.stdout, again.stdout


def test_purge_needs_to_be_told_what(tmp_path: Path) -> None:
    ran = musicbox(tmp_path, "cache", "purge")
    assert ran.returncode == 2 and "--all" in ran.stderr
    assert musicbox(tmp_path, "cache", "purge", "--older-than", "a while").returncode == 2


def test_purge_all_empties_the_cache(tmp_path: Path) -> None:
    fill(tmp_path, [time.time()])
    assert musicbox(tmp_path, "cache", "purge", "--all").returncode == 0
    report = json.loads(musicbox(tmp_path, "cache", "stats", "--json").stdout)
    assert (report["songs"], report["used_mb"]) == (0, 0.0)


def test_stats_before_the_bot_ever_ran_makes_nothing_the_service_could_not_write(tmp_path: Path) -> None:
    # Run as root before the service's first start, anything made here would be root's.
    ran = musicbox(tmp_path, "cache", "stats")
    assert ran.returncode == 0 and "Nothing is cached yet" in ran.stdout, ran.stderr
    assert not (tmp_path / "state").exists() and not (tmp_path / "cache").exists()
    assert musicbox(tmp_path, "cache", "purge", "--all").returncode == 0
    assert not (tmp_path / "state").exists() and not (tmp_path / "cache").exists()


def test_a_damaged_database_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "musicbox.sqlite3").write_bytes(b"garbage " * 500)
    ran = musicbox(tmp_path, "cache", "stats")
    assert ran.returncode == 1 and "Traceback" not in ran.stderr
    assert "is not a SQLite database" in ran.stderr and "moves it aside at its next start" in ran.stderr
