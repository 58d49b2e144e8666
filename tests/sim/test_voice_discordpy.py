"""The real discord.py 2.7 VoiceClient against the simulated voice server, through the simulated gateway.

Nothing here speaks the protocol by hand: discord.py joins, does its IP discovery, picks its mode,
encrypts and paces its packets; the simulator only listens."""

from __future__ import annotations

import asyncio
import statistics
import time

import discord
import numpy as np
import pytest

from musicbox.sim.discord import DiscordSim
from musicbox.sim.signature import FRAME_SAMPLES, SAMPLE_RATE, tone_hz
from musicbox.sim.voice import Recording
from tests.sim.plain_client import PlainBot, connected


class Tone(discord.AudioSource):
    """PCM of one tone-ladder rung, 20 ms per read, as a file decoded by ffmpeg would come."""

    def __init__(self, rung: int, seconds: float) -> None:
        self.rung = rung
        self.frames = round(seconds * 50)
        self.sent = 0

    def read(self) -> bytes:
        if self.sent >= self.frames:
            return b""
        t = (np.arange(FRAME_SAMPLES) + self.sent * FRAME_SAMPLES) / SAMPLE_RATE
        mono = (0.3 * 32767 * np.sin(2 * np.pi * tone_hz(self.rung) * t)).astype("<i2")
        self.sent += 1
        return np.repeat(mono, 2).tobytes()


async def join(bot: PlainBot, guild_id: int, channel_id: int) -> discord.VoiceClient:
    guild = bot.get_guild(guild_id)
    assert guild is not None
    channel = guild.get_channel(channel_id)
    assert isinstance(channel, discord.VoiceChannel)
    return await channel.connect(timeout=10, self_deaf=True)


async def finished(voice: discord.VoiceClient) -> None:
    for _ in range(250):
        if not voice.is_playing():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the player was still playing after 5 s")


async def test_discord_py_joins_plays_and_the_channel_hears_every_packet(discord_sim: DiscordSim) -> None:
    guild = discord_sim.create_guild("home")
    lounge = guild.create_voice_channel("Lounge")
    async with connected(discord_sim, guild.id) as bot:
        voice = await join(bot, guild.id, lounge.id)
        assert voice.mode == "aead_xchacha20_poly1305_rtpsize"  # the only rtpsize mode discord.py knows
        voice.play(Tone(rung=11, seconds=1.0))
        await finished(voice)
        heard: Recording = discord_sim.voice.recording(guild.id, lounge.id)
        for _ in range(50):
            if heard.silence_frames == 5:
                break
            await asyncio.sleep(0.02)

        assert heard.heard_rungs() == [11]
        assert 940 <= heard.heard_ms(11) <= 1060
        assert (heard.packets, heard.decryption_failures, heard.silence_frames) == (55, 0, 5)
        assert heard.sequence_gaps == [] and heard.timestamp_jumps == []
        # discord.py's player thread keeps 20 ms time; the listener sees it.
        assert 15 <= statistics.median(heard.arrival_gaps_ms()) <= 25
        await voice.disconnect()


async def test_when_the_bot_leaves_its_packets_are_no_longer_heard(discord_sim: DiscordSim) -> None:
    guild = discord_sim.create_guild("home")
    lounge = guild.create_voice_channel("Lounge")
    async with connected(discord_sim, guild.id) as bot:
        voice = await join(bot, guild.id, lounge.id)
        voice.play(Tone(rung=4, seconds=0.4))
        await finished(voice)
        await voice.disconnect()
        assert discord_sim.voice.session(guild.id) is None
        assert discord_sim.voice.recording(guild.id, lounge.id).heard_rungs() == [4]


@pytest.mark.slow
async def test_after_a_network_drop_discord_py_reconnects_and_the_song_goes_on(
    discord_sim: DiscordSim,
) -> None:
    # discord.py 2.7's UDP reader sits in select() for up to 30 s on the socket it used for IP
    # discovery; a reconnect sooner than that waits it out. Drop after 31 s to measure the clean path.
    guild = discord_sim.create_guild("home")
    lounge = guild.create_voice_channel("Lounge")
    async with connected(discord_sim, guild.id) as bot:
        voice = await join(bot, guild.id, lounge.id)
        voice.play(Tone(rung=8, seconds=40))
        heard: Recording = discord_sim.voice.recording(guild.id, lounge.id)
        await heard.wait_for_rungs([8], timeout=5)
        await asyncio.sleep(31)
        before = discord_sim.voice.session(guild.id).ssrc
        dropped_at = time.monotonic()
        await discord_sim.voice.drop_voice(guild.id)
        for _ in range(300):
            session = discord_sim.voice.session(guild.id)
            if session is not None and session.ssrc != before:
                break
            await asyncio.sleep(0.05)
        packets = heard.packets  # from here on only the new SSRC is routed to the channel
        for _ in range(300):
            if heard.packets >= packets + 50:
                break
            await asyncio.sleep(0.05)
        reconnect_s = time.monotonic() - dropped_at
        outage_ms = max(heard.arrival_gaps_ms())
        print(f"voice back {reconnect_s:.2f} s after a network drop, longest gap {outage_ms:.0f} ms")
        assert heard.decryption_failures == 0
        assert heard.packets >= packets + 50 and outage_ms < 5_000
        voice.stop()
        await voice.disconnect()
