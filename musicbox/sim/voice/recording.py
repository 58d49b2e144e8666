"""What a listener in one voice channel heard from the bot, measured as packets arrive.

Plain data and arithmetic over decoded frames: the UDP endpoint feeds it, tests read it.
"""

from __future__ import annotations

import asyncio
import bisect
import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from musicbox.sim.signature import (
    FRAME_MS,
    SAMPLE_RATE,
    FrameFeatures,
    Segment,
    heard_rungs,
    ladder_index,
)

# A frame belongs to a track if it is audible and on the ladder; runs shorter than this are codec
# warm-up or crossfade residue, not a track the listener would name.
TRACK_MIN_MS = 200
_POLL_S = 0.02


@dataclass(slots=True)
class _StreamPosition:
    sequence: int
    timestamp: int


@dataclass
class Recording:
    """Grows as packets arrive; every time is `time.monotonic()` at the listener."""

    guild_id: int
    channel_id: int
    packets: int = 0
    decryption_failures: int = 0
    silence_frames: int = 0  # discord.py's b"\xf8\xff\xfe" frames (5 after every stop)
    blackholed: int = 0  # packets dropped on purpose: blackhole_udp, or a crashed (4015) session
    opus_errors: int = 0  # authenticated packets libopus could not decode
    first_audio_at: float | None = None
    frames: list[FrameFeatures] = field(default_factory=list)
    # The decoded PCM itself (48 kHz stereo s16le, frame i at i * 3,840 bytes), for a story that
    # measures loudness at the listener; off by default (a minute is 11 MB).
    keep_pcm: bool = False
    pcm: bytearray = field(default_factory=bytearray)
    frame_arrivals: list[float] = field(default_factory=list)
    packet_arrivals: list[float] = field(default_factory=list)
    sequence_gaps: list[int] = field(default_factory=list)  # packets missing at each jump
    timestamp_jumps: list[int] = field(default_factory=list)  # samples, where != the packet duration
    reordered: int = 0
    _runs: list[Segment] = field(default_factory=list)
    _streams: dict[int, _StreamPosition] = field(default_factory=dict)
    # Per sender: each packet's arrival minus the time its RTP timestamp says it is for; a sender
    # keeping time keeps this constant, so its growth is how late a packet came.
    _schedule_offsets: dict[int, list[float]] = field(default_factory=dict)
    _first_timestamps: dict[int, int] = field(default_factory=dict)

    # --- fed by the UDP endpoint ---------------------------------------------------------------

    def note_packet(self, ssrc: int, sequence: int, timestamp: int, samples: int, arrival: float) -> None:
        """Count a packet that authenticated, and check its place in the sender's stream."""
        self.packets += 1
        self.packet_arrivals.append(arrival)
        first = self._first_timestamps.setdefault(ssrc, timestamp)
        audio_s = ((timestamp - first) & 0xFFFFFFFF) / SAMPLE_RATE
        self._schedule_offsets.setdefault(ssrc, []).append(arrival - audio_s)
        previous = self._streams.get(ssrc)
        self._streams[ssrc] = _StreamPosition(sequence, timestamp)
        if previous is None:
            return
        step = (sequence - previous.sequence) & 0xFFFF
        if step == 0 or step > 0x8000:
            self.reordered += 1
            self._streams[ssrc] = previous
            return
        if step > 1:
            self.sequence_gaps.append(step - 1)
        expected = (previous.timestamp + samples * step) & 0xFFFFFFFF
        if timestamp != expected:
            self.timestamp_jumps.append((timestamp - previous.timestamp) & 0xFFFFFFFF)

    def note_undecryptable(self, arrival: float) -> None:
        self.decryption_failures += 1
        self.packet_arrivals.append(arrival)

    def note_undecodable(self) -> None:
        self.opus_errors += 1

    def note_blackholed(self) -> None:
        self.blackholed += 1

    def note_frame(self, features: FrameFeatures, arrival: float, *, silence_packet: bool) -> None:
        if silence_packet:
            self.silence_frames += 1
        if not features.silent and self.first_audio_at is None:
            self.first_audio_at = arrival
        self.frames.append(features)
        self.frame_arrivals.append(arrival)
        self._extend_runs(features)

    def _extend_runs(self, frame: FrameFeatures) -> None:
        # The incremental form of signature.segments: a 3-hour recording is 540,000 frames.
        rung = None if frame.silent else ladder_index(frame.freq_hz)
        index = len(self.frames) - 1
        last = self._runs[-1] if self._runs else None
        if last is not None and last.rung == rung and last.silent == frame.silent:
            self._runs[-1] = Segment(rung, frame.silent, last.first_frame, last.frame_count + 1)
        else:
            self._runs.append(Segment(rung, frame.silent, index, 1))

    # --- read by tests ---------------------------------------------------------------------------

    def arrival_gaps_ms(self) -> list[float]:
        """Gaps between consecutive packets as they arrived (20 ms when the sender keeps time)."""
        times = self.packet_arrivals
        return [(later - earlier) * 1000 for earlier, later in itertools.pairwise(times)]

    def late_packets(self, threshold_ms: float) -> tuple[int, int]:
        """(late, all) packets: late ones arrived more than `threshold_ms` after their place in the
        stream, measured from the sender's most punctual packet (as a listener's jitter buffer
        would see it). Meaningful for a stream that plays on without pauses or seeks."""
        late = total = 0
        for offsets in self._schedule_offsets.values():
            punctual = min(offsets)
            late += sum(1 for offset in offsets if (offset - punctual) * 1000 > threshold_ms)
            total += len(offsets)
        return late, total

    def longest_silence_ms(self, rung: int, *, deaf: Sequence[tuple[float, float]] = ()) -> float:
        """The longest wall-clock silence a listener sat through inside one track: the gap between
        consecutive frames of `rung`, whatever came between (nothing, silence, another track).
        `deaf`: spans (monotonic, from, to) when the listener itself was not listening (its
        process stalled, the packets waiting in the socket meanwhile), left out of every gap."""
        arrivals = [
            self.frame_arrivals[index]
            for run in self._runs
            if run.rung == rung
            for index in range(run.first_frame, run.first_frame + run.frame_count)
        ]
        return max(
            (
                (later - earlier - _overlap(earlier, later, deaf)) * 1000 - FRAME_MS
                for earlier, later in itertools.pairwise(arrivals)
            ),
            default=0.0,
        )

    def segments(self) -> list[Segment]:
        return list(self._runs)

    def heard_rungs(self, min_ms: int = TRACK_MIN_MS) -> list[int]:
        """The tone-ladder rungs heard, in order (= the media catalog indices of the tracks played)."""
        return heard_rungs(self._runs, min_ms)

    def heard_ms(self, rung: int) -> int:
        """How long rung `rung` was heard in total."""
        return sum(run.duration_ms for run in self._runs if run.rung == rung)

    def pcm_of(self, run: Segment) -> bytes:
        """The PCM a listener heard during `run` (needs `keep_pcm` from before it began)."""
        frame_bytes = SAMPLE_RATE * FRAME_MS // 1000 * 4
        start = run.first_frame * frame_bytes
        return bytes(self.pcm[start : start + run.frame_count * frame_bytes])

    def decoded_ms(self) -> int:
        return len(self.frames) * FRAME_MS

    def max_silence_ms_between_tracks(self) -> int:
        """The longest wall-clock silence from the end of one track to the start of the next."""
        return round(max(self.silences_between_tracks_ms(), default=0.0))

    def silences_between_tracks_ms(self) -> list[float]:
        """Wall-clock silence from the end of each track to the start of the next, in order."""
        tracks = [run for run in self._runs if run.rung is not None and run.duration_ms >= TRACK_MIN_MS]
        silences = []
        for before, after in itertools.pairwise(tracks):
            if before.rung == after.rung:
                continue
            ended = self.frame_arrivals[before.first_frame + before.frame_count - 1] + FRAME_MS / 1000
            silences.append((self.frame_arrivals[after.first_frame] - ended) * 1000)
        return silences

    def first_packet_after(self, since: float) -> float | None:
        """When the first packet that arrived after `since` did (monotonic), whatever it carried."""
        at = bisect.bisect_right(self.packet_arrivals, since)
        return self.packet_arrivals[at] if at < len(self.packet_arrivals) else None

    def first_heard_at(self, rung: int, *, after: float = 0.0) -> float | None:
        """When a listener first heard `rung` (monotonic) in a run long enough to name a track,
        counting only frames that arrived after `after`."""
        for run in self._runs:
            long_enough = run.duration_ms >= TRACK_MIN_MS
            if (
                run.rung == rung
                and long_enough
                and self.frame_arrivals[run.first_frame + run.frame_count - 1] > after
            ):
                first = next(
                    i
                    for i in range(run.first_frame, run.first_frame + run.frame_count)
                    if self.frame_arrivals[i] > after
                )
                return self.frame_arrivals[first]
        return None

    async def wait_for_rungs(self, rungs: list[int], timeout: float) -> None:
        """Return once `rungs` were heard in this order (others may come between); TimeoutError if not."""
        deadline = time.monotonic() + timeout
        while not _in_order(rungs, self.heard_rungs()):
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"listeners in channel {self.channel_id} heard rungs {self.heard_rungs()} "
                    f"({self.packets} packets, {self.decryption_failures} undecryptable) "
                    f"within {timeout} s, not {rungs}"
                )
            await asyncio.sleep(_POLL_S)


def _in_order(wanted: list[int], heard: list[int]) -> bool:
    remaining = iter(heard)
    return all(any(rung == got for got in remaining) for rung in wanted)


def _overlap(start: float, end: float, spans: Sequence[tuple[float, float]]) -> float:
    """How much of [start, end] the spans cover (they do not overlap one another)."""
    return sum(max(0.0, min(end, to) - max(start, since)) for since, to in spans)
