"""The cache's disk fills up: members keep hearing whole songs, what was cached still plays from the
cache, and the cache fills again once there is room. The cache directory is a small tmpfs mounted
for the test, so "full" is the kernel's ENOSPC, not a simulation of it."""

from __future__ import annotations

import asyncio
import errno
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from musicbox.bot.client import MusicBot
from musicbox.cache.audio import DISK_MARGIN_BYTES, CachedAudio
from musicbox.sim.voice import Recording
from tests.world.fixture import World
from tests.world.stage import Stage, reply_text, stage

DISK_MB = 24


@pytest.fixture
def small_cache_disk(world: World) -> Iterator[Path]:
    directory = world.state_dir / "cache"
    directory.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK_MB}m,mode=0700", "musicbox-test-cache", str(directory)],
        check=True,
    )
    try:
        yield directory
    finally:
        subprocess.run(["umount", "--lazy", str(directory)], check=True)


def fill_disk(directory: Path, leave_bytes: int = 0) -> Path:
    """Write a file until only `leave_bytes` are free (0: until the kernel says the disk is full)."""
    filler = directory / "someone-elses-backup.bin"
    chunk = b"\0" * 65536
    # Unbuffered: a buffered file keeps the part of a chunk the full disk refused, and its close
    # fails on it once more (whenever the free space was not a whole number of chunks).
    with filler.open("ab", buffering=0) as out:
        try:
            while shutil.disk_usage(directory).free > leave_bytes:
                out.write(chunk)
        except OSError as full:
            assert full.errno == errno.ENOSPC
    return filler


async def heard_at_least(recording: Recording, rung: int, ms: int, within_s: float = 30) -> None:
    for _ in range(int(within_s / 0.05)):
        if recording.heard_ms(rung) >= ms:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"rung {rung}: heard {recording.heard_ms(rung)} ms, wanted {ms}")


async def song_over(bot: MusicBot, home: Stage) -> None:
    session = bot.sessions.get(home.guild.id)
    async with asyncio.timeout(10):
        while session is not None and session.queue.current is not None:  # noqa: ASYNC110 (the bot's state)
            await asyncio.sleep(0.02)


async def play(home: Stage, query: str) -> str:
    said, _ = await reply_text(await home.alice.run_command("play", home.text, query=query))
    return said


async def test_with_no_room_songs_play_uncached_and_the_cached_ones_still_play(
    world: World, small_cache_disk: Path
) -> None:
    home = stage(world.sim)
    async with world.bot() as bot:
        audio = bot.audio
        assert isinstance(audio, CachedAudio)
        await home.alice.join_voice(home.voice)
        heard = home.voice.heard()
        cached_song = world.media.track_url(50, seconds=2)
        await play(home, cached_song)
        await heard_at_least(heard, 50, 1800)
        await song_over(bot, home)  # the next /play starts at once, not queued behind its last 0.2 s
        assert audio.store.stats().entries == 1

        filler = fill_disk(small_cache_disk, leave_bytes=DISK_MARGIN_BYTES // 2)
        said = await play(home, world.media.track_url(51, seconds=3))
        assert said.startswith("Playing"), said  # the member is not troubled with the owner's disk
        await heard_at_least(heard, 51, 2800)
        assert audio.disk_full and audio.store.stats().entries == 1
        assert audio.transcodes_started == 1

        hits = audio.store.hits
        await play(home, cached_song)
        await heard_at_least(heard, 50, 3600)  # its second play, whole, from the cached file
        assert audio.store.hits == hits + 1

        filler.unlink()
        await play(home, world.media.track_url(52, seconds=2))
        await heard_at_least(heard, 52, 1800)
        for _ in range(100):  # the fill commits just after the song's last packet was read
            if audio.store.stats().entries == 2:
                break
            await asyncio.sleep(0.05)
        assert audio.store.stats().entries == 2 and not audio.disk_full
    assert [p.name for p in (small_cache_disk / "audio").glob("*.part")] == []


async def test_a_disk_that_fills_mid_song_does_not_cut_the_song_short(
    world: World, small_cache_disk: Path
) -> None:
    """The host sends the file about as fast as it plays, so the song is still being cached when
    something else fills the disk: ffmpeg fails with ENOSPC, and the song goes on from where it was,
    streamed straight from its source."""
    home = stage(world.sim)
    async with world.bot() as bot:
        audio = bot.audio
        assert isinstance(audio, CachedAudio)
        await home.alice.join_voice(home.voice)
        heard = home.voice.heard()
        await play(home, world.media.track_url(53, seconds=8, fault="trickle"))
        await play(home, world.media.track_url(54, seconds=1.5))
        await heard_at_least(heard, 53, 2000)
        fill_disk(small_cache_disk)
        await heard_at_least(heard, 54, 1400, within_s=40)
        print(f"\nheard {heard.heard_ms(53)} ms of an 8 s song whose cache ran out of disk at ~2 s")
        assert heard.heard_ms(53) >= 7000, heard.heard_ms(53)
        assert audio.disk_full
        assert [key for key in audio.store.all_keys() if "/media/53/" in key] == []  # never half-cached
    assert [p.name for p in (small_cache_disk / "audio").glob("*.part")] == []
