"""The packet clock sends every guild's cached song from one thread, with discord.py's player
semantics: pause sends silence and holds the song, a stop ends it once, a lost connection is waited
out with the frame read, and a source that could make the clock wait plays on its own thread."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import cast

import discord
from discord.enums import SpeakingState

from musicbox.playback.clock import ClockedPlayer, PacketClock, play_on_clock

SILENCE = b"\xf8\xff\xfe"
SETTLE_S = 10.0  # generous: a busy box may hold a thread back for seconds


class Voice:
    """What discord.py's player asks of its voice client, recorded."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.client = self  # the player reaches the loop through client.client.loop
        self.loop = loop
        self.ws = self
        self.timeout = 30.0
        self.connected = threading.Event()
        self.connected.set()
        self.sent: list[bytes] = []
        self.speaking: list[SpeakingState] = []
        self._player: discord.player.AudioPlayer | None = None

    async def speak(self, state: SpeakingState) -> None:
        self.speaking.append(state)

    def is_connected(self) -> bool:
        return self.connected.is_set()

    def wait_until_connected(self, timeout: float | None = None) -> bool:
        return self.connected.wait(timeout)

    def send_audio_packet(self, data: bytes, *, encode: bool = True) -> None:
        assert not encode
        self.sent.append(data)

    def is_playing(self) -> bool:
        return self._player is not None and self._player.is_playing()

    def songs_packets(self) -> list[bytes]:
        return [packet for packet in self.sent if packet != SILENCE]


class Song(discord.AudioSource):
    """A cached song of `count` packets; `behind_at` is where its writer falls behind (a fill)."""

    def __init__(self, name: str, count: int, *, behind_at: int | None = None) -> None:
        self.packets = [f"{name}:{n}".encode() for n in range(count)]
        self.read_count = 0
        self.behind_at = behind_at
        self.cleanups = 0

    def read(self) -> bytes:
        if self.read_count >= len(self.packets):
            return b""
        self.read_count += 1
        return self.packets[self.read_count - 1]

    def is_opus(self) -> bool:
        return True

    def packet_ready(self) -> bool:
        return self.read_count < len(self.packets) and self.read_count != self.behind_at

    def cleanup(self) -> None:
        self.cleanups += 1


class Ended:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.errors: list[Exception | None] = []
        self._loop = loop
        self.event = asyncio.Event()

    def __call__(self, error: Exception | None) -> None:
        self.errors.append(error)
        self._loop.call_soon_threadsafe(self.event.set)


def play(voice: Voice, song: Song, clock: PacketClock, ended: Ended) -> bool:
    return play_on_clock(cast(discord.VoiceClient, voice), song, clock, ended)


async def until(condition: object, timeout_s: float = SETTLE_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "not within the time allowed"
        await asyncio.sleep(0.01)


async def test_a_hundred_guilds_hear_every_packet_in_order_from_one_thread() -> None:
    loop = asyncio.get_running_loop()
    clock = PacketClock()
    threads_before = threading.active_count()
    guilds = [(Voice(loop), Song(f"g{n}", 40), Ended(loop)) for n in range(100)]
    for voice, song, ended in guilds:
        assert play(voice, song, clock, ended)
    await until(lambda: all(len(voice.sent) >= 10 for voice, _, _ in guilds))
    assert threading.active_count() <= threads_before + 1  # the clock: no thread per guild
    assert len(clock) == 100
    for _, _, ended in guilds:
        await asyncio.wait_for(ended.event.wait(), SETTLE_S)
    # discord.py calls `after` before it cleans the source up, in the player's thread.
    await until(lambda: all(song.cleanups for _, song, _ in guilds))
    for voice, song, ended in guilds:
        assert voice.songs_packets() == song.packets
        assert voice.sent[len(song.packets) :] == [SILENCE] * 5  # discord.py's end of a song
        assert ended.errors == [None] and song.cleanups == 1
        assert voice.speaking == [SpeakingState.voice, SpeakingState.none]
    await until(lambda: threading.active_count() <= threads_before)  # the clock's thread ended too


async def test_a_paused_song_sends_silence_once_and_goes_on_where_it_stopped() -> None:
    loop = asyncio.get_running_loop()
    voice, song, ended = Voice(loop), Song("paused", 80), Ended(loop)
    assert play(voice, song, PacketClock(), ended)
    player = voice._player
    assert player is not None
    await until(lambda: len(voice.sent) >= 5)
    player.pause()
    await asyncio.sleep(0.1)
    held = song.read_count
    await asyncio.sleep(0.3)  # fifteen ticks paused
    assert song.read_count == held
    assert voice.sent[-5:] == [SILENCE] * 5 and voice.sent.count(SILENCE) == 5
    player.resume()
    await asyncio.wait_for(ended.event.wait(), SETTLE_S)
    assert voice.songs_packets() == song.packets
    assert voice.speaking == [SpeakingState.voice, SpeakingState.none] * 2


async def test_a_stopped_song_ends_once_and_sends_nothing_more() -> None:
    loop = asyncio.get_running_loop()
    voice, song, ended = Voice(loop), Song("skipped", 1000), Ended(loop)
    assert play(voice, song, PacketClock(), ended)
    await until(lambda: len(voice.sent) >= 5)
    player = voice._player
    assert player is not None
    player.stop()
    await asyncio.wait_for(ended.event.wait(), SETTLE_S)
    player.join(SETTLE_S)
    sent = len(voice.sent)
    await asyncio.sleep(0.1)
    assert len(voice.sent) == sent and song.read_count < 1000
    assert ended.errors == [None] and song.cleanups == 1
    assert voice.speaking[-1] == SpeakingState.none and voice.speaking.count(SpeakingState.voice) == 1


async def test_a_lost_connection_is_waited_out_and_the_song_goes_on_from_where_it_was() -> None:
    loop = asyncio.get_running_loop()
    voice, song, ended = Voice(loop), Song("reconnected", 50), Ended(loop)
    assert play(voice, song, PacketClock(), ended)
    await until(lambda: len(voice.sent) >= 10)
    voice.connected.clear()
    await asyncio.sleep(0.2)
    sent = len(voice.sent)
    await asyncio.sleep(0.2)
    assert len(voice.sent) == sent  # nothing sent into a connection that is not there
    voice.connected.set()
    await asyncio.wait_for(ended.event.wait(), SETTLE_S)
    assert voice.songs_packets() == song.packets  # not one packet lost or repeated across the wait
    assert ended.errors == [None]


async def test_a_song_whose_writer_falls_behind_finishes_on_its_own_thread() -> None:
    loop = asyncio.get_running_loop()
    clock = PacketClock()
    voice, song, ended = Voice(loop), Song("filling", 40, behind_at=20), Ended(loop)
    assert play(voice, song, clock, ended)
    await asyncio.wait_for(ended.event.wait(), SETTLE_S)
    await until(lambda: song.cleanups)  # discord.py calls `after` first, then cleans up, on its thread
    assert voice.songs_packets() == song.packets
    assert len(clock) == 0 and ended.errors == [None] and song.cleanups == 1
    assert voice.speaking == [SpeakingState.voice, SpeakingState.none]  # one song, one speaking


async def test_a_source_with_nothing_ready_yet_is_left_to_discord_py() -> None:
    loop = asyncio.get_running_loop()
    voice, song, ended = Voice(loop), Song("cold", 10, behind_at=0), Ended(loop)
    assert not play(voice, song, PacketClock(), ended)
    assert voice.sent == [] and voice._player is None


async def test_each_song_keeps_its_own_time_and_catches_up_without_bursting_its_pause() -> None:
    """A song sends what is due since its own start, whatever the clock's lag when it joined (so a
    listener's later packets do not come late against an early burst), catches up at most ten
    packets a pass after a stall, and starts its time afresh after a pause."""
    loop = asyncio.get_running_loop()
    voice, song = Voice(loop), Song("timed", 500)
    player = ClockedPlayer(song, cast(discord.VoiceClient, voice), clock=PacketClock())
    voice._player = player
    start = 1000.0
    sent_by: list[int] = []
    for now in (start, start + 0.005, start + 0.1, start + 1.1):
        assert player.tick(now)
        sent_by.append(len(voice.sent))
    assert sent_by == [1, 1, 6, 16]  # its first; nothing due; 5 due; 50 due, 10 a pass
    player.pause(update_speaking=False)
    assert player.tick(start + 1.2) and voice.sent[-5:] == [SILENCE] * 5
    player.resume(update_speaking=False)
    assert player.tick(start + 9.0) and len(voice.sent) == 16 + 5 + 1  # no burst for the paused time
    assert voice.songs_packets() == song.packets[:17]
