"""The real discord.py voice stack against the simulator: what a listener hears is what was played."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

from musicbox.sim.discord import DiscordSim
from musicbox.sim.signature import tone_hz
from tests.sim.plain_client import connected


def tone_file(directory: Path, index: int, seconds: float) -> Path:
    path = directory / f"tone{index}.ogg"
    subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency={tone_hz(index)}:duration={seconds}:sample_rate=48000",
            "-ac",
            "2",
            "-c:a",
            "libopus",
            "-b:a",
            "96k",
            str(path),
        ],
        check=True,
    )
    return path


async def test_a_plain_discord_py_bot_joins_voice_and_the_listener_hears_its_file(
    discord_sim: DiscordSim, tmp_path: Path
) -> None:
    guild = discord_sim.create_guild("home")
    text, lounge, alice = (
        guild.create_text_channel("general"),
        guild.create_voice_channel("Lounge"),
        guild.create_member("alice"),
    )
    song = tone_file(tmp_path, 7, seconds=2.0)
    async with connected(discord_sim, guild.id):
        await alice.join_voice(lounge)
        reply = await (await alice.run_command("tone", text, path=str(song))).reply(timeout=15)
        assert reply.content == "playing in Lounge"
        heard = lounge.heard()
        await heard.wait_for_rungs([7], timeout=15)
        for _ in range(300):  # discord.py ends a source with five silence frames
            if heard.silence_frames >= 5:
                break
            await asyncio.sleep(0.02)
        assert heard.decryption_failures == 0
        assert lounge.member_ids.count(discord_sim.bot_user_id) == 1
        await (await alice.run_command("leave", text)).reply()
    assert heard.heard_rungs() == [7]
    assert 1900 <= heard.heard_ms(7) <= 2100, heard.heard_ms(7)
    assert heard.sequence_gaps == []
    # FFmpegOpusAudio's Ogg reader sends the OpusHead and OpusTags header packets as if they were
    # audio; the listener cannot decode exactly those two.
    assert heard.opus_errors == 2
