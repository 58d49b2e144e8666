"""The simulator's listener tells tracks apart by their tone; these prove it can."""

import numpy as np

from musicbox.sim import signature


def _tone_frame(freq_hz: float, amplitude: float = 0.3, phase_samples: int = 0) -> bytes:
    t = (np.arange(signature.FRAME_SAMPLES) + phase_samples) / signature.SAMPLE_RATE
    mono = (amplitude * np.sin(2 * np.pi * freq_hz * t) * 32767).astype("<i2")
    return np.repeat(mono, 2).tobytes()


def test_every_ladder_tone_is_recognised_from_one_frame() -> None:
    for index in range(signature.LADDER_SIZE):
        features = signature.analyse_frame(_tone_frame(signature.tone_hz(index), phase_samples=index * 7))
        assert signature.ladder_index(features.freq_hz) == index


def test_silence_is_silent_and_has_no_rung() -> None:
    features = signature.analyse_frame(bytes(signature.FRAME_SAMPLES * 4))
    assert features.silent
    assert signature.segments([features])[0].rung is None


def test_two_songs_with_a_gap_are_heard_in_order() -> None:
    def song(rung: int, frames: int) -> list[signature.FrameFeatures]:
        tone = signature.tone_hz(rung)
        return [signature.analyse_frame(_tone_frame(tone, phase_samples=i * 960)) for i in range(frames)]

    frames = song(3, 20) + [signature.analyse_frame(bytes(3840))] * 3 + song(9, 15)
    runs = signature.segments(frames)
    assert signature.heard_rungs(runs) == [3, 9]
    gap = [run for run in runs if run.silent]
    assert [run.duration_ms for run in gap] == [60]


def test_a_short_blip_is_not_counted_as_a_song() -> None:
    frames = [signature.analyse_frame(_tone_frame(signature.tone_hz(5)))] * 3
    assert signature.heard_rungs(signature.segments(frames)) == []
