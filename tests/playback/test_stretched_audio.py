"""A song with cuts, played uncached a stretch at a time: each stretch's source is opened in turn
when the one before ends, every one is cleaned up, and a cleanup (a leave) ends it for good."""

from __future__ import annotations

import discord

from musicbox.playback.direct import StretchedAudio


class Stretch(discord.AudioSource):
    def __init__(self, start: float, end: float | None, packets: int) -> None:
        self.span = (start, end)
        self._left = packets
        self.cleaned = False

    def read(self) -> bytes:
        if self._left <= 0 or self.cleaned:
            return b""
        self._left -= 1
        return b"opus"

    def is_opus(self) -> bool:
        return True

    def cleanup(self) -> None:
        self.cleaned = True


def test_each_stretch_plays_in_turn_and_is_cleaned_up() -> None:
    opened: list[tuple[Stretch, bool]] = []

    def open_stretch(start: float, end: float | None, first: bool) -> Stretch:
        stretch = Stretch(start, end, packets=3)
        opened.append((stretch, first))
        return stretch

    song = StretchedAudio([(0.0, 10.0), (20.0, 30.0), (35.0, None)], open_stretch)
    packets = 0
    while song.read():
        packets += 1
    assert packets == 9
    assert [(s.span, first) for s, first in opened] == [
        ((0.0, 10.0), True),
        ((20.0, 30.0), False),
        ((35.0, None), False),
    ]
    assert all(s.cleaned for s, _ in opened)


def test_a_cleanup_mid_song_ends_it_and_opens_nothing_more() -> None:
    opened: list[Stretch] = []

    def open_stretch(start: float, end: float | None, first: bool) -> Stretch:
        opened.append(Stretch(start, end, packets=2))
        return opened[-1]

    song = StretchedAudio([(0.0, 10.0), (20.0, None)], open_stretch)
    assert song.read() == b"opus"
    song.cleanup()
    assert song.read() == b"" and len(opened) == 1 and opened[0].cleaned
