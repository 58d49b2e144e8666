"""How the simulator tells tracks apart in decoded audio.

Every generated track is a pure tone at a frequency from a fixed ladder, so a listener can say which
track it heard from the spectrum of each 20 ms frame, after Opus encoding and decoding. This module is
pure: PCM in, features and segments out.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

SAMPLE_RATE = 48_000
CHANNELS = 2
FRAME_MS = 20
FRAME_SAMPLES = SAMPLE_RATE * FRAME_MS // 1000

# Tones sit 100 Hz apart between 300 Hz and 6.6 kHz: far enough apart that a 20 ms FFT (50 Hz bins,
# interpolated) never confuses neighbours, low enough that Opus keeps them at any bitrate we use.
LADDER_BASE_HZ = 300.0
LADDER_STEP_HZ = 100.0
LADDER_SIZE = 64

# Below this RMS (full scale = 1.0, about -50 dBFS) a frame counts as silence.
SILENCE_RMS = 0.003


def tone_hz(index: int) -> float:
    """The tone of the track with this index; indices wrap around the ladder."""
    return LADDER_BASE_HZ + LADDER_STEP_HZ * (index % LADDER_SIZE)


def ladder_index(freq_hz: float) -> int | None:
    """The ladder rung nearest to `freq_hz`, or None when it falls between rungs or off the ladder."""
    position = (freq_hz - LADDER_BASE_HZ) / LADDER_STEP_HZ
    rung = round(position)
    if not 0 <= rung < LADDER_SIZE or abs(position - rung) > 0.3:
        return None
    return rung


@dataclass(frozen=True, slots=True)
class FrameFeatures:
    rms: float
    freq_hz: float

    @property
    def silent(self) -> bool:
        return self.rms < SILENCE_RMS


def analyse_frame(pcm: bytes) -> FrameFeatures:
    """Loudness and dominant frequency of one frame of 16-bit little-endian interleaved stereo PCM."""
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
    if samples.size < CHANNELS * 8:
        return FrameFeatures(rms=0.0, freq_hz=0.0)
    mono = samples.reshape(-1, CHANNELS).mean(axis=1)
    rms = float(np.sqrt(np.mean(mono * mono)))
    if rms < SILENCE_RMS:
        return FrameFeatures(rms=rms, freq_hz=0.0)
    return FrameFeatures(rms=rms, freq_hz=_dominant_frequency(mono))


def _dominant_frequency(mono: np.ndarray) -> float:
    windowed = mono * np.hanning(mono.size)
    spectrum = np.abs(np.fft.rfft(windowed))
    peak = int(np.argmax(spectrum[1:])) + 1
    # Parabolic interpolation between neighbouring bins: a clean tone lands within a few Hz.
    if 1 <= peak < spectrum.size - 1:
        left, centre, right = spectrum[peak - 1], spectrum[peak], spectrum[peak + 1]
        denominator = left - 2 * centre + right
        offset = 0.5 * (left - right) / denominator if denominator else 0.0
    else:
        offset = 0.0
    return float((peak + offset) * SAMPLE_RATE / mono.size)


@dataclass(frozen=True, slots=True)
class Segment:
    """A run of consecutive frames: one ladder rung heard, or silence (`rung` None and `silent`)."""

    rung: int | None
    silent: bool
    first_frame: int
    frame_count: int

    @property
    def duration_ms(self) -> int:
        return self.frame_count * FRAME_MS


def segments(frames: Iterable[FrameFeatures]) -> list[Segment]:
    """Group frames into runs of the same rung (or of silence)."""
    runs: list[Segment] = []
    for index, frame in enumerate(frames):
        rung = None if frame.silent else ladder_index(frame.freq_hz)
        last = runs[-1] if runs else None
        if last is not None and last.rung == rung and last.silent == frame.silent:
            runs[-1] = Segment(rung, frame.silent, last.first_frame, last.frame_count + 1)
        else:
            runs.append(Segment(rung, frame.silent, index, 1))
    return runs


def heard_rungs(runs: Sequence[Segment], min_ms: int = 200) -> list[int]:
    """The tracks heard, in order, ignoring runs shorter than `min_ms` (codec warm-up, transitions)."""
    order: list[int] = []
    for run in runs:
        if run.rung is None or run.duration_ms < min_ms:
            continue
        if not order or order[-1] != run.rung:
            order.append(run.rung)
    return order
