"""What the last `musicbox update` did reaches `musicbox status --json` and the web page: written by
the update, read by the bot, and a missing or damaged record never breaks the status."""

from __future__ import annotations

from pathlib import Path

import pytest

from musicbox.service.update_state import last_update, remember, update_line

VERSIONS = {"yt-dlp": "2025.11.12", "deno": "2.5.6"}


def test_the_last_outcome_is_read_back_as_the_update_wrote_it(tmp_path: Path) -> None:
    record = tmp_path / "musicbox-update-state.json"
    assert last_update(record) is None  # never ran here
    remember(VERSIONS, "rolled back", "yt-dlp could not read a link", path=record, at=1000.0)
    assert last_update(record) == {
        "at": 1000.0,
        "outcome": "rolled back",
        "installed": VERSIONS,
        "problem": "yt-dlp could not read a link",
    }
    remember(VERSIONS, "unchanged", path=record, at=2000.0)
    assert last_update(record) == {
        "at": 2000.0,
        "outcome": "unchanged",
        "installed": VERSIONS,
        "problem": None,
    }


@pytest.mark.parametrize("damaged", ["", "{not json", "[]", '{"outcome": "exploded"}'])
def test_a_damaged_record_reads_as_none_rather_than_failing_the_status(tmp_path: Path, damaged: str) -> None:
    record = tmp_path / "musicbox-update-state.json"
    record.write_text(damaged)
    assert last_update(record) is None


@pytest.mark.parametrize(
    ("update", "line"),
    [
        (None, "never run here (the weekly musicbox-update timer runs `musicbox update`)"),
        (
            {"at": 0.0, "outcome": "upgraded", "installed": VERSIONS, "problem": None},
            "upgraded 3 h ago; now yt-dlp 2025.11.12, deno 2.5.6",
        ),
        (
            {
                "at": 0.0,
                "outcome": "failed",
                "installed": {"yt-dlp": "2025.11.12", "deno": ""},
                "problem": "pip",
            },
            "failed 3 h ago: pip; now yt-dlp 2025.11.12, deno missing",
        ),
    ],
)
def test_the_owner_reads_one_line(update: dict[str, object] | None, line: str) -> None:
    assert update_line(update, now=3 * 3600 + 59) == line
