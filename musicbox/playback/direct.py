"""Audio straight from the media URL through one ffmpeg child, no cache.

What every live stream plays through (`live.py`), what plays when the cache is off (a budget of 0:
the disk is nearly full, or the owner said so), and
what the cache itself uses for a volume other than 100 % or a /filter, which need decoding anyway.
The child is reaped by discord.py's player when the source is cleaned up.

A song with stretches to leave out (SponsorBlock's cuts) is played a stretch at a time, one ffmpeg
child each, started at the stretch's start with `-ss` (a range request over HTTP: the cut is never
downloaded) and told to stop at its end."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

import discord

from musicbox.core.egress import FFMPEG_PROTOCOLS
from musicbox.core.filters import AudioFilter, filter_chain
from musicbox.core.sponsorblock import Cuts, pieces, source_position
from musicbox.core.track import TrackId
from musicbox.playback.live import LiveAudio

# A song never plays longer than its length plus this: a host that cuts a file short and answers a
# resumed request with the file's start again would otherwise have ffmpeg repeat that start for ever.
OVERRUN_S = 10.0


def longest_output_s(duration_s: float) -> float:
    return duration_s + OVERRUN_S


def through_gate(media_url: str, proxy_url: str | None) -> str:
    """ffmpeg's input options that send a web address through the egress gate and let it open
    nothing but the web (an HLS playlist cannot point it at file: or a bare tcp: address)."""
    if proxy_url is None or not media_url.startswith(("http://", "https://")):
        return ""
    return f" -http_proxy {proxy_url} -protocol_whitelist {FFMPEG_PROTOCOLS}"


class DirectAudio:
    def __init__(self, proxy_url: str | None = None) -> None:
        # None only where every address is a local file (tests, the bench's CPU figures).
        self._proxy_url = proxy_url
        self._live = LiveAudio(proxy_url, lambda url, volume: self.open(url, volume=volume))

    async def source(
        self,
        track_id: TrackId,
        media_url: str,
        *,
        start_s: float = 0.0,
        volume: int = 100,
        duration_s: float | None = None,
        normalised: bool = True,
        audio_filter: AudioFilter | None = None,
        cuts: Cuts | None = (),
    ) -> discord.AudioSource:
        """Never normalised: a song played uncached is as loud as its source. A live stream is never
        filtered (the session does not ask): it cannot be played faster than its station sends it.
        `cuts`: stretches skipped by seeking (None: not known, nothing skipped); `start_s` is in what
        is heard."""
        if track_id.live:  # no position to start at and no length: it plays from now, for as long as it goes
            return await asyncio.to_thread(self._live.open, media_url, volume=volume)
        return self.open(
            media_url,
            start_s=start_s,
            volume=volume,
            duration_s=duration_s,
            audio_filter=audio_filter,
            cuts=cuts or (),
        )

    def open(
        self,
        media_url: str,
        *,
        start_s: float = 0.0,
        volume: int = 100,
        duration_s: float | None = None,
        decode_to_start: bool = False,
        audio_filter: AudioFilter | None = None,
        cuts: Cuts = (),
    ) -> discord.AudioSource:
        """Start the ffmpeg child now; callable from discord.py's player thread (no event loop).

        `decode_to_start`: reach `start_s` by decoding from the beginning rather than by seeking,
        which over HTTP takes range requests that a host that only streams may not answer.
        `cuts`: stretches of the source skipped by seeking; `start_s` is then a position in what is
        heard, found in the source with `core.sponsorblock.source_position`."""
        if cuts:
            stretches = pieces(cuts, source_position(cuts, start_s), duration_s)
            return StretchedAudio(
                stretches,
                lambda start, end, first: self._stretch(
                    media_url, start, end, volume, duration_s, decode_to_start and first, audio_filter
                ),
            )
        return self._stretch(media_url, start_s, None, volume, duration_s, decode_to_start, audio_filter)

    def _stretch(
        self,
        media_url: str,
        start_s: float,
        end_s: float | None,
        volume: int,
        duration_s: float | None,
        decode_to_start: bool,
        audio_filter: AudioFilter | None,
    ) -> discord.AudioSource:
        """One ffmpeg child playing the source from `start_s` to `end_s` (None: to its end), through
        `audio_filter` (its -t is what is heard: the stretch at the filter's rate)."""
        before = "-nostdin"
        if media_url.startswith(("http://", "https://")):
            # ffmpeg's http protocol gives up on the first dropped connection unless told otherwise.
            before += " -reconnect 1 -reconnect_delay_max 2"  # not _streamed: see cache/audio.py
        before += through_gate(media_url, self._proxy_url)
        if start_s > 0 and not decode_to_start:
            before += f" -ss {start_s:.3f}"
        chain = filter_chain(audio_filter, volume)
        options = "-vn" if chain is None else f"-vn -filter:a {chain}"
        if start_s > 0 and decode_to_start:
            options += f" -ss {start_s:.3f}"
        rate = audio_filter.rate if audio_filter is not None else 1.0
        if end_s is not None:
            options += f" -t {(end_s - start_s) / rate:.3f}"
        elif duration_s is not None:
            options += f" -t {(longest_output_s(duration_s) - start_s) / rate:.1f}"
        return discord.FFmpegOpusAudio(media_url, before_options=before, options=options)

    async def prefetch(
        self, track_id: TrackId, media_url: str, duration_s: float | None = None, cuts: Cuts | None = ()
    ) -> None:
        """Nothing to fetch ahead without a cache: the media URL is already resolved by then."""

    async def aclose(self) -> None:
        """Each source's ffmpeg child is reaped by the player that played it."""


# Opens the stretch (start, end) of a song; `first`: the stretch the song starts in.
OpenStretch = Callable[[float, float | None, bool], discord.AudioSource]


class StretchedAudio(discord.AudioSource):
    """A song played a stretch at a time: when one stretch's ffmpeg ends, the next is opened (on
    discord.py's player thread, which reads this) at the start of the stretch after the cut. A
    leave cleaning up from the loop's thread while a stretch opens must not leak its child."""

    def __init__(self, stretches: list[tuple[float, float | None]], open_stretch: OpenStretch) -> None:
        self._stretches = list(stretches)
        self._open = open_stretch
        self._lock = threading.Lock()
        self._closed = False
        self._current: discord.AudioSource | None = None
        if self._stretches:
            start, end = self._stretches.pop(0)
            self._current = open_stretch(start, end, True)

    def is_opus(self) -> bool:
        return True

    def read(self) -> bytes:
        while (current := self._current) is not None:  # a cleanup may clear it between reads
            packet = current.read()
            if packet:
                return packet
            if not self._next():
                return b""
        return b""

    def _next(self) -> bool:
        with self._lock:
            ended, self._current = self._current, None
        if ended is not None:
            ended.cleanup()
        if self._closed or not self._stretches:
            return False
        start, end = self._stretches.pop(0)
        opened = self._open(start, end, False)
        with self._lock:
            if self._closed:
                opened.cleanup()
                return False
            self._current = opened
        return True

    def cleanup(self) -> None:
        with self._lock:
            current, self._current, self._closed = self._current, None, True
        if current is not None:
            current.cleanup()
