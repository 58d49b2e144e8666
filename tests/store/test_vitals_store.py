"""The graphs' figures outlive a restart and never grow past a day."""

from __future__ import annotations

from pathlib import Path

from musicbox.core.vitals import KEEP_S, Sample
from musicbox.store.database import connect, damage, open_state
from musicbox.store.vitals import VitalsStore


def minute(at: float, streams: int = 1) -> Sample:
    return Sample(at, 12.5, None, streams, 80.0, 3.5, 0, first_audio_p95_ms=420.0)


def test_samples_are_read_back_after_a_restart_and_older_than_a_day_are_dropped(tmp_path: Path) -> None:
    path = tmp_path / "musicbox.sqlite3"
    first = open_state(path)
    store = VitalsStore(first)
    store.record(minute(1000.0, streams=3))
    store.record(minute(1060.0))
    first.close()
    reopened = connect(path)
    again = VitalsStore(reopened)
    assert again.since(0) == [minute(1000.0, streams=3), minute(1060.0)]
    again.record(minute(1000.0 + KEEP_S + 30))  # a day on: the first is out of every graph
    assert [sample.at for sample in again.since(0)] == [1060.0, 1000.0 + KEEP_S + 30]
    reopened.close()
    assert damage(path) is None  # the next start sees its own table, not another program's file


def test_a_day_kept_by_an_older_musicbox_is_read_with_no_time_to_first_audio(tmp_path: Path) -> None:
    path = tmp_path / "musicbox.sqlite3"
    older = connect(path)
    older.execute(
        "CREATE TABLE vitals (at REAL PRIMARY KEY, command_p95_ms REAL, cache_hit_ratio REAL, "
        "streams INTEGER NOT NULL, rss_mb REAL NOT NULL, cpu_percent REAL NOT NULL, errors INTEGER NOT NULL)"
    )
    older.execute("INSERT INTO vitals VALUES (1000.0, 12.5, NULL, 1, 80.0, 3.5, 0)")
    older.commit()
    older.close()
    upgraded = connect(path)
    store = VitalsStore(upgraded)
    store.record(minute(1060.0))
    assert store.since(0) == [Sample(1000.0, 12.5, None, 1, 80.0, 3.5, 0), minute(1060.0)]
    upgraded.close()
