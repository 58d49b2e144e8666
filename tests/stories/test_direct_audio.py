"""The ffmpeg stand-in for the cache: a media file becomes Opus packets, and its child is reaped."""

from __future__ import annotations

import subprocess
from pathlib import Path

import psutil

from musicbox.core.track import TrackId
from musicbox.playback.direct import DirectAudio


def tone_file(path: Path, seconds: float) -> Path:
    subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency=440:duration={seconds}",
            str(path),
        ],
        check=True,
    )
    return path


def ffmpeg_children() -> list[psutil.Process]:
    return [child for child in psutil.Process().children(recursive=True) if child.name() == "ffmpeg"]


async def test_a_media_file_plays_as_opus_packets_and_leaves_no_ffmpeg(tmp_path: Path) -> None:
    media = tone_file(tmp_path / "tone.wav", 1.0)
    source = await DirectAudio().source(TrackId("http", "tone"), str(media), start_s=0.5, volume=50)
    packets = []
    for _ in range(200):
        packet = source.read()
        if not packet:
            break
        packets.append(packet)
    source.cleanup()
    assert source.is_opus()
    # Half a second from the seek point at 20 ms a packet, give or take ffmpeg's framing.
    assert 20 <= len(packets) <= 30
    assert ffmpeg_children() == []
