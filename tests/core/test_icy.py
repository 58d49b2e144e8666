"""ICY metadata taken out of a station's audio, however the pieces arrive."""

from __future__ import annotations

import pytest

from musicbox.core.icy import IcyDemuxer, metaint_of, stream_title
from musicbox.sim.media.live import icy_block


def _station(metaint: int, songs: list[tuple[bytes, str]]) -> bytes:
    """Audio with a metadata block after every `metaint` bytes, naming the song then on air."""
    stream = b""
    for audio, title in songs:
        for start in range(0, len(audio), metaint):
            stream += audio[start : start + metaint] + icy_block(title)
    return stream


@pytest.mark.parametrize("piece", [1, 7, 16, 100, 4096, 10**6])
def test_audio_comes_out_whole_and_titles_in_order_whatever_the_piece_size(piece: int) -> None:
    metaint = 256
    songs = [(bytes(range(256)) * 4, "Mira Vale - Blue Harbour"), (b"\xff\xfb" * 512, "Ostara - Neon Tide")]
    stream = _station(metaint, songs)
    demuxer = IcyDemuxer(metaint)
    audio, titles = b"", []
    for start in range(0, len(stream), piece):
        got, said = demuxer.feed(stream[start : start + piece])
        titles += [(len(audio) + offset, title) for offset, title in said]
        audio += got
    assert audio == songs[0][0] + songs[1][0]
    # Each title where its block stood: after every `metaint` bytes of audio.
    assert titles == [(256 * n, "Mira Vale - Blue Harbour") for n in range(1, 5)] + [
        (256 * n, "Ostara - Neon Tide") for n in range(5, 9)
    ]


def test_an_empty_block_says_nothing_new_and_no_metaint_is_plain_audio() -> None:
    demuxer = IcyDemuxer(256)
    assert demuxer.feed(b"a" * 256 + b"\0" + b"b" * 10) == (b"a" * 256 + b"b" * 10, [])
    assert IcyDemuxer(None).feed(b"\x01StreamTitle='x';") == (b"\x01StreamTitle='x';", [])


@pytest.mark.parametrize(
    ("header", "interval"),
    [("16000", 16000), (" 8192 ", 8192), (None, None), ("", None), ("1", None), ("-5", None), ("abc", None),
     (str(2**31), None)],
)  # fmt: skip
def test_only_a_believable_metaint_is_used(header: str | None, interval: int | None) -> None:
    assert metaint_of(header) == interval


@pytest.mark.parametrize(
    ("block", "title"),
    [
        (b"StreamTitle='Artist - Song';StreamUrl='';\0\0", "Artist - Song"),
        (b"StreamTitle='It''s';", "It''s"),  # no escaping in the format: shown as sent
        (b"StreamTitle='';\0", None),
        (b"StreamUrl='http://x';", None),
        (b"StreamTitle='Caf\xe9\n  del   Mar';", "Café del Mar"),  # latin-1, and one line
        (b"StreamTitle='\xe2\x99\xab Now';", "♫ Now"),
    ],
)
def test_stream_title(block: bytes, title: str | None) -> None:
    assert stream_title(block) == title
