"""The media world's live streams: endless internet radio with ICY metadata, and a growing HLS live
playlist, each with the faults real ones have (a connection dropped mid-way, a station gone dark).

A station plays catalog song `first`, then `first + 1`, … each for `every` seconds, on a clock that
starts at its first request (a radio does not wait for its listener): its ICY title names the song
on air, and its audio is that song's tone, so a listener hears when the title changes. The audio is
MP3 at 48 kHz and 64 kb/s without ID3 or Xing headers: its frames are 192 bytes each, so songs are
joined at frame boundaries, as a station's encoder would send them."""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import time
from pathlib import Path

from aiohttp import web

from musicbox.sim.media.catalog import entry
from musicbox.sim.signature import tone_hz

MP3_BYTES_PER_S = 8000  # 64 kb/s
FRAME_BYTES = 192  # 1152 samples at 48 kHz, 64 kb/s, never padded
CHUNK_BYTES = FRAME_BYTES * 10  # 0.24 s: what a station sends at a time
BURST_S = 2.0  # sent at once on connecting, as Icecast fills a new listener's buffer
ICY_METAINT = 8000
# What a station sends before it stops by itself: the world never holds a socket for ever.
LONGEST_S = 600.0
STATION_FAULTS = frozenset({"drop", "die", "dead"})
PLAYER_AGENT = "musicbox"  # what musicbox's stream reader (playback/live.py) says it is
HLS_SEGMENT_S = 2.0
HLS_WINDOW = 3  # segments listed at a time, as a live playlist slides
HLS_LONGEST_SEGMENTS = 300


@dataclasses.dataclass
class _Station:
    started_at: float
    connections: int = 0
    dark: bool = False  # a `die` station once it died: every request after it is refused
    dropped: bool = False  # a `drop` station drops one player once


class LiveStreams:
    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._stations: dict[str, _Station] = {}
        self._hls_started: dict[str, float] = {}
        self._files: dict[Path, asyncio.Task[bytes]] = {}
        self.connections: collections.Counter[str] = collections.Counter()
        self.players: collections.Counter[str] = collections.Counter()  # musicbox's reader's connections

    # -- internet radio --------------------------------------------------------------------------

    async def station(self, request: web.Request) -> web.StreamResponse:
        """/radio/{name}?first=K&every=S[&fault=drop|die|dead&at=S]"""
        name = request.match_info["name"]
        first = int(request.query.get("first", "0"))
        every = max(1.0, float(request.query.get("every", "20")))
        fault = request.query.get("fault")
        cut_at = float(request.query.get("at", "10"))
        if fault is not None and fault not in STATION_FAULTS:
            raise web.HTTPNotFound(text=f"fault must be one of {sorted(STATION_FAULTS)}")
        station = self._stations.setdefault(request.path_qs, _Station(time.monotonic()))
        station.connections += 1
        self.connections[name] += 1
        if fault == "dead" or station.dark:
            raise web.HTTPServiceUnavailable(text="this station is off the air")
        metadata = request.headers.get("Icy-MetaData") == "1"
        title = request.query.get("title", "")
        headers = {
            "Content-Type": "audio/mpeg",
            "icy-name": f"Radio {name}",
            "icy-genre": "Tones",
            "icy-br": "64",
            "Cache-Control": "no-cache",
        }
        if metadata:
            headers["icy-metaint"] = str(ICY_METAINT)
        response = web.StreamResponse(headers=headers)
        await response.prepare(request)
        # A drop or a death comes to a player, musicbox's stream reader, never to a probe: ffprobe
        # (which asks for the titles too) and yt-dlp look at the head, and on a loaded box ffprobe
        # may stay longer than `at`.
        player = request.headers.get("User-Agent", "").startswith(PLAYER_AGENT)
        self.players[name] += int(player)
        cut = player and (fault == "die" or (fault == "drop" and not station.dropped))
        try:
            await self._broadcast(
                response, station, (first, every, title), metadata, cut_at if cut else LONGEST_S
            )
        except ConnectionError:
            return response
        if cut:
            station.dark = fault == "die"
            station.dropped = True
            if request.transport is not None:
                request.transport.abort()  # mid-stream, as a station's server falling over would
        return response

    async def _broadcast(
        self,
        response: web.StreamResponse,
        station: _Station,
        programme: tuple[int, float, str],
        metadata: bool,
        for_s: float,
    ) -> None:
        first, every, title = programme
        connected = time.monotonic()
        sent_s = 0.0
        until_meta = ICY_METAINT
        while time.monotonic() - connected < for_s:
            on_air_s = time.monotonic() - station.started_at
            song = first + int(on_air_s // every)
            audio = await self._mp3(song)
            offset = int((on_air_s % every) * MP3_BYTES_PER_S) // FRAME_BYTES * FRAME_BYTES
            chunk = audio[offset : offset + CHUNK_BYTES] or audio[:CHUNK_BYTES]
            while chunk:
                piece, chunk = chunk[:until_meta], chunk[until_meta:]
                await response.write(piece)
                until_meta -= len(piece)
                if until_meta == 0:
                    until_meta = ICY_METAINT
                    if metadata:
                        await response.write(icy_block(f"{title} {entry(song).full_title}".strip()))
            sent_s += CHUNK_BYTES / MP3_BYTES_PER_S
            ahead = sent_s - BURST_S - (time.monotonic() - connected)
            if ahead > 0:
                await asyncio.sleep(ahead)

    async def _mp3(self, song: int) -> bytes:
        path = self._directory / f"station-{song}.mp3"
        tone = f"sine=frequency={tone_hz(song)}:sample_rate=48000"
        mp3 = ["-c:a", "libmp3lame", "-b:a", "64k", "-write_xing", "0", "-id3v2_version", "0", "-f", "mp3"]
        return await self._made(path, ["-f", "lavfi", "-i", tone, "-t", "60", "-ac", "2", *mp3])

    # -- HLS live --------------------------------------------------------------------------------

    async def hls_playlist(self, request: web.Request) -> web.Response:
        """/live/{index}/index.m3u8: a live playlist of the song's tone that grows every HLS_SEGMENT_S,
        listing the last HLS_WINDOW segments and never #EXT-X-ENDLIST."""
        index = int(request.match_info["index"])
        started = self._hls_started.setdefault(request.path, time.monotonic())
        newest = min(HLS_LONGEST_SEGMENTS, int((time.monotonic() - started) // HLS_SEGMENT_S) + HLS_WINDOW)
        oldest = max(0, newest - HLS_WINDOW)
        lines = [
            "#EXTM3U",
            "#EXT-X-VERSION:3",
            f"#EXT-X-TARGETDURATION:{int(HLS_SEGMENT_S)}",
            f"#EXT-X-MEDIA-SEQUENCE:{oldest}",
        ]
        for number in range(oldest, newest):
            lines += [f"#EXTINF:{HLS_SEGMENT_S:.1f},", f"/live/{index}/{number}.ts"]
        return web.Response(text="\n".join(lines) + "\n", content_type="application/vnd.apple.mpegurl")

    async def hls_segment(self, request: web.Request) -> web.Response:
        index, number = int(request.match_info["index"]), int(request.match_info["number"])
        if not 0 <= number < HLS_LONGEST_SEGMENTS:
            raise web.HTTPNotFound()
        path = self._directory / f"live-{index}-{number}.ts"
        tone = f"sine=frequency={tone_hz(index)}:sample_rate=48000:duration={HLS_SEGMENT_S}"
        ts = ["-c:a", "aac", "-b:a", "64k", "-output_ts_offset", f"{number * HLS_SEGMENT_S}", "-f", "mpegts"]
        body = await self._made(path, ["-f", "lavfi", "-i", tone, "-ac", "2", *ts])
        return web.Response(body=body, content_type="video/mp2t")

    async def _made(self, path: Path, arguments: list[str]) -> bytes:
        task = self._files.get(path)
        if task is None:
            task = asyncio.get_running_loop().create_task(_generate(path, arguments))
            self._files[path] = task
        return await asyncio.shield(task)


def icy_block(title: str) -> bytes:
    """One ICY metadata block: a length byte (in 16-byte units) and `StreamTitle='…';` padded with NULs."""
    text = f"StreamTitle='{title}';".encode()[: 255 * 16]
    units = -(-len(text) // 16)
    return bytes([units]) + text.ljust(units * 16, b"\0")


async def _generate(path: Path, arguments: list[str]) -> bytes:
    process = await asyncio.create_subprocess_exec(
        "ffmpeg", "-nostdin", "-loglevel", "error", "-y", *arguments, "-",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, errors = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"ffmpeg could not make {path.name}: {errors.decode(errors='replace')}")
    return out
