"""ICY metadata, as Icecast and Shoutcast send it inside an internet radio's audio.

A listener that asks with `Icy-MetaData: 1` gets `icy-metaint: N` in the answer's head, and then
after every N bytes of audio one metadata block: a length byte L, then 16 × L bytes of text such as
`StreamTitle='Artist - Song';StreamUrl='…';`, padded with NULs (L = 0: nothing new). The audio the
decoder must see is the stream with those blocks taken out. Pure: bytes in, audio and titles out."""

from __future__ import annotations

import re

# The interval a real station uses is 8,192 or 16,000 bytes; one outside this range is not
# believed (a hostile server's 1 would make every other byte a length), and the stream is then
# read as plain audio.
METAINT_RANGE = range(256, 2**20 + 1)
_TITLE = re.compile(rb"StreamTitle='(.*?)';", re.DOTALL)


def metaint_of(value: str | None) -> int | None:
    """The `icy-metaint` header's interval, or None when absent or not believable."""
    if value is None or not value.strip().isdigit():
        return None
    interval = int(value.strip())
    return interval if interval in METAINT_RANGE else None


def stream_title(block: bytes) -> str | None:
    """The `StreamTitle` of a metadata block (None when it names none or an empty one). The text is
    the station's and untrusted: it is decoded leniently and shown escaped like any title."""
    found = _TITLE.search(block.rstrip(b"\0"))
    if found is None:
        return None
    raw = found.group(1)
    try:
        title = raw.decode()
    except UnicodeDecodeError:
        title = raw.decode("latin-1")  # what older Shoutcast servers send
    title = " ".join(title.split())
    return title or None


class IcyDemuxer:
    """Takes the metadata blocks out of a stream fed in arbitrary pieces; keeps at most one block
    (4,080 bytes) between pieces, whatever the station sends."""

    def __init__(self, metaint: int | None) -> None:
        self._metaint = metaint
        self._audio_left = metaint or 0  # audio bytes before the next length byte
        self._block_left: int | None = None  # metadata bytes still to come, None: reading audio
        self._block = bytearray()

    def feed(self, data: bytes) -> tuple[bytes, list[tuple[int, str]]]:
        """The audio in `data`, and the titles of the metadata blocks that ended in it, each with
        where it came in that audio (a title is said between two stretches of audio: the new song
        is on air from there)."""
        if self._metaint is None:
            return data, []
        audio = bytearray()
        titles: list[tuple[int, str]] = []
        view = memoryview(data)
        while view:
            if self._block_left is None and self._audio_left > 0:
                take = min(self._audio_left, len(view))
                audio += view[:take]
                view = view[take:]
                self._audio_left -= take
            elif self._block_left is None:
                self._block_left = view[0] * 16
                view = view[1:]
            else:
                take = min(self._block_left, len(view))
                self._block += view[:take]
                view = view[take:]
                self._block_left -= take
            if self._block_left == 0:
                title = stream_title(bytes(self._block))
                if title is not None:
                    titles.append((len(audio), title))
                self._block.clear()
                self._block_left = None
                self._audio_left = self._metaint
        return bytes(audio), titles
