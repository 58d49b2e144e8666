"""Audio straight from the media URL through one ffmpeg child, no cache.

What every live stream plays through (`live.py`), what plays when the cache is off (a budget of 0:
the disk is nearly full, or the owner said so), and
what the cache itself uses for a volume other than 100 % or a /filter, which need decoding anyway.
The child is reaped by discord.py's player when the source is cleaned up."""

from __future__ import annotations

import asyncio

import discord

from musicbox.core.egress import FFMPEG_PROTOCOLS
from musicbox.core.filters import AudioFilter, filter_chain
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
    ) -> discord.AudioSource:
        """Never normalised: a song played uncached is as loud as its source. A live stream is never
        filtered (the session does not ask): it cannot be played faster than its station sends it."""
        if track_id.live:  # no position to start at and no length: it plays from now, for as long as it goes
            return await asyncio.to_thread(self._live.open, media_url, volume=volume)
        return self.open(
            media_url, start_s=start_s, volume=volume, duration_s=duration_s, audio_filter=audio_filter
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
    ) -> discord.AudioSource:
        """Start the ffmpeg child now; callable from discord.py's player thread (no event loop).

        `decode_to_start`: reach `start_s` by decoding from the beginning rather than by seeking,
        which over HTTP takes range requests that a host that only streams may not answer."""
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
        if duration_s is not None:
            # -t bounds what is heard: the rest of the song at the filter's rate.
            rate = audio_filter.rate if audio_filter is not None else 1.0
            options += f" -t {(longest_output_s(duration_s) - start_s) / rate:.1f}"
        return discord.FFmpegOpusAudio(media_url, before_options=before, options=options)

    async def prefetch(self, track_id: TrackId, media_url: str, duration_s: float | None = None) -> None:
        """Nothing to fetch ahead without a cache: the media URL is already resolved by then."""

    async def aclose(self) -> None:
        """Each source's ffmpeg child is reaped by the player that played it."""
