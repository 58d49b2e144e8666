"""The owner's own music: files in the configured folder, tagged, are found by words from their tags
(in /play's suggestions first, and by /play itself) and heard; a file added while the bot runs is
found without a restart; a symlink out of the folder is never offered."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from musicbox.cache.audio import CachedAudio
from musicbox.core.config import LibraryConfig
from musicbox.sim.signature import tone_hz
from musicbox.sources.local import GONE, LocalSource
from tests.world.fixture import World
from tests.world.stage import Stage, reply_text, stage

RESCAN_S = 1


def tagged_tone(path: Path, index: int, *, title: str, artist: str, seconds: int = 3) -> None:
    """A song the listener recognises by its tone, tagged as a ripped CD would be."""
    subprocess.run(
        [
            "ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi",
            "-i", f"sine=frequency={tone_hz(index)}:duration={seconds}:sample_rate=48000", "-ac", "2",
            "-metadata", f"title={title}", "-metadata", f"artist={artist}", str(path),
        ],
        check=True,
        timeout=60,
    )  # fmt: skip


async def until(condition: Callable[[], bool], within_s: float, what: str) -> None:
    for _ in range(int(within_s / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not within {within_s} s: {what}")


async def offered(home: Stage, words: str, wanted: str, *, within_s: float) -> list[dict[str, str]]:
    """/play's suggestions for `words` once one names `wanted` (the index is built in the background)."""
    deadline = time.monotonic() + within_s
    while True:
        choices = await home.alice.autocomplete("play", "query", words, home.text)
        if any(wanted in choice["name"] for choice in choices) or time.monotonic() > deadline:
            return choices
        await asyncio.sleep(0.2)


async def test_a_tagged_local_file_is_found_by_its_tags_and_heard(world: World, tmp_path: Path) -> None:
    music = tmp_path / "Music"
    (music / "Harbour").mkdir(parents=True)
    # Long enough to be still playing when it is asked for again below.
    harbour = music / "Harbour" / "01.mp3"
    tagged_tone(harbour, 11, title="Lights Over the Harbour", artist="The Owners", seconds=60)
    tagged_tone(tmp_path / "secret.mp3", 12, title="Forbidden Lighthouse", artist="Outside")
    (music / "escape.mp3").symlink_to(tmp_path / "secret.mp3")
    home = stage(world.sim)
    await home.alice.join_voice(home.voice)
    unplugged = str(tmp_path / "usb")  # a folder of the config that is not there: never a crash
    library = LibraryConfig(folders=(str(music), unplugged), rescan_interval_s=RESCAN_S)
    async with world.bot(library=library) as bot:
        assert isinstance(bot.sources, LocalSource)
        choices = await offered(home, "harbour lights", "Lights Over the Harbour", within_s=20)
        assert "Lights Over the Harbour" in choices[0]["name"]  # local songs come first
        assert [(f.songs, f.problem) for f in bot.sources.folders] == [(1, None), (0, "does not exist")]
        assert choices[0]["value"].startswith("local:") and str(music) not in choices[0]["value"]

        played = await home.alice.run_command("play", home.text, query="owners harbour")
        reply = await played.reply(lambda m: "Playing" in m.text())
        assert "Lights Over the Harbour" in reply.text()
        await home.voice.heard().wait_for_rungs([11], timeout=20)
        assert isinstance(bot.audio, CachedAudio)
        cache = bot.audio.store
        await until(lambda: cache.stats().entries == 1, 20, "the local song cached like any other")

        # The suggestion's value, as Discord sends it back when a member picks it, is that same song.
        by_value = await home.alice.run_command("play", home.text, query=choices[0]["value"])
        refused = await by_value.reply(lambda m: "already in the queue" in m.text())
        assert "Lights Over the Harbour" in refused.text()

        escaped = await home.alice.autocomplete("play", "query", "forbidden lighthouse", home.text)
        assert not any(choice["value"].startswith("local:") for choice in escaped)

        tagged_tone(music / "02.flac", 13, title="Quiet Fields", artist="The Owners")
        later = await offered(home, "quiet fields", "Quiet Fields", within_s=RESCAN_S + 15)
        assert "Quiet Fields" in later[0]["name"]

        # Removed from the folder: a member picking its old suggestion is told, in one sentence.
        harbour.unlink()
        gone = "Lights Over the Harbour"
        await until(lambda: all(e.song.title != gone for e in bot.sources.songs), RESCAN_S + 15, "forgotten")
        again = await home.alice.run_command("play", home.text, query=choices[0]["value"])
        told, private = await reply_text(again)
        assert GONE in told and private
