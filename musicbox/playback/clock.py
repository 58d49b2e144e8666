"""One thread sends every guild's cached packets, 20 ms apart: the packet clock.

discord.py plays each song on a thread of its own (`AudioPlayer`) that sleeps until its next 20 ms
and wakes to read and send one packet. At 250 guilds that is 12,500 thread wake-ups a second, each
taking the GIL back from the event loop and from the other 249: the bot process then spends most
of a core on waking, and a packet whose thread waits its turn for the GIL leaves late. A cached song
needs no thread of its own: its next packet is already in the file. So the clock wakes once every
20 ms and sends one packet of every song it holds, in one pass.

A `ClockedPlayer` is discord.py's `AudioPlayer` (pause, resume, stop, `after`, speaking state,
the silence after a song: all discord.py's own) whose steady state is driven by the clock. Whatever
could make it wait goes off the clock to the player's own thread, which then runs discord.py's loop
for the rest of the song: the song's end or a stop (its `after` callback and the source's cleanup),
a lost connection (the wait for it to come back), and a source with no packet ready (a fill whose
writer is behind, a damaged file handed over to ffmpeg). The clock's pass therefore never blocks on
one guild. Checked against discord.py 2.7.1 (`player.AudioPlayer`); the private parts used are
fingerprinted in `tests/playback/test_voice_recovery.py`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import discord
from discord.enums import SpeakingState
from discord.player import AudioPlayer

log = logging.getLogger(__name__)

FRAME_S = discord.opus.Encoder.FRAME_LENGTH / 1000  # 20 ms
# Packets a song that fell behind (the box stalled) may send in one pass to catch up, as discord.py's
# player catches up: a listener's jitter buffer absorbs early packets, not late ones.
CATCH_UP_PACKETS = 10


@runtime_checkable
class ClockableSource(Protocol):
    """A source that can say, without waiting, whether `read()` has a packet for it now."""

    def packet_ready(self) -> bool: ...


class PacketClock:
    """Runs its thread while it holds a player and lets it end when the last one leaves, so nothing
    outlives the songs it sends (no owner needs to close it)."""

    def __init__(self, frame_s: float = FRAME_S) -> None:
        self._frame_s = frame_s
        self._lock = threading.Lock()
        self._players: list[ClockedPlayer] = []
        self._thread: threading.Thread | None = None

    def add(self, player: ClockedPlayer) -> None:
        with self._lock:
            self._players.append(player)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="packet-clock", daemon=True)
                self._thread.start()

    def __len__(self) -> int:
        with self._lock:
            return len(self._players)

    def _run(self) -> None:
        due = time.perf_counter()
        while True:
            with self._lock:
                players = tuple(self._players)
                if not players:
                    self._thread = None
                    return
            now = time.perf_counter()
            leaving = [player for player in players if not player.tick(now)]
            if leaving:
                with self._lock:
                    self._players = [p for p in self._players if p not in leaving]
            # Each song keeps its own time (see ClockedPlayer.tick); a late pass is not made up here.
            due = max(due + self._frame_s, time.perf_counter() - self._frame_s)
            time.sleep(max(0.0, due - time.perf_counter()))


class ClockedPlayer(AudioPlayer):
    """discord.py's player, sent by `clock` while it plays steadily (see the module's docstring)."""

    def __init__(
        self,
        source: discord.AudioSource,
        client: discord.VoiceClient,
        *,
        clock: PacketClock,
        after: Callable[[Exception | None], Any] | None = None,
    ) -> None:
        super().__init__(source, client, after=after)
        self._clock = clock
        self._silenced = False  # the silence after a pause went out
        self._skip_speak = False  # the thread taking over is already speaking
        self._finished = threading.Event()
        # When this song's next packet is due (perf_counter): each song keeps its own time from its
        # start or resume, as discord.py's player does, so one that joins a late pass of the clock
        # does not inherit the clock's lag, nor a burst that would make its later packets look late.
        self._due: float | None = None
        # The check of the source played last (looked up once, not per packet: set_source may swap it).
        self._checked: tuple[discord.AudioSource, Callable[[], bool] | None] | None = None

    def start(self) -> None:
        """Speak, send the first packet now (a song starts as soon as it would on its own thread)
        and join the clock for the rest."""
        self._speak(SpeakingState.voice)
        if self.tick(time.perf_counter()):
            self._clock.add(self)

    def tick(self, now: float) -> bool:
        """Send what is due of this song by `now` if that cannot wait on anything; False once it
        has left the clock (to its own thread)."""
        try:
            if self._end.is_set() or not self.client.is_connected():
                return self._leave_clock()
            if not self._resumed.is_set():
                if not self._silenced:
                    self.send_silence()
                    self._silenced = True
                self._due = None  # a resumed song starts its time afresh, as discord.py's does
                return True
            self._silenced = False
            due = now if self._due is None else self._due
            sent = 0
            while due <= now and sent < CATCH_UP_PACKETS:
                if not self._send_next():
                    return self._leave_clock()
                due += FRAME_S
                sent += 1
            self._due = due
            return True
        except Exception as error:  # what discord.py's player does with an error in its loop
            self._current_error = error
            self.stop()
            return self._leave_clock()

    def _send_next(self) -> bool:
        source = self.source
        if self._checked is None or self._checked[0] is not source:
            self._checked = (source, source.packet_ready if isinstance(source, ClockableSource) else None)
        packet_ready = self._checked[1]
        if packet_ready is None or not packet_ready():
            return False
        data = source.read()
        if not data:
            return False  # read() said the song ended after all: the thread ends it
        self.client.send_audio_packet(data, encode=False)
        return True

    def _leave_clock(self) -> bool:
        # discord.py's own loop takes the rest from here. It speaks first; but this song already
        # speaks, or was paused or stopped, which said "not speaking" already.
        self._skip_speak = True
        threading.Thread.start(self)
        return False

    def run(self) -> None:
        try:
            super().run()
        finally:
            self._finished.set()

    def join(self, timeout: float | None = None) -> None:
        """Until the song has ended and its source is cleaned up, on the clock or off it."""
        self._finished.wait(timeout)

    def _speak(self, speaking: SpeakingState) -> None:
        if self._skip_speak and speaking is SpeakingState.voice:
            self._skip_speak = False
            return
        super()._speak(speaking)


def play_on_clock(
    voice: discord.VoiceClient,
    source: discord.AudioSource,
    clock: PacketClock,
    after: Callable[[Exception | None], Any] | None,
) -> bool:
    """`voice.play(source)` on the clock when `source` is one it can send; False to let
    discord.py play it on a thread of its own (an ffmpeg pipe, a song still being written)."""
    if not source.is_opus() or not isinstance(source, ClockableSource) or not source.packet_ready():
        return False
    if not voice.is_connected():
        raise discord.ClientException("Not connected to voice.")
    if voice.is_playing():
        raise discord.ClientException("Already playing audio.")
    player = ClockedPlayer(source, voice, clock=clock, after=after)
    voice._player = player
    player.start()
    return True
