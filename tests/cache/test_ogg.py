"""Opus packets out of ffmpeg's Ogg files: every 20 ms frame, decodable, also while still written."""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

import pytest
from discord.opus import Decoder

from musicbox.cache.ogg import NotOgg, OggOpusReader, parse_page
from musicbox.sim.signature import FRAME_SAMPLES, analyse_frame, tone_hz

FRAMES_IN_2_S = 101


def opus_file(tmp_path: Path, seconds: float, rung: int = 5) -> Path:
    path = tmp_path / "tone.opus"
    subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency={tone_hz(rung)}:duration={seconds}",
            "-ac",
            "2",
            "-ar",
            "48000",
            "-c:a",
            "libopus",
            "-frame_duration",
            "20",
            "-page_duration",
            "100000",
            "-f",
            "ogg",
            "-y",
            str(path),
        ],
        check=True,
        timeout=60,
    )
    return path


def test_every_20_ms_frame_comes_out_and_decodes_to_the_tone(tmp_path: Path) -> None:
    reader = OggOpusReader.open(opus_file(tmp_path, 2.0, rung=5))
    packets = []
    while (packet := reader.next_packet()) is not None:
        packets.append(packet)
    reader.close()
    # 2 s of 20 ms frames plus one for the encoder's 312-sample pre-skip; the two header packets
    # (OpusHead, OpusTags) are not among them.
    assert len(packets) == FRAMES_IN_2_S
    decoder = Decoder()
    middle = decoder.decode(packets[50], fec=False)
    assert len(middle) == FRAME_SAMPLES * 2 * 2
    assert analyse_frame(middle).freq_hz == pytest.approx(tone_hz(5), rel=0.02)


def test_a_file_still_being_written_is_read_to_its_end_not_cut_short(tmp_path: Path) -> None:
    whole = opus_file(tmp_path, 2.0).read_bytes()
    growing = tmp_path / "growing.part"
    growing.write_bytes(b"")
    done = threading.Event()

    def writer() -> None:
        with growing.open("ab") as out:
            for start in range(0, len(whole), 997):  # odd chunks: pages arrive split
                out.write(whole[start : start + 997])
                out.flush()
                time.sleep(0.002)
        done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    reader = OggOpusReader.open(growing, still_growing=lambda: not done.is_set())
    count = 0
    while reader.next_packet() is not None:
        count += 1
    thread.join()
    reader.close()
    assert count == FRAMES_IN_2_S


def test_skip_is_a_seek_by_frames(tmp_path: Path) -> None:
    reader = OggOpusReader.open(opus_file(tmp_path, 2.0))
    assert reader.skip(75) == 75
    rest = 0
    while reader.next_packet() is not None:
        rest += 1
    reader.close()
    assert rest == FRAMES_IN_2_S - 75


def test_skip_written_drops_only_what_the_writer_has_written_and_never_waits(tmp_path: Path) -> None:
    """A seek into a song still being transcoded: the reader says how far the file goes now instead
    of waiting for the writer to get there."""
    whole = opus_file(tmp_path, 2.0).read_bytes()
    growing = tmp_path / "growing.part"
    growing.write_bytes(whole[: len(whole) // 2])
    reader = OggOpusReader.open(growing, still_growing=lambda: True)  # the writer never finishes
    started = time.monotonic()
    written = reader.skip_written(FRAMES_IN_2_S)
    assert time.monotonic() - started < 1.0  # no wait for the writer (its stall timeout is 20 s)
    assert 20 < written < FRAMES_IN_2_S - 20
    with growing.open("ab") as out:
        out.write(whole[len(whole) // 2 :])
    assert reader.skip_written(FRAMES_IN_2_S) == FRAMES_IN_2_S - written  # the rest, once written
    reader.close()


def test_bytes_that_are_not_ogg_are_refused() -> None:
    with pytest.raises(NotOgg):
        parse_page(b"ID3\x04" + bytes(100))


def test_a_page_split_mid_way_waits_for_the_rest(tmp_path: Path) -> None:
    whole = opus_file(tmp_path, 0.5).read_bytes()
    first = parse_page(whole)
    assert first is not None
    assert parse_page(whole[: first.size - 1]) is None


def test_packet_ready_says_without_waiting_whether_the_next_packet_is_in_the_file(tmp_path: Path) -> None:
    """What lets the packet clock send a song: a packet is ready all through a whole file, not at
    its end, not where the writer has not got to yet, and not where the bytes stop being Ogg."""
    whole = opus_file(tmp_path, 2.0).read_bytes()
    growing = tmp_path / "growing.part"
    growing.write_bytes(whole[: len(whole) // 2])
    reader = OggOpusReader.open(growing, still_growing=lambda: True)  # the writer never finishes
    started, ready = time.monotonic(), 0
    while reader.packet_ready():
        assert reader.next_packet() is not None
        ready += 1
    assert time.monotonic() - started < 1.0  # no wait for the writer (its stall timeout is 20 s)
    assert 20 < ready < FRAMES_IN_2_S - 20
    with growing.open("ab") as out:
        out.write(whole[len(whole) // 2 :] + b"ID3\x04" + bytes(100))  # the rest, then damage
    while reader.packet_ready():
        assert reader.next_packet() is not None
        ready += 1
    assert ready == FRAMES_IN_2_S
    with pytest.raises(NotOgg):  # next_packet() says why there was none
        reader.next_packet()
    reader.close()
    assert not reader.packet_ready()
