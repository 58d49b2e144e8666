"""Audio for the voice player through the Opus cache.

A cached song is sent by reading its Opus packets from the file: no ffmpeg, almost no CPU. An
uncached one is transcoded once by ffmpeg into the cache and played from the growing file while it
is written, so the first packets leave as soon as ffmpeg produced them. Two guilds asking for the
same uncached song share one transcode. A volume other than 100 % or a /filter needs decoding, so it
goes through ffmpeg (from the cached file when there is one); the fill itself is never filtered, so
the cached file stays the song as it is, for every server.

A full disk never costs a member their song: with too little room for a song it plays straight from
its source, uncached, and a fill that runs out of room mid-song hands over to a direct stream from
the position reached.

A YouTube video's SponsorBlock cuts are left out by the transcode that fills the cache, so the file
is already clean and a replay is still passthrough; the index keeps what each file had cut. A song
whose cuts were not known as it was cached (SponsorBlock down) is a whole file: it is cut from its
own file, nothing fetched again, the next time it plays with its cuts known. A file cut otherwise
than a server asks (another server's categories, or SponsorBlock's list changed since) is left as
it is, and that server hears the song from its source, skipped by seeking (`DirectAudio`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import discord

from musicbox import start_times
from musicbox.batch_priority import run_behind_the_bot
from musicbox.cache.loudness import errors_of, loudnorm_filter, measured_lufs
from musicbox.cache.ogg import NotOgg, OggOpusReader, starts_as_opus, whole_pages
from musicbox.cache.store import AudioStore
from musicbox.core.config import PlaybackConfig
from musicbox.core.filters import AudioFilter
from musicbox.core.media_facts import input_described
from musicbox.core.sponsorblock import Cuts, select_filter
from musicbox.core.track import TrackId
from musicbox.playback.direct import DirectAudio, longest_output_s, through_gate

log = logging.getLogger(__name__)

FRAME_S = 0.020  # ffmpeg is told -frame_duration 20, so a seek is a count of packets
BITRATE = "128k"
# Ogg pages every 100 ms instead of ffmpeg's 1 s: the first packets reach the player sooner.
PAGE_DURATION_US = 100_000
# How long a fill's first audio page is watched for, for `start_times`.
FIRST_PAGE_WATCH_S = 20.0
FIRST_PAGE_POLL_S = 0.005
WATCHED_BYTES = 256 * 1024  # the header pages carry the source's tags: usually a few hundred bytes
HEADER_PAGES = 2  # Opus's identification and comment headers, each a page of its own
# How often a running fill asks whether anyone still plays or queues its song.
WANTED_CHECK_S = 5.0
# A transcode started while its song is still being probed counts as wanted this long: the song is
# queued (or abandoned) within moments; one never queued stops at a fill's next check.
EARLY_WANTED_S = WANTED_CHECK_S
# A fill needs room for its song (128 kb/s plus Ogg's framing) and leaves this much for SQLite,
# the logs and everything else on the disk; a song of unknown length is taken to be 10 minutes.
DISK_MARGIN_BYTES = 8 * 2**20
OPUS_BYTES_PER_S = 128_000 / 8 * 1.05
UNKNOWN_LENGTH_S = 600.0
OUT_OF_SPACE = "No space left on device"
HEAD_BYTES = 512  # ffmpeg's first Ogg page (the Opus identification header) fits well within it
# ffmpeg's log is read as it comes, for its description of the input (the song's tags and length);
# a description larger than this (tags of megabytes) is not waited for: ffprobe reads such a file.
DESCRIBED_BYTES = 64 * 1024
LOG_CHUNK_BYTES = 4096


def bytes_needed(duration_s: float | None) -> int:
    return int((duration_s or UNKNOWN_LENGTH_S) * OPUS_BYTES_PER_S) + DISK_MARGIN_BYTES


class Fill:
    """One ffmpeg transcode of one song into the cache; readers follow its `.part` file."""

    def __init__(self, key: str, partial: Path, cuts: Cuts | None, described: asyncio.Future[str]) -> None:
        self.key = key
        self.partial = partial
        self.cuts = cuts  # what its file has left out of the source (None: not known, whole)
        # What ffmpeg's log says of its input (`media_facts.input_described`), or "" when it ended
        # (or passed DESCRIBED_BYTES) without describing one.
        self.described = described
        self.finished = threading.Event()
        self.succeeded = False
        self.out_of_space = False  # set before `finished`: a reader that sees the end may rely on it
        self.task: asyncio.Task[None] | None = None

    def running(self) -> bool:
        return not self.finished.is_set()


Rescue = Callable[[float], discord.AudioSource | None]


class CachedOpusSource(discord.AudioSource):
    """discord.py reads on its player thread while a leave may clean up from the loop's thread: a
    read racing the close ends the song instead of raising.

    `rescue(position_s)`, asked once when the file ends, may hand over to another source for the
    rest of the song (its fill ran out of disk before the song's end). `damaged(position_s)`, asked
    once when the file turns out not to be Ogg further on, does the same for a damaged file."""

    def __init__(
        self,
        reader: OggOpusReader,
        on_cleanup: Callable[[], None],
        *,
        start_s: float = 0.0,
        until_s: float | None = None,
        rescue: Rescue | None = None,
        damaged: Rescue | None = None,
    ) -> None:
        self._reader = reader
        self._until_s = until_s
        self._on_cleanup: Callable[[], None] | None = on_cleanup
        self._lock = threading.Lock()
        self._position_s = start_s
        self._rescue = rescue
        self._damaged = damaged
        self._rest: discord.AudioSource | None = None
        self._closed = False

    def is_opus(self) -> bool:
        return True

    def read(self) -> bytes:
        if self._rest is not None:
            return self._rest.read()
        if self._until_s is not None and self._position_s >= self._until_s:
            return b""  # a host repeating its file's start when resumed (see direct.OVERRUN_S)
        try:
            packet = self._reader.next_packet()
        except NotOgg:
            self._rescue, self._damaged = self._damaged, None
            return self._hand_over()
        except ValueError:  # read of closed file
            return b""
        if packet:
            self._position_s += FRAME_S
            return packet
        return self._hand_over()

    def packet_ready(self) -> bool:
        """Whether `read()` answers now from the file: what lets the packet clock send it."""
        return self._rest is None and self._reader.packet_ready()

    def _hand_over(self) -> bytes:
        rescue, self._rescue = self._rescue, None
        rest = rescue(self._position_s) if rescue is not None else None
        if rest is None:
            return b""
        with self._lock:
            if self._closed:  # a leave cleaned up while the rescue started: do not leak its child
                rest.cleanup()
                return b""
            self._rest = rest
        return rest.read()

    def cleanup(self) -> None:
        with self._lock:
            release, self._on_cleanup = self._on_cleanup, None
            rest, self._closed = self._rest, True
        self._reader.close()
        if rest is not None:
            rest.cleanup()
        if release is not None:
            release()


class CachedAudio:
    def __init__(
        self,
        store: AudioStore,
        *,
        max_transcodes: int,
        queued_keys: Callable[[], set[str]] = set,
        proxy_url: str | None = None,
        max_track_s: int = PlaybackConfig().max_track_s,
        loudness_lufs: int = 0,
    ) -> None:
        """`loudness_lufs`: what every song is brought to as it is cached (0: as its source is)."""
        self.store = store
        self._loudness_lufs = loudness_lufs
        self._max_track_s = max_track_s
        self._queued_keys = queued_keys
        self._proxy_url = proxy_url  # the egress gate's; None only in tests of local files
        self._direct = DirectAudio(proxy_url)
        self._max_transcodes = max(1, max_transcodes)
        self._prefetch_slots = asyncio.Semaphore(self._max_transcodes)
        self._fills: dict[str, Fill] = {}
        self._early: dict[str, float] = {}  # songs being probed whose transcode began: wanted until
        self._playing: Counter[str] = Counter()
        self._playing_lock = threading.Lock()
        self.transcodes_started = 0
        self.disk_full = False  # the last fill found too little room, or ran out of it
        self._loop: asyncio.AbstractEventLoop | None = None

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
        key = str(track_id)
        if not normalised and self._loudness_lufs < 0 and not track_id.live:
            # A server that turned evening-out off hears the source as it is: every cached file is
            # normalised, so this costs a transcode from the source, as a volume other than 100 does.
            return await self._direct.source(
                track_id,
                media_url,
                start_s=start_s,
                volume=volume,
                duration_s=duration_s,
                audio_filter=audio_filter,
                cuts=cuts,
            )
        if track_id.live:  # endless: never cached, never counted against the cache's budget
            return await self._direct.source(track_id, media_url, volume=volume)
        if volume != 100 or audio_filter is not None:
            address, skipped = self._decodable(key, media_url, cuts)
            return await self._direct.source(
                track_id,
                address,
                start_s=start_s,
                volume=volume,
                duration_s=duration_s,
                audio_filter=audio_filter,
                cuts=skipped,
            )
        if key not in self._fills and not self.store.contains(key) and not self._has_room(duration_s):
            return await self._direct.source(
                track_id, media_url, start_s=start_s, duration_s=duration_s, cuts=cuts
            )
        running = self._fills.get(key)
        if running is not None and not _heard_alike(running.cuts, cuts):
            # Being written cut otherwise (another server's categories): this server's cuts are
            # skipped by seeking in the source, and the file is left to the server that began it.
            return await self._direct.source(
                track_id, media_url, start_s=start_s, duration_s=duration_s, cuts=cuts
            )
        if running is None and self.store.contains(key):
            kept = self.store.cuts(key)
            if cuts and not kept and self._has_room(duration_s):
                # Cached whole (SponsorBlock did not answer then, or nothing was marked): cut now
                # from its own file, nothing fetched, and played as it is written.
                log.info("%s: cutting SponsorBlock's segments out of the cached copy", key)
                await self._start_fill(key, str(self.store.file_for(key)), duration_s, cuts, cuts)
            elif not _heard_alike(kept, cuts):
                return await self._direct.source(
                    track_id, media_url, start_s=start_s, duration_s=duration_s, cuts=cuts
                )
            elif self._needs_normalising(key) and self._has_room(duration_s):
                # Cached before normalisation (or for another target): transcoded again from its own
                # file, nothing fetched, and played as it is written; the new file takes its place.
                log.info("%s: bringing the cached copy to %d LUFS", key, self._loudness_lufs)
                await self._start_fill(key, str(self.store.file_for(key)), duration_s, (), kept)
        self._pin(key)  # before any await: a fill this play needs must not look unwanted meanwhile
        try:
            on_file = None if key in self._fills else self._cached_reader(key)
            reader = on_file or await self._filling_reader(key, media_url, duration_s, cuts)
            fill = self._fills.get(key)
            # What the file being read left out: its positions are positions in what is heard.
            read_cuts = (fill.cuts if fill is not None else self.store.cuts(key)) or ()
            reached = await self._reached(reader, start_s, fill)
        except NotOgg:  # damaged before the position sought: that part is gone, the song is not
            reader.close()
            self._unpin(key)
            self._forget_damaged(key, "not Ogg before the position asked for")
            return await self._direct.source(
                track_id, media_url, start_s=start_s, duration_s=duration_s, cuts=cuts
            )
        except BaseException:
            self._unpin(key)
            raise
        if not reached:
            # A seek past what the fill has written: play from the source at that point now rather
            # than wait for the transcode to get there (minutes, into a 3-hour song). The fill goes
            # on behind it while the song is queued, for the next time it plays.
            reader.close()
            self._unpin(key)
            log.info("%s: %.0f s is not cached yet; playing it from the source", key, start_s)
            return await self._direct.source(
                track_id, media_url, start_s=start_s, duration_s=duration_s, cuts=read_cuts
            )
        rescue = self._rescue(fill, media_url, duration_s) if fill is not None else None
        damaged = self._rest_of_damaged(key, media_url, duration_s, read_cuts) if fill is None else None
        # A transcode begun before the song's length was known was bounded by the longest song
        # allowed: the song itself ends where a direct stream of it would.
        until_s = longest_output_s(duration_s) if duration_s is not None else None
        return CachedOpusSource(
            reader,
            lambda: self._unpin(key),
            start_s=start_s,
            until_s=until_s,
            rescue=rescue,
            damaged=damaged,
        )

    def _decodable(self, key: str, media_url: str, cuts: Cuts | None) -> tuple[str, Cuts]:
        """What a song that must be decoded anyway (a volume other than 100, a /filter) is read from, and
        what is skipped in it: its cached file when that holds what this server hears."""
        if self.store.contains(key):
            kept = self.store.cuts(key)
            if _heard_alike(kept, cuts) or not kept:
                path = self.store.lookup(key)
                if path is not None:
                    return str(path), () if _heard_alike(kept, cuts) else (cuts or ())
        return media_url, cuts or ()

    @staticmethod
    async def _reached(reader: OggOpusReader, start_s: float, fill: Fill | None) -> bool:
        """Skip `reader` to `start_s`; False when the fill is still short of it."""
        wanted = int(start_s / FRAME_S)
        if not wanted:
            return True
        skipped = await asyncio.to_thread(reader.skip_written, wanted)
        if skipped < wanted and fill is not None and fill.running():
            return False
        if skipped < wanted:  # the fill finished meanwhile: what it wrote last is there to read
            await asyncio.to_thread(reader.skip, wanted - skipped)
        return True

    async def prefetch(
        self, track_id: TrackId, media_url: str, duration_s: float | None = None, cuts: Cuts | None = ()
    ) -> None:
        """Cache a queued song ahead of its turn, a few at a time, so it starts from the file."""
        key = str(track_id)
        if track_id.live or key in self._fills or self.store.contains(key):
            return
        async with self._prefetch_slots:
            if key not in self._fills and not self.store.contains(key) and self._has_room(duration_s):
                await self._start_fill(key, media_url, duration_s, cuts or (), cuts)

    async def transcode_ahead(self, track_id: TrackId, media_url: str) -> asyncio.Future[str] | None:
        """Begin transcoding a song that is still being resolved, so its first pages are written by
        the time it is queued; the answer is what the transcode's ffmpeg says of its input (its
        length and tags, `media_facts`), which spares the resolver a probe of its own (a second
        program's start, 60-80 ms of loading libraries). None when no transcode began: the song is
        cached already, or the tuner's transcodes all run (twenty songs queued at once: it starts
        when it plays), or the disk is full. Wanted for EARLY_WANTED_S unless `abandon`ed.
        Awaiting the answer never cancels the transcode."""
        key = str(track_id)
        if key in self._fills:  # a prefetch, or another guild's /play of the same link
            return self._fills[key].described
        if self.store.contains(key) or len(self._fills) >= self._max_transcodes:
            return None
        if not self._has_room(None):
            return None
        self._early[key] = time.monotonic() + EARLY_WANTED_S
        # A link to an audio file, not a YouTube video: nothing to cut, and the file is whole.
        return (await self._start_fill(key, media_url, None, (), None)).described

    def abandon(self, track_id: TrackId) -> None:
        """The song will not be queued after all (too long, not audio): its early transcode stops
        now, unless a guild plays or queues it."""
        if self._early.pop(str(track_id), None) is not None:
            self._cancel_unwanted_fills()

    async def aclose(self) -> None:
        fills = [fill.task for fill in self._fills.values() if fill.task is not None]
        for task in fills:
            task.cancel()
        await asyncio.gather(*fills, return_exceptions=True)

    async def purge_unused(self) -> tuple[int, int]:
        """Empty the cache of every song not playing, queued or being written (the web page's
        purge, with the bot running): (songs removed, bytes freed)."""
        keys = set(self.store.all_keys()) - self.pinned()  # read here: the queues live on this loop
        freed = await asyncio.to_thread(self.store.remove, keys)
        return len(keys), freed

    def pinned(self) -> set[str]:
        """Songs eviction must not touch: playing, queued in some guild, or being written."""
        return self._wanted() | set(self._fills)

    def _wanted(self) -> set[str]:
        with self._playing_lock:
            playing = set(self._playing)
        now = time.monotonic()
        self._early = {key: until for key, until in self._early.items() if until > now}
        return playing | self._queued_keys() | set(self._early)

    def _cancel_unwanted_fills(self) -> None:
        # Nobody plays or queues the song any more (skipped, or the guild left): stop its ffmpeg now
        # rather than spend a slow box's CPU on a song nobody asked to keep.
        wanted = self._wanted()
        for fill in list(self._fills.values()):
            if fill.key not in wanted and fill.task is not None:
                fill.task.cancel()

    def _has_room(self, duration_s: float | None) -> bool:
        full = shutil.disk_usage(self.store.directory).free < bytes_needed(duration_s)
        if full and not self.disk_full:
            log.warning(
                "the cache disk (%s) is full: songs play straight from their source, uncached, "
                "until space is freed",
                self.store.directory,
            )
        self.disk_full = full
        return not full

    def _rescue(self, fill: Fill, media_url: str, duration_s: float | None) -> Rescue:
        def rest_of_song(position_s: float) -> discord.AudioSource | None:
            # On the player thread, at the end of what the fill wrote: only a fill that ran out
            # of disk left the song unfinished (a host that cut the file short ends it for real).
            if not fill.out_of_space:
                return None
            log.warning("cache disk full mid-song: %s goes on uncached from %.1f s", fill.key, position_s)
            # The host streamed the song to the fill from its start; decoding up to the position
            # reads it the same way, where a seek would need range requests it may not serve.
            return self._direct.open(
                media_url,
                start_s=position_s,
                duration_s=duration_s,
                decode_to_start=True,
                cuts=fill.cuts or (),
            )

        return rest_of_song

    def _rest_of_damaged(self, key: str, media_url: str, duration_s: float | None, cuts: Cuts) -> Rescue:
        def rest_of_song(position_s: float) -> discord.AudioSource | None:
            # On the player thread: the cached file stops being Ogg part-way (a disk error, a
            # hand-edited cache). The song goes on from its source; the file is not played again.
            self._forget_damaged(key, f"not Ogg after {position_s:.1f} s")
            return self._direct.open(
                media_url, start_s=position_s, duration_s=duration_s, decode_to_start=True, cuts=cuts
            )

        return rest_of_song

    def _forget_damaged(self, key: str, what: str) -> None:
        self.store.remove([key])
        log.warning(
            "the cached file of %s was damaged (%s): removed it; the song plays from its source and "
            "is cached again next time",
            key,
            what,
        )

    def _cached_reader(self, key: str) -> OggOpusReader | None:
        path = self.store.lookup(key)
        if path is None:
            return None
        try:
            file = path.open("rb")
        except FileNotFoundError:  # evicted between lookup and open
            return None
        if not starts_as_opus(file.read(HEAD_BYTES)):
            file.close()
            self._forget_damaged(key, "it does not start as Ogg Opus")
            return None
        file.seek(0)
        return OggOpusReader(file)

    async def _filling_reader(
        self, key: str, media_url: str, duration_s: float | None, cuts: Cuts | None
    ) -> OggOpusReader:
        fill = self._fills.get(key) or await self._start_fill(key, media_url, duration_s, cuts or (), cuts)
        try:
            return OggOpusReader(fill.partial.open("rb"), fill.running)
        except FileNotFoundError:
            # The fill finished between our lookup and now: its file is in the cache already.
            cached = self._cached_reader(key)
            if cached is None:
                raise
            return cached

    async def _start_fill(
        self, key: str, media_url: str, duration_s: float | None, cutting: Cuts, cut: Cuts | None
    ) -> Fill:
        """ffmpeg from `media_url` into the cache, leaving `cutting` out; `cut`: what the finished
        file will have had cut from the song's source (more than `cutting` when `media_url` is a
        cached file already cut; None: not known)."""
        self._loop = asyncio.get_running_loop()
        fill = Fill(key, self.store.partial_for(key), cut, self._loop.create_future())
        fill.partial.touch()  # readers open it before ffmpeg writes its first page
        self._fills[key] = fill
        try:
            process = await asyncio.create_subprocess_exec(
                *_transcode_command(
                    media_url,
                    fill.partial,
                    self._fill_bounds(duration_s),
                    self._proxy_url,
                    self._loudness_lufs,
                    cutting,
                ),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )
        except BaseException:
            self._fills.pop(key, None)
            fill.finished.set()
            fill.described.set_result("")
            fill.partial.unlink(missing_ok=True)
            raise
        run_behind_the_bot(process.pid)
        self.transcodes_started += 1
        start_times.mark("spawned")
        fill.task = self._loop.create_task(
            self._finish(fill, process, start_times.current.get()), name=f"fill-{key}"
        )
        fill.task.add_done_callback(lambda _: self._settle(fill, process))
        return fill

    async def _finish(
        self, fill: Fill, process: asyncio.subprocess.Process, timeline: start_times.StartTimeline | None
    ) -> None:
        communicating = asyncio.ensure_future(_report(process, fill.described))
        try:
            if timeline is not None:
                await _mark_first_page(fill.partial, communicating, timeline)
            while not (await asyncio.wait({communicating}, timeout=WANTED_CHECK_S))[0]:
                if fill.key not in self._wanted():
                    # Nobody plays or queues the song any more, and no song's end told us (one
                    # sought past its fill played from the source): stop the transcode.
                    log.debug("stopping the fill of %s: nobody wants it", fill.key)
                    return
            said = communicating.result()
            if process.returncode == 0 and fill.partial.exists():
                loudness = self._loudness(said)
                evicted = await asyncio.to_thread(
                    self.store.commit, fill.key, fill.partial, self.pinned(), loudness, fill.cuts
                )
                fill.succeeded = True
                log.debug("cached %s (evicted %d)", fill.key, len(evicted))
            else:
                fill.out_of_space = OUT_OF_SPACE in said
                self.disk_full = self.disk_full or fill.out_of_space
                log.warning("transcoding %s failed: %s", fill.key, errors_of(said)[-300:])
        except (OSError, sqlite3.Error) as failed:  # a full disk when indexing it, most likely
            log.warning("could not cache %s: %s", fill.key, failed)
        finally:
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
            # ffmpeg is gone: its stderr ends, so the reading ends too (and its pipes close now,
            # not when a later garbage collection finds them on a closed loop).
            await asyncio.gather(communicating, return_exceptions=True)
            self._settle(fill, process)

    def _settle(self, fill: Fill, process: asyncio.subprocess.Process) -> None:
        """The end of a fill, however it ended. Also the fill task's done callback: a task cancelled
        before its first step (a /leave right after /play) never runs `_finish`'s `finally`."""
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()  # asyncio's child watcher reaps it
        fill.finished.set()
        if not fill.described.done():
            fill.described.set_result("")
        if not fill.succeeded:
            # Readers keep their open handle; the name goes so it is never mistaken for a song.
            fill.partial.unlink(missing_ok=True)
        if self._fills.get(fill.key) is fill:
            del self._fills[fill.key]

    def _needs_normalising(self, key: str) -> bool:
        if self._loudness_lufs >= 0 or key in self._fills or not self.store.contains(key):
            return False
        loudness = self.store.loudness(key)
        return loudness is not None and loudness[1] != self._loudness_lufs

    def _loudness(self, report: str) -> tuple[float | None, int] | None:
        """(the source's measured loudness, the target it was brought to), None when not normalised."""
        if self._loudness_lufs >= 0:
            return None
        return measured_lufs(report), self._loudness_lufs

    def _fill_bounds(self, duration_s: float | None) -> tuple[float, int]:
        """How long and how large a fill may grow: its song's length (the owner's longest song when
        the host does not say, as a live stream would not), never more than the whole cache."""
        longest_s = longest_output_s(duration_s) if duration_s is not None else float(self._max_track_s)
        return longest_s, min(bytes_needed(longest_s), self.store.budget_bytes)

    def _pin(self, key: str) -> None:
        with self._playing_lock:
            self._playing[key] += 1

    def _unpin(self, key: str) -> None:
        # Called from discord.py's player thread when a song ends or is stopped.
        with self._playing_lock:
            self._playing[key] -= 1
            if self._playing[key] <= 0:
                del self._playing[key]
        if self._fills and self._loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop closed: shutdown reaps the fills
                self._loop.call_soon_threadsafe(self._cancel_unwanted_fills)


async def _report(process: asyncio.subprocess.Process, described: asyncio.Future[str]) -> str:
    """ffmpeg's whole log once it has ended; meanwhile `described` is answered as soon as the log
    has described the input (the song's tags and length come before its first audio page)."""
    assert process.stderr is not None
    said = bytearray()
    while chunk := await process.stderr.read(LOG_CHUNK_BYTES):
        said += chunk
        if not described.done():
            head = said[:DESCRIBED_BYTES].decode(errors="replace")
            found = input_described(head)
            if found is not None or len(said) >= DESCRIBED_BYTES:
                described.set_result(found or "")
    await process.wait()
    if not described.done():
        described.set_result("")
    return said.decode(errors="replace")


async def _mark_first_page(
    partial: Path, communicating: asyncio.Future[str], timeline: start_times.StartTimeline
) -> None:
    """Watch a timed start's file until ffmpeg has written its first audio page (or ended)."""
    deadline = time.monotonic() + FIRST_PAGE_WATCH_S
    while not communicating.done() and time.monotonic() < deadline:
        if whole_pages(_head(partial)) > HEADER_PAGES:
            timeline.mark("first page")
            return
        await asyncio.wait({communicating}, timeout=FIRST_PAGE_POLL_S)


def _head(path: Path) -> bytes:
    """The first bytes of a file being written: a few page-cache pages, read in microseconds."""
    try:
        with path.open("rb") as file:
            return file.read(WATCHED_BYTES)
    except OSError:
        return b""


def _heard_alike(kept: Cuts | None, wanted: Cuts | None) -> bool:
    """Whether a file that left `kept` out is what a server wanting `wanted` cut hears: the same cuts
    (a whole file, `None`, has nothing cut), or the server's are not known (SponsorBlock did not
    answer: the song plays as it is)."""
    return wanted is None or (kept or ()) == wanted


def _transcode_command(
    media_url: str,
    output: Path,
    bounds: tuple[float, int],
    proxy_url: str | None,
    loudness_lufs: int = 0,
    cuts: Cuts = (),
) -> list[str]:
    # Info, not errors only: loudnorm's closing report is an info line (errors_of() picks the rest).
    command = ["ffmpeg", "-nostdin", "-hide_banner", "-nostats", "-loglevel", "level+info"]
    if media_url.startswith(("http://", "https://")):
        # Resume a dropped download with a range request. Not -reconnect_streamed: for a host that
        # cannot resume, that re-reads the file from its start into the same output, and a host that
        # keeps cutting the file short then loops its first part for ever.
        command += ["-reconnect", "1", "-reconnect_delay_max", "2"]
        command += through_gate(media_url, proxy_url).split()
    command += ["-i", media_url, "-map", "0:a:0", "-vn"]
    # The cuts first: loudnorm then measures and evens out only what is heard.
    filters = [
        f for f in (select_filter(cuts), loudnorm_filter(loudness_lufs) if loudness_lufs < 0 else "") if f
    ]
    if filters:
        command += ["-af", ",".join(filters)]
    command += ["-c:a", "libopus", "-b:a", BITRATE]
    command += ["-ar", "48000", "-ac", "2", "-frame_duration", "20", "-application", "audio"]
    longest_s, largest_bytes = bounds
    command += ["-t", f"{longest_s:.1f}", "-fs", str(largest_bytes)]
    command += [
        "-page_duration",
        str(PAGE_DURATION_US),
        "-flush_packets",
        "1",
        "-f",
        "ogg",
        "-y",
        str(output),
    ]
    return command
