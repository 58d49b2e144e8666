"""The music folders' index on real files: what a scan keeps, what it reads again, what it skips."""

from __future__ import annotations

import subprocess
from pathlib import Path

from musicbox.core.config import LibraryConfig
from musicbox.sources.local import LocalMusic
from musicbox.store.database import connect


def tone(path: Path, *metadata: str) -> None:
    subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", "sine=duration=0.5",
         *metadata, str(path)],
        check=True,
        timeout=60,
    )  # fmt: skip


def test_untagged_and_damaged_files_are_kept_by_name_and_a_changed_file_is_read_again(tmp_path: Path) -> None:
    music = tmp_path / "Music"
    music.mkdir()
    tone(music / "Track 07.wav")  # no tags: its file name is its title
    (music / "broken.mp3").write_bytes(b"not audio at all" * 64)  # damaged: kept by name, no crash
    (music / "cover.jpg").write_bytes(b"\xff\xd8")  # not audio: skipped
    tone(music / "song.ogg", "-metadata", "title=Evening", "-metadata", "album=Home Tapes")
    index = LocalMusic(LibraryConfig(folders=(str(music),)), connect(tmp_path / "state.sqlite3"))
    index.scan()
    found = {(e.song.title, e.song.album) for e in index.songs}
    assert found == {("Track 07", None), ("broken", None), ("Evening", "Home Tapes")}
    evening = next(e.song for e in index.songs if e.song.title == "Evening")
    assert evening.duration_s is not None and 0.4 < evening.duration_s < 0.6

    tone(music / "song.ogg", "-y", "-metadata", "title=Morning")  # changed in place
    (music / "broken.mp3").unlink()
    index.scan()
    assert {e.song.title for e in index.songs} == {"Track 07", "Morning"}
    # The same file keeps its key (saved queues and playlists name it) when its tags change.
    assert next(e.song.key for e in index.songs if e.song.title == "Morning") == evening.key
