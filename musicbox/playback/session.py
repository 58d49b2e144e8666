"""One guild's playback: the queue, the voice client and every task that serves them.

A `GuildSession` owns its player task, prefetch task and idle watch; `aclose()` cancels and awaits
each, stops the audio (which reaps any ffmpeg child) and disconnects voice. `Sessions` owns the
sessions of all guilds, enforces the cap of active guilds and closes them all at shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Literal, Protocol

import discord

from musicbox import log_context, start_times
from musicbox.core.filters import AudioFilter, admits
from musicbox.core.live import after_end
from musicbox.core.queue import Queue, QueuedTrack
from musicbox.core.sponsorblock import Cuts
from musicbox.core.track import Track, TrackId
from musicbox.playback.clock import ClockableSource
from musicbox.playback.live import LiveSource
from musicbox.store.queues import SavedPlayback

log = logging.getLogger(__name__)

PREFETCH_DEPTH = 2
DEFAULT_MAX_FILTERED = 4  # guilds hearing a /filter at once, until the tuner sizes it from the hardware
# How often a playing guild's queue and position reach the store: after a crash the track resumes
# at most this far from where it was.
CHECKPOINT_S = 2.0


class AudioProvider(Protocol):
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
        """`normalised`: at the owner's loudness (when the owner has it on); False: as loud as its source.
        `audio_filter`: the server's /filter (never asked for a live stream).
        `cuts`: the stretches of the source left out (SponsorBlock's); None when SponsorBlock could
        not say, and the song plays whole. `start_s` is a position in what is heard."""
        ...

    async def prefetch(
        self, track_id: TrackId, media_url: str, duration_s: float | None = None, cuts: Cuts | None = ()
    ) -> None:
        """Make a queued song quick to start when its turn comes."""

    async def aclose(self) -> None: ...


class MediaLocator(Protocol):
    async def media_url(self, track: Track) -> str: ...


class SessionCapReached(Exception):
    """Every allowed guild slot is taken."""


# Who called a pending voice join off: a member's /leave, the server removing the bot, the bot stopping.
CalledOffBy = Literal["leave", "removed", "stopping"]


class JoinCancelled(Exception):
    """The voice join a session waited for was called off before it was sent."""

    def __init__(self, by: CalledOffBy) -> None:
        super().__init__(by)
        self.by = by


# Told when a queued song cannot be played (its link refused or gone, its audio unreadable), with the
# error: the player goes on to the next song either way, and the bot says why in the guild's channel.
Unplayable = Callable[["GuildSession", QueuedTrack, Exception], None]


class NoAudio(Exception):
    """A song that ended without one frame though nobody skipped it and voice was up: its link
    answered something that is not audio (a 404, a text file), found out only once it played."""

    reason = "no audio came from its link"

    def __init__(self) -> None:
        super().__init__(self.reason)


class OffAir(NoAudio):
    """A live stream that ended and did not come back when tried again (core/live.py)."""

    reason = "the station went off the air and did not come back"


def log_unplayable(session: GuildSession, entry: QueuedTrack, error: Exception) -> None:
    log.warning("guild %s: cannot play %s", session.guild_id, entry.track.id, exc_info=error)


Saver = Callable[[int, list[QueuedTrack], SavedPlayback | None], Awaitable[None]]
# Autoplay stops after this many picks in a row that could not be played, until a member queues
# something: a history of dead links must not keep the box resolving them forever.
AUTOPLAY_MISSES = 3
# Asked for a song when the queue runs out (autoplay); None: nothing to play.
NextWhenEmpty = Callable[[int], Coroutine[None, None, QueuedTrack | None]]
# Asked whether the session stays whatever happens (24/7): no leaving when idle or alone.
Stays = Callable[[int], bool]
# Told each time a song starts from its beginning (not a seek or a resume): the guild's history.
Started = Callable[[int, QueuedTrack], Coroutine[None, None, None]]
# Connects to a voice channel afresh, for when discord.py gave a connection up (its reconnect after a
# drop timed out, for one).
Rejoin = Callable[[discord.abc.Connectable], Awaitable[discord.VoiceClient]]
FRAME_S = discord.opus.Encoder.FRAME_LENGTH / 1000  # what the player sends per read(): 20 ms
# Asked what to leave out of a track (SponsorBlock's cuts for this server's categories): () for
# nothing, None when that could not be found out (the song plays whole).
Skips = Callable[[Track], Awaitable[Cuts | None]]
# A song's cuts are asked beside its media URL (and ahead, by prefetch); once the URL is known the
# song waits at most this much longer for them, then plays whole. A YouTube extraction takes
# longer than SponsorBlock's answer, so a healthy lookup costs nothing, and an outage at most this.
SKIPS_GRACE_S = 0.5
# The longest a lookup may run at all (it has a shorter deadline of its own: sponsorblock.LOOKUP_S);
# one that ends after its song started still counts for the circuit, and its answer is remembered by
# the SponsorBlock client for the song's next play (a replay, a loop).
SKIPS_WAIT_S = 3.0


async def _no_skips(track: Track) -> Cuts | None:
    return ()


# A song whose player went this long without a frame before it ended was waiting for a connection
# that discord.py then gave up; one ended at once was ended by someone disconnecting the bot.
STARVED_S = 2.0


class FilterSlots:
    """How many guilds hear a filtered stream at once (the tuner's `max_filtered`): a guild holds its
    slot from its first filtered song until its filter is turned off or it leaves, so a filter that
    played once is not lost to another server between two songs."""

    def __init__(self, most: int) -> None:
        self.most = most
        self._holders: set[int] = set()

    def take(self, guild_id: int) -> bool:
        if not admits(self._holders, guild_id, self.most):
            return False
        self._holders.add(guild_id)
        return True

    def give_back(self, guild_id: int) -> None:
        self._holders.discard(guild_id)


class CountedSource(discord.AudioSource):
    """What the player plays: `source`, its frames counted, so a song cut off by a lost connection
    resumes where the listener stopped hearing it (the wall clock ran on through the reconnect wait).
    `audio_filter`: the /filter it plays through, whose speed is the song's."""

    def __init__(
        self,
        source: discord.AudioSource,
        start_s: float,
        timeline: start_times.StartTimeline | None = None,
        *,
        audio_filter: AudioFilter | None = None,
    ) -> None:
        self.source = source
        self._start_s = start_s
        self.audio_filter = audio_filter
        self.rate = audio_filter.rate if audio_filter is not None else 1.0  # song seconds per second heard
        self._frames = 0
        self._ready = source.packet_ready if isinstance(source, ClockableSource) else None
        self.last_read_at = time.monotonic()
        self._timeline = timeline

    @property
    def position_s(self) -> float:
        return self._start_s + self._frames * FRAME_S * self.rate

    @property
    def frames(self) -> int:
        return self._frames

    def read(self) -> bytes:
        self.last_read_at = time.monotonic()
        data = self.source.read()
        if data:
            if not self._frames and self._timeline is not None:
                self._timeline.mark(start_times.FIRST_AUDIO)  # the player sends what it read at once
            self._frames += 1
        return data

    def is_opus(self) -> bool:
        return self.source.is_opus()

    def packet_ready(self) -> bool:
        return self._ready is not None and self._ready()

    def cleanup(self) -> None:
        self.source.cleanup()


class GuildSession:
    def __init__(
        self,
        guild_id: int,
        voice: discord.VoiceClient,
        *,
        audio: AudioProvider,
        locator: MediaLocator,
        volume: int,
        idle_timeout_s: float,
        on_closed: Callable[[GuildSession], None],
        saver: Saver | None = None,
        rejoin: Rejoin | None = None,
        on_unplayable: Unplayable = log_unplayable,
        on_started: Started | None = None,
        next_when_empty: NextWhenEmpty | None = None,
        stays: Stays | None = None,
        checkpoint_s: float = CHECKPOINT_S,
        audio_prefetch: int = PREFETCH_DEPTH,
        loudness: Callable[[], bool] = lambda: True,
        audio_filter: Callable[[], AudioFilter | None] = lambda: None,
        filter_slots: FilterSlots | None = None,
        on_filter_refused: Callable[[GuildSession], None] | None = None,
        skips: Skips = _no_skips,
    ) -> None:
        """`loudness()`: whether the guild wants songs evened out, asked as each song starts;
        `audio_filter()`: the guild's /filter, asked likewise. With every one of `filter_slots` held by
        other guilds, songs play unfiltered and `on_filter_refused` is told (once, until a slot is had).
        `skips(track)`: what to leave out of it, asked beside its media URL (and ahead, by prefetch)."""
        self.guild_id = guild_id
        self.voice = voice
        self.queue = Queue()
        self.volume = volume
        self._audio = audio
        self._locator = locator
        self._idle_timeout_s = idle_timeout_s
        self._on_closed = on_closed
        self._wakeup = asyncio.Event()
        self._track_done = asyncio.Event()
        self._skip_requested = False
        self._restart_at: float | None = None
        # The song's position is _anchor_s at monotonic time _started_at, and runs at _rate song
        # seconds per second heard (a /filter's speed; 1.0 otherwise).
        self._started_at = 0.0
        self._anchor_s = 0.0
        self._rate = 1.0
        self._paused_at: float | None = None
        self._last_active = time.monotonic()
        self._media_urls: dict[TrackId, str] = {}
        self._skips = skips
        self._cuts: dict[TrackId, Cuts] = {}  # answers known, as _media_urls (a None is asked again)
        self._asking: dict[TrackId, asyncio.Task[None]] = {}  # lookups under way
        self._playing_cuts: Cuts = ()  # what the song playing was opened with left out
        self._closing = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._saver = saver
        self._rejoin = rejoin
        self._on_unplayable = on_unplayable
        self._on_started = on_started
        self._next_when_empty = next_when_empty
        self._stays = stays
        self._stopped = False  # /stop: no autoplay until something is queued again
        # The queue ran out after a song (or a 24/7 rejoin asked for music): autoplay may pick. Not
        # at a session's start, where the /play that made it is about to queue its own song.
        self._ran_out = False
        self._autoplay_misses = 0  # autoplay picks in a row that never started (gone, refused)
        self._skip_votes: tuple[QueuedTrack | None, set[int]] = (None, set())
        # Where this guild's /play was last used: the bot says there what members did not ask about.
        self.text_channel_id: int | None = None
        self._voice_lost = False  # a song was cut off by a dropped connection; connecting afresh
        self._playing_source: discord.AudioSource | None = None
        self._checkpoint_s = checkpoint_s
        self._audio_prefetch = audio_prefetch
        self._loudness = loudness
        self._audio_filter = audio_filter
        self._filter_slots = filter_slots
        self._on_filter_refused = on_filter_refused
        self._filter_refusal_told = False
        self.playing_filter: AudioFilter | None = None  # what the current song plays with (/now)
        self._saved: tuple[list[QueuedTrack], SavedPlayback | None] | None = None
        self._saving: asyncio.Future[None] | None = None  # the checkpoint being written
        self._live_failures = 0  # ends of the current live stream in a row (core/live.py)
        # The /play whose song starts next, and its timeline (`start_times`).
        self._expected_start: tuple[TrackId, start_times.StartTimeline] | None = None

    def start(self) -> None:
        self._spawn(self._play_forever(), "player")
        self._spawn(self._watch_idle(), "idle")
        if self._saver is not None:
            self._spawn(self._checkpoint_forever(), "checkpoint")

    def restore(self, entries: list[QueuedTrack], playback: SavedPlayback | None) -> None:
        """Take back a saved queue; when it was playing, its first entry resumes where it stopped."""
        if playback is not None and entries:
            self.text_channel_id = self.text_channel_id or playback.text_channel_id
            self.queue.current = entries[0]
            self.queue.loop = playback.loop
            self._restart_at = playback.position_s
            entries = entries[1:]
        self.queue.add_many(entries)
        self.enqueued()

    def snapshot(self) -> tuple[list[QueuedTrack], SavedPlayback | None]:
        current = self.queue.current
        entries = [current, *self.queue.upcoming] if current is not None else list(self.queue.upcoming)
        channel = self.voice.channel
        if current is None or channel is None:
            return entries, None
        # Whole seconds: a resume is as good to the ear, and an unchanged snapshot needs no write.
        position = float(int(self.position_s))
        return entries, SavedPlayback(channel.id, position, self.queue.loop, self.text_channel_id)

    async def _checkpoint_forever(self) -> None:
        while True:
            await asyncio.sleep(self._checkpoint_s)
            await self._checkpoint()

    async def _checkpoint(self) -> None:
        snapshot = self.snapshot()
        if snapshot == self._saved or self._saver is None or self._closing:
            return
        # The write runs in a worker thread, which a cancel does not stop: aclose() waits for it
        # so that its own save lands last (else /leave, then /play brought the old song back).
        self._saving = asyncio.ensure_future(self._saver(self.guild_id, *snapshot))
        try:
            await asyncio.shield(self._saving)
        except Exception:  # a full disk must not stop the music; the next tick tries again
            log.warning("guild %s: cannot save the queue", self.guild_id, exc_info=True)
            return
        self._saved = snapshot

    def _spawn(self, work: Coroutine[None, None, None], role: str) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(
            work, name=f"guild-{self.guild_id}-{role}", context=log_context.for_guild(self.guild_id)
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    @property
    def tasks(self) -> frozenset[asyncio.Task[None]]:
        return frozenset(self._tasks)

    @property
    def closed(self) -> bool:
        return self._closing

    @property
    def recovering_voice(self) -> bool:
        """Whether discord.py gave a dropped connection up mid-song and this session connects afresh
        (as opposed to someone disconnecting the bot, which ends the session)."""
        return self._voice_lost

    @property
    def paused(self) -> bool:
        return self._paused_at is not None

    @property
    def station_title(self) -> str | None:
        """What the live stream playing says is on air (its ICY title; untrusted text), if it says."""
        playing = self._playing_source
        inner = playing.source if isinstance(playing, CountedSource) else None
        return inner.station_title if isinstance(inner, LiveSource) else None

    @property
    def left_out_s(self) -> float:
        """How much of the song playing SponsorBlock's cuts leave out (0 while it plays whole)."""
        return sum(cut.length_s for cut in self._playing_cuts) if self.queue.current is not None else 0.0

    @property
    def position_s(self) -> float:
        if self.queue.current is None:
            return 0.0
        now = self._paused_at if self._paused_at is not None else time.monotonic()
        return max(0.0, self._anchor_s + (now - self._started_at) * self._rate)

    def enqueued(self) -> None:
        """New tracks arrived: wake the player if it waits, refresh prefetch."""
        self._stopped = False
        self._autoplay_misses = 0
        self._last_active = time.monotonic()
        self._wakeup.set()
        self._prefetch_soon()

    def expect_start(self, track_id: TrackId, timeline: start_times.StartTimeline) -> None:
        """The song just queued plays next: its start is marked on `timeline`."""
        self._expected_start = (track_id, timeline)

    def skip(self) -> None:
        self._skip_requested = True
        self._end_current()

    def previous(self) -> QueuedTrack | None:
        """Go back to the song played before this one (this one follows it); None when there is none."""
        previous = self.queue.rewind()
        if previous is not None:
            self.skip()
            self.enqueued()  # wakes the player if nothing was playing
        return previous

    def autoplay_now(self) -> None:
        """Let autoplay pick with nothing played yet (a 24/7 channel rejoined after a restart)."""
        self._ran_out = True
        self._wakeup.set()

    def vote_to_skip(self, member_id: int) -> frozenset[int]:
        """Everyone who voted to skip the current song, this member now included."""
        voted_on, voters = self._skip_votes
        if voted_on is not self.queue.current:  # a new song: earlier votes were about another
            voters = set()
            self._skip_votes = (self.queue.current, voters)
        voters.add(member_id)
        return frozenset(voters)

    def stop(self) -> None:
        self._stopped = True
        self.queue.stop()
        self._skip_requested = True
        self._end_current()

    def pause(self) -> None:
        if self._paused_at is None and self.voice.is_playing():
            self.voice.pause()
            self._paused_at = time.monotonic()

    def resume(self) -> None:
        if self._paused_at is not None:
            self._started_at += time.monotonic() - self._paused_at
            self._paused_at = None
            self.voice.resume()

    def seek(self, position_s: float) -> None:
        """Restart the current track at `position_s` (the audio source cannot jump, a new one can)."""
        self._restart_at = position_s
        self._end_current()

    def set_volume(self, volume: int) -> None:
        self.volume = volume
        if self.queue.current is not None:
            self.seek(self.position_s)

    def refilter(self) -> None:
        """The guild's /filter changed: the song playing goes on from the position heard, through the
        new filter (or none: a cached song is then sent as it is again)."""
        current = self.queue.current
        if current is not None and not current.track.live:
            self.seek(self.position_s)
        elif self._audio_filter() is None and self._filter_slots is not None:
            self._filter_slots.give_back(self.guild_id)

    def _end_current(self) -> None:
        if self._paused_at is not None:
            self._paused_at = None
        if self.voice.is_playing() or self.voice.is_paused():
            self.voice.stop()  # the player's `after` callback sets _track_done
        else:
            self._track_done.set()

    async def _play_forever(self) -> None:
        while not self._closing:
            entry = self._next_entry()
            if entry is None:
                self._wakeup.clear()
                if await self._autoplayed():
                    continue
                await self._wakeup.wait()
                continue
            start_s = self._restart_at or 0.0
            self._restart_at = None
            await self._play(entry, start_s)

    async def _autoplayed(self) -> bool:
        """Queue autoplay's pick when the queue ran out; False when there is none (or it is off)."""
        if not self._ran_out or self._next_when_empty is None or self._stopped:
            return False
        if self._autoplay_misses >= AUTOPLAY_MISSES:
            return False
        self._ran_out = False
        self._autoplay_misses += 1
        picked = await self._next_when_empty(self.guild_id)
        if picked is None or self.queue.current is not None or len(self.queue):
            return False
        self.queue.add(picked)
        self._prefetch_soon()
        return True

    def _next_entry(self) -> QueuedTrack | None:
        if self._restart_at is not None and self.queue.current is not None:
            return self.queue.current
        skipped, self._skip_requested = self._skip_requested, False
        had_one = self.queue.current is not None
        self._live_failures = 0
        entry = self.queue.advance(skipped=skipped)
        if had_one and entry is None:
            self._ran_out = True
        self._prefetch_soon()
        return entry

    async def _play(self, entry: QueuedTrack, start_s: float) -> None:
        # A fresh event per song: the `after` callback of the song before, which discord.py's player
        # thread may deliver late, can then only end that song, never this one.
        self._track_done = asyncio.Event()
        expected, self._expected_start = self._expected_start, None
        timeline = expected[1] if expected is not None and expected[0] == entry.track.id else None
        marking = start_times.current.set(timeline)
        try:
            applied = self._filter_for(entry.track)
            prepared = await self._prepare(entry, start_s, applied)
            if prepared is None and entry.track.live and not self._asked():
                await self._after_live_end(entry, heard_s=0.0)
            if prepared is None:
                return
            source = CountedSource(prepared, start_s, timeline, audio_filter=applied)
            try:
                started = await self._start(entry, source, start_s)
            except BaseException:
                source.cleanup()  # cancelled (a leave) before the player took it: reap its ffmpeg child now
                raise
        finally:
            start_times.current.reset(marking)
        if not started:
            source.cleanup()
            return
        await self._track_done.wait()
        self.playing_filter = None
        self._last_active = time.monotonic()
        if self._cut_off_by_lost_voice(entry, source):
            self._voice_lost = True
            self._restart_at = source.position_s
            log.warning(
                "guild %s: voice lost at %.1f s; the song resumes there", self.guild_id, source.position_s
            )
            return
        if entry.track.live and not self._asked() and self.voice.is_connected():
            await self._after_live_end(entry, heard_s=source.frames * FRAME_S)
            return
        self._media_urls.pop(entry.track.id, None)
        self._cuts.pop(entry.track.id, None)
        if self._played_nothing(source):
            self._on_unplayable(self, entry, NoAudio())

    def _asked(self) -> bool:
        """Whether the song is ending because someone acted (skip, seek, stop, leave)."""
        return self._skip_requested or self._restart_at is not None or self._closing

    def _played_nothing(self, source: CountedSource) -> bool:
        """The song ended by itself without a frame: the members heard nothing and should be told."""
        return source.frames == 0 and not self._asked() and self.voice.is_connected()

    async def _after_live_end(self, entry: QueuedTrack, *, heard_s: float) -> None:
        """A live stream ended by itself: dropped, so tried again after a backoff, or dead, so the
        members are told and the queue moves on."""
        verdict = after_end(heard_s, self._live_failures, random.random())
        self._live_failures = verdict.failures
        if verdict.retry_in_s is None:
            self._media_urls.pop(entry.track.id, None)
            self._cuts.pop(entry.track.id, None)
            self._on_unplayable(self, entry, OffAir())
            # Moved on as a skip would: with loop track on, a dead station is not tried (and told)
            # again and again.
            self._skip_requested = True
            return
        log.info(
            "guild %s: %s ended after %.1f s; trying again in %.1f s (failure %d)",
            self.guild_id, entry.track.id, heard_s, verdict.retry_in_s, verdict.failures,
        )  # fmt: skip
        await asyncio.sleep(verdict.retry_in_s)
        if not self._asked() and self.queue.current is entry:  # nobody skipped or stopped meanwhile
            self._restart_at = 0.0

    def _cut_off_by_lost_voice(self, entry: QueuedTrack, source: CountedSource) -> bool:
        """The song ended because the connection failed, not because it ran out, someone acted or
        someone disconnected the bot."""
        asked = self._asked()
        starved = time.monotonic() - source.last_read_at >= STARVED_S
        return not asked and starved and self.queue.current is entry and not self.voice.is_connected()

    def _filter_for(self, track: Track) -> AudioFilter | None:
        """The filter this song plays with: the guild's, if the box has a slot for one more filtered
        stream (and the song is not live)."""
        wanted = self._audio_filter()
        if wanted is None:
            if self._filter_slots is not None:
                self._filter_slots.give_back(self.guild_id)
            return None
        if track.live:
            return None
        if self._filter_slots is None or self._filter_slots.take(self.guild_id):
            self._filter_refusal_told = False
            return wanted
        if not self._filter_refusal_told and self._on_filter_refused is not None:
            self._filter_refusal_told = True
            self._on_filter_refused(self)
        return None

    async def _prepare(
        self, entry: QueuedTrack, start_s: float, audio_filter: AudioFilter | None
    ) -> discord.AudioSource | None:
        asking = self._ask_cuts(entry.track)
        try:
            url = await self._media_url(entry.track)
            cuts = await self._cuts_for(entry.track, asking, SKIPS_GRACE_S)
            self._playing_cuts = cuts or ()
            track = entry.track
            return await self._audio.source(
                track.id,
                url,
                start_s=start_s,
                volume=self.volume,
                duration_s=track.duration_s,
                normalised=self._loudness(),
                audio_filter=audio_filter,
                cuts=cuts,
            )
        except asyncio.CancelledError:
            raise
        except Exception as error:
            if entry.track.live:
                # Tried again at the address found (a dead station's retries ask no resolver), and
                # told only if it stays dead (_after_live_end).
                log.info("guild %s: cannot open %s: %s", self.guild_id, entry.track.id, error)
                return None
            self._media_urls.pop(entry.track.id, None)
            self._cuts.pop(entry.track.id, None)
            self._on_unplayable(self, entry, error)
            return None

    async def _start(self, entry: QueuedTrack, source: CountedSource, start_s: float) -> bool:
        """Hand `source` to the voice player once voice is up; False when it must not play after all."""
        loop = asyncio.get_running_loop()
        done, guild_id, track_id = self._track_done, self.guild_id, entry.track.id

        # Holds no reference to the session: discord.py's player thread keeps this callback while it
        # sits out a reconnect wait, which may outlast the session's /leave by many seconds.
        def finished(error: Exception | None) -> None:
            if error is not None:
                log.warning("guild %s: playback of %s ended with %r", guild_id, track_id, error)
            with contextlib.suppress(RuntimeError):  # the loop is gone: the bot is shutting down
                loop.call_soon_threadsafe(done.set)

        if not self.voice.is_connected():
            try:
                await self._wait_for_voice()
            except TimeoutError:
                log.warning("guild %s: voice did not come back; leaving", self.guild_id)
                self._restart_at = start_s
                await self.aclose(keep_queue=True)
                return False
        if self._track_done.is_set():  # skipped, sought or stopped while the audio was being prepared
            return False
        self._started_at = time.monotonic()
        self._anchor_s = start_s
        self._rate = source.rate
        self.playing_filter = source.audio_filter
        self._last_active = time.monotonic()
        try:
            self.voice.play(source, after=finished)
        except discord.ClientException as refused:
            log.warning("guild %s: voice not ready for %s: %s", self.guild_id, entry.track.id, refused)
            return False
        self._playing_source = source
        self._autoplay_misses = 0
        if start_s == 0.0 and self._on_started is not None:
            self._spawn(self._on_started(self.guild_id, entry), "started")
        return True

    async def _wait_for_voice(self) -> None:
        # discord.py reconnects a dropped voice connection by itself and signals it with no event we
        # can await, so poll (bounded) before playing; once it has given the connection up (the
        # guild has no voice client any more), connect afresh.
        async with asyncio.timeout(30):
            while not self.voice.is_connected():
                if self._rejoin is not None and self._voice_lost and self.voice.guild.voice_client is None:
                    await self._rejoin_channel(self._rejoin)
                    continue
                await asyncio.sleep(0.2)
        self._voice_lost = False

    async def _rejoin_channel(self, rejoin: Rejoin) -> None:
        try:
            self.voice = await rejoin(self.voice.channel)
            log.info("guild %s: voice connected again", self.guild_id)
        except (discord.ClientException, TimeoutError, OSError) as failed:
            log.warning("guild %s: could not connect to voice again: %s", self.guild_id, failed)
            await asyncio.sleep(2.0)

    async def _media_url(self, track: Track) -> str:
        url = self._media_urls.get(track.id)
        if url is None:
            url = await self._locator.media_url(track)
            self._media_urls[track.id] = url
        return url

    def _ask_cuts(self, track: Track) -> asyncio.Task[None] | None:
        """Begin asking what to leave out of `track` (one lookup per track, owned by the session)."""
        if track.live or track.id in self._cuts or self._closing:
            return None
        asking = self._asking.get(track.id)
        if asking is None:
            asking = self._spawn(self._learn_cuts(track), "cuts")
            self._asking[track.id] = asking
            asking.add_done_callback(lambda _: self._asking.pop(track.id, None))
        return asking

    async def _cuts_for(self, track: Track, asking: asyncio.Task[None] | None, wait_s: float) -> Cuts | None:
        """The cuts of `track` once `asking` ended or `wait_s` passed; None: not known (yet)."""
        if asking is not None:
            await asyncio.wait({asking}, timeout=wait_s)
        return () if track.live else self._cuts.get(track.id)

    async def _learn_cuts(self, track: Track) -> None:
        try:
            async with asyncio.timeout(SKIPS_WAIT_S):
                cuts = await self._skips(track)
        except TimeoutError:
            log.info("guild %s: no cuts for %s in time; it plays whole", self.guild_id, track.id)
            return
        except Exception:  # whatever went wrong asking, the song is not held up by it
            log.warning("guild %s: cannot ask what to cut of %s", self.guild_id, track.id, exc_info=True)
            return
        if cuts is not None:
            self._cuts[track.id] = cuts

    def _prefetch_soon(self) -> None:
        wanted = [e.track for e in self.queue.peek(PREFETCH_DEPTH) if e.track.id not in self._media_urls]
        if wanted and not self._closing and not any(t.get_name().endswith("prefetch") for t in self._tasks):
            self._spawn(self._prefetch(wanted), "prefetch")

    async def _prefetch(self, tracks: list[Track]) -> None:
        for position, track in enumerate(tracks):
            asking = self._ask_cuts(track)  # beside the URL, as _prepare does
            with contextlib.suppress(Exception):
                url = await self._media_url(track)
                # Not urgent: the fill waits for the answer (bounded), so it is cut as it is written.
                cuts = await self._cuts_for(track, asking, SKIPS_WAIT_S)
                if position < self._audio_prefetch:
                    await self._audio.prefetch(track.id, url, track.duration_s, cuts)

    async def _watch_idle(self) -> None:
        interval = max(0.05, min(5.0, self._idle_timeout_s / 4))
        while True:
            await asyncio.sleep(interval)
            # A song under way counts while it is still being prepared or waits for voice: a seek
            # far into a long song, or a slow host, is something a member asked for, not idleness.
            if self.queue.current is not None and self._listeners() > 0:
                self._last_active = time.monotonic()
            if self._stays is not None and self._stays(self.guild_id):
                self._last_active = time.monotonic()
            if time.monotonic() - self._last_active >= self._idle_timeout_s:
                log.info("guild %s: leaving after %.0f s idle or alone", self.guild_id, self._idle_timeout_s)
                await self.aclose()
                return

    def _listeners(self) -> int:
        channel = self.voice.channel
        members = getattr(channel, "members", [])
        return sum(1 for member in members if not member.bot)

    async def aclose(self, *, keep_queue: bool = False) -> None:
        """Release everything the guild held. `keep_queue` saves the queue and position for the next
        start or /play (shutdown, lost voice); otherwise the saved copy goes too (/leave, idle)."""
        if self._closing:
            return
        self._closing = True
        self._on_closed(self)
        if self._saver is not None:
            entries, playback = self.snapshot() if keep_queue else ([], None)
            if self._saving is not None:
                await asyncio.gather(self._saving, return_exceptions=True)
            with contextlib.suppress(Exception):
                await self._saver(self.guild_id, entries, playback)
        self.queue.stop()
        if self._filter_slots is not None:
            self._filter_slots.give_back(self.guild_id)
        if self.voice.is_playing() or self.voice.is_paused():
            self.voice.stop()
        # The idle watch closes its own session: it must not cancel and await itself.
        tasks = [task for task in self._tasks if task is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._playing_source is not None:
            # discord.py's player thread may sit out its reconnect wait (the connect timeout) before
            # it cleans up; reap the ffmpeg child now. A second cleanup by the thread is a no-op.
            await asyncio.to_thread(self._playing_source.cleanup)
            self._playing_source = None
        self._media_urls.clear()
        self._cuts.clear()
        # Last, as it may wait: discord.py waits for Discord to confirm the leave, which never comes
        # where the bot was removed from the server.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.voice.disconnect(force=True), timeout=5)
        self.voice.cleanup()


class Sessions:
    """Every active guild session. The bot holds exactly one."""

    def __init__(self, *, max_guilds: int, max_filtered: int = DEFAULT_MAX_FILTERED) -> None:
        self.max_guilds = max_guilds  # 0: no cap
        self.filter_slots = FilterSlots(max_filtered)
        self._by_guild: dict[int, GuildSession] = {}

    def get(self, guild_id: int) -> GuildSession | None:
        return self._by_guild.get(guild_id)

    def __len__(self) -> int:
        return len(self._by_guild)

    @property
    def guild_ids(self) -> frozenset[int]:
        return frozenset(self._by_guild)

    def has_room(self) -> bool:
        return self.max_guilds <= 0 or len(self._by_guild) < self.max_guilds

    def queued_keys(self) -> set[str]:
        """Every song playing or waiting in any guild: what the audio cache must not evict."""
        return {str(track_id) for session in self._by_guild.values() for track_id in session.queue.ids()}

    def add(self, session: GuildSession) -> None:
        if not self.has_room():
            raise SessionCapReached
        self._by_guild[session.guild_id] = session
        session.start()

    def forget(self, session: GuildSession) -> None:
        if self._by_guild.get(session.guild_id) is session:
            del self._by_guild[session.guild_id]

    async def close(self, guild_id: int) -> None:
        session = self._by_guild.get(guild_id)
        if session is not None:
            await session.aclose()

    async def aclose(self) -> None:
        """Shutdown: every session closes and keeps its queue for the next start."""
        sessions = list(self._by_guild.values())
        await asyncio.gather(*(s.aclose(keep_queue=True) for s in sessions), return_exceptions=True)
