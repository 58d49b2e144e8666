"""The discord.py client: owns the guild sessions, syncs commands, turns stray errors into one line."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import random
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
import discord
from discord import app_commands
from discord.ext import commands

from musicbox import log_context
from musicbox.bot import text
from musicbox.bot.cogs.library import LibraryCog
from musicbox.bot.cogs.listening import ListeningCog
from musicbox.bot.cogs.lyrics import LyricsCog
from musicbox.bot.cogs.play import PlayCog
from musicbox.bot.cogs.playing import PlayingCog
from musicbox.bot.cogs.queue import QueueCog
from musicbox.bot.cogs.radio import RadioCog
from musicbox.bot.cogs.settings import SettingsCog
from musicbox.bot.cogs.sound import SoundCog
from musicbox.bot.enqueueing import Enqueuer
from musicbox.bot.options import MemberMistake
from musicbox.bot.replies import RepliesInFlight, send_error
from musicbox.bot.sources import QueryFailed, TrackSource
from musicbox.bot.views import NowControl
from musicbox.core.autoplay import Heard, choose_next
from musicbox.core.config import Config
from musicbox.core.filters import AudioFilter, stored_filter
from musicbox.core.gateway_budget import GatewayBudget, next_join_at
from musicbox.core.queue import QueuedTrack
from musicbox.core.shards import ShardPlan, shard_of
from musicbox.core.sponsorblock import DEFAULT_CATEGORIES, Cuts
from musicbox.core.track import Track
from musicbox.playback.session import (
    AudioProvider,
    CalledOffBy,
    GuildSession,
    JoinCancelled,
    NoAudio,
    SessionCapReached,
    Sessions,
)
from musicbox.playback.voice_recovery import RecoveringVoiceClient
from musicbox.service.metrics import Metrics
from musicbox.sources.lrclib import Lrclib
from musicbox.sources.radio import RadioDirectory
from musicbox.sources.sponsorblock import SponsorBlock
from musicbox.start_times import StartTimes
from musicbox.store.favorites import FavoriteStore
from musicbox.store.history import HistoryStore, Played
from musicbox.store.playlists import PlaylistStore
from musicbox.store.queues import QueueStore, SavedPlayback
from musicbox.store.settings import SettingsStore
from musicbox.store.sql import FAILURES

log = logging.getLogger(__name__)

# Told how many seconds a voice join waits for the gateway budget.
JoinWait = Callable[[float], Awaitable[None]]
RECEIVED = "musicbox.received"  # Interaction.extras key: when the bot got it (time.monotonic())


# A server that removes the bot may add it back (a kick by mistake, a moderator trying things): its
# queue is kept this long, in memory only, and waits for the next /play there if the bot is back in
# time. Longer would keep a server's data after its owner sent the bot away; a restart forgets it.
REMOVED_QUEUE_KEEP_S = 3600.0


@dataclass(slots=True)
class PendingJoin:
    channel: discord.VoiceChannel | discord.StageChannel
    task: asyncio.Task[GuildSession]
    called_off_by: CalledOffBy = "leave"


# A connection takes a second or two; this bounds a join, and discord.py's reconnect after a dropped
# voice connection, before the session gives up on it and connects afresh.
VOICE_CONNECT_TIMEOUT_S = 10.0
# A voice join is a gateway request (op 4). One made while the gateway is down is lost (discord.py
# drops it, or raises ConnectionResetError) and its answer never comes; so a join waits this long at
# most for the gateway to be back, and one the gateway dropped under is made again after the resume.
GATEWAY_WAIT_S = 30.0
JOIN_ATTEMPTS = 3
# At stop, replies under way (an edit after a lookup, a button's answer) get this long to reach
# their member before they are cancelled; a /play still resolving is not waited out.
REPLY_GRACE_S = 2.0
# At stop, discord.py's player threads get this long in all to end while the loop still runs.
PLAYERS_END_S = 2.0
# Autoplay draws on this many of a server's latest hearings: weeks of listening, read in milliseconds.
AUTOPLAY_HISTORY = 500


class MusicBot(commands.Bot):
    def __init__(
        self,
        config: Config,
        *,
        sources: TrackSource,
        audio: AudioProvider,
        settings: SettingsStore,
        queues: QueueStore,
        playlists: PlaylistStore,
        history: HistoryStore,
        favorites: FavoriteStore,
        sessions: Sessions,
        metrics: Metrics,
        connector: aiohttp.BaseConnector | None = None,
        radio: RadioDirectory | None = None,
        lyrics: Lrclib | None = None,
        sponsorblock: SponsorBlock | None = None,
        shards: ShardPlan | None = None,
    ) -> None:
        """`shards` is for ShardedMusicBot, the one class that runs them."""
        intents = discord.Intents.none()
        intents.guilds = True
        intents.voice_states = True
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            connector=connector,
            tree_cls=MusicTree,
            # Titles and names are untrusted text: whatever escaping misses, no message of the bot
            # notifies anyone (the requester's mention in /now shows, and pings nobody).
            allowed_mentions=discord.AllowedMentions.none(),
            shard_count=None if shards is None else shards.count,
        )
        self.config = config
        self.shard_plan = shards
        self.sources = sources
        self.audio = audio
        self.settings = settings
        self.queues = queues
        self.playlists = playlists
        self.history = history
        self.favorites = favorites
        self.sessions = sessions
        self.metrics = metrics
        metrics.watch(self)
        self._joining: dict[int, PendingJoin] = {}
        # Channels whose join waits its turn in the gateway budget (not yet sent).
        self._waiting_turn: set[discord.abc.Connectable] = set()
        self.replies = RepliesInFlight()
        # What `musicbox bench` reads of the last songs' starts; the web page graphs their ends.
        self.start_times = StartTimes(on_first_audio=metrics.first_audio_seconds.observe)
        self._enqueuer = Enqueuer(self)  # shared by every cog that adds music
        self._playing = PlayingCog(self)  # answers /now's buttons
        self._listening = ListeningCog(self, self._enqueuer)  # answers /now's ❤
        self._radio = radio  # the station directory, when the owner's config has one
        self._lyrics = lyrics  # LRCLIB, likewise
        self._sponsorblock = sponsorblock  # SponsorBlock, likewise
        self._resumed_saved = False
        self.stopping = False  # close() has begun: no new voice join, a /play cut off says why
        self._gateway_up = asyncio.Event()
        # What the bot allows itself on the gateway, and when it sent (or will send) each voice join
        # and leave: joins are paced by it.
        self.gateway_budget = GatewayBudget()
        self._gateway_sends: collections.deque[float] = collections.deque()
        self._gateway_lost = asyncio.Event()  # a fresh one per connection, set when it drops
        # Queues of servers that removed the bot: (when, entries), until REMOVED_QUEUE_KEEP_S passes.
        self._removed_queues: dict[int, tuple[float, list[QueuedTrack]]] = {}

    async def add_commands(self) -> None:
        """Every cog of slash commands, one line each."""
        await self.add_cog(PlayCog(self, self._enqueuer))
        await self.add_cog(self._playing)
        await self.add_cog(QueueCog(self))
        await self.add_cog(SettingsCog(self))
        await self.add_cog(LibraryCog(self, self._enqueuer))
        await self.add_cog(self._listening)
        await self.add_cog(SoundCog(self))
        if self._radio is not None:
            await self.add_cog(RadioCog(self, self._enqueuer, self._radio))
        if self._lyrics is not None:
            await self.add_cog(LyricsCog(self, self._lyrics))

    async def setup_hook(self) -> None:
        await self.add_commands()
        self.add_dynamic_items(NowControl)
        guild_id = self.config.discord.dev_guild_id
        if guild_id:
            guild = discord.Object(id=guild_id)
            self.tree.copy_global_to(guild=guild)
            await self.tree.sync(guild=guild)
        else:
            await self.tree.sync()

    async def join(
        self, channel: discord.VoiceChannel | discord.StageChannel, *, on_wait: JoinWait | None = None
    ) -> GuildSession:
        """The guild's session, connecting to `channel` if none exists. Concurrent /play commands of
        one guild share one connection attempt. `on_wait(seconds)` is told when the join must wait
        for the gateway budget (the first /play's, when several share the attempt)."""
        existing = self.sessions.get(channel.guild.id)
        if existing is not None:
            return existing
        if self.stopping:
            raise JoinCancelled("stopping")
        if self.get_guild(channel.guild.id) is None:  # removed from the server while the /play resolved
            raise JoinCancelled("removed")
        pending = self._joining.get(channel.guild.id)
        if pending is None:
            task = asyncio.get_running_loop().create_task(self._connect(channel, on_wait))
            pending = PendingJoin(channel, task)
            self._joining[channel.guild.id] = pending
            task.add_done_callback(lambda _: self._forget_join(pending))
        try:
            return await asyncio.shield(pending.task)
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if pending.task.cancelled() and (current is None or not current.cancelling()):
                raise JoinCancelled(pending.called_off_by) from None  # not this waiter cancelled
            raise

    def joining(self, guild_id: int) -> discord.VoiceChannel | discord.StageChannel | None:
        """The channel a /play waits to join, while the join waits its turn in the gateway budget."""
        pending = self._joining.get(guild_id)
        return pending.channel if pending is not None and pending.channel in self._waiting_turn else None

    def call_off_join(self, guild_id: int, by: CalledOffBy) -> None:
        """Call off the guild's join if it still waits its turn (one being sent finishes: cancelled
        mid-handshake, discord.py would go on with it unowned); every /play waiting on it raises
        JoinCancelled."""
        pending = self._joining.get(guild_id)
        if pending is not None and pending.channel in self._waiting_turn:
            self._cancel_join(pending, by)

    def _cancel_join(self, pending: PendingJoin, by: CalledOffBy) -> None:
        self._forget_join(pending)
        pending.called_off_by = by
        pending.task.cancel()

    def _forget_join(self, pending: PendingJoin) -> None:
        if self._joining.get(pending.channel.guild.id) is pending:
            del self._joining[pending.channel.guild.id]

    async def _connect(
        self, channel: discord.VoiceChannel | discord.StageChannel, on_wait: JoinWait | None
    ) -> GuildSession:
        stale = channel.guild.voice_client
        if stale is not None:
            self._gateway_sent()
            await stale.disconnect(force=True)
        voice = await self._voice_connect(channel, on_wait)
        settings = self.settings.cached(channel.guild.id)
        if settings is None:
            settings = await asyncio.to_thread(self.settings.get, channel.guild.id)
        session = GuildSession(
            channel.guild.id,
            voice,
            audio=self.audio,
            locator=self.sources,
            volume=settings.default_volume,
            idle_timeout_s=self.config.playback.idle_timeout_s,
            on_closed=self._session_closed,
            saver=self._save_queue,
            rejoin=self._voice_connect,
            on_unplayable=self._track_unplayable,
            on_started=self._song_started,
            next_when_empty=self._autoplay_pick,
            stays=self.stays_always,
            audio_prefetch=max(0, self.config.cache.prefetch_depth),
            loudness=lambda: self._loudness_on(channel.guild.id),
            audio_filter=lambda: self.audio_filter_of(channel.guild.id),
            filter_slots=self.sessions.filter_slots,
            on_filter_refused=lambda refused: self.announce(refused, text.FILTERS_BUSY_UNFILTERED),
            skips=lambda track: self._skips(channel.guild.id, track),
        )
        try:
            self.sessions.add(session)
        except SessionCapReached:
            await voice.disconnect(force=True)
            raise
        entries, playback = await asyncio.to_thread(self.queues.take, channel.guild.id)
        if entries:
            session.restore(entries, playback)
        return session

    async def _voice_connect(
        self, channel: discord.abc.Connectable, on_wait: JoinWait | None = None
    ) -> discord.VoiceClient:
        for _ in range(JOIN_ATTEMPTS):
            async with asyncio.timeout(GATEWAY_WAIT_S):
                await self._gateway_up.wait()
            await self._within_gateway_budget(channel, on_wait)
            voice = await self._connect_unless_dropped(channel)
            if voice is not None:
                return voice
            log.info("the gateway dropped during a voice join; joining again once it is back")
        raise TimeoutError(f"the gateway dropped during {JOIN_ATTEMPTS} voice joins in a row")

    async def _within_gateway_budget(
        self, channel: discord.abc.Connectable, on_wait: JoinWait | None
    ) -> None:
        """Book this join's gateway send and wait for its turn (see core/gateway_budget.py)."""
        now = self._forget_old_sends()
        at = next_join_at(
            self._gateway_sends,
            now,
            open_sessions=len(self.sessions) + len(self._joining),
            budget=self.gateway_budget,
        )
        self._gateway_sends.append(at)
        if at <= now:
            return
        log.info("voice join paced: %.1f s until the gateway budget has room", at - now)
        self._waiting_turn.add(channel)
        try:
            if on_wait is not None:
                with contextlib.suppress(discord.HTTPException):
                    await on_wait(at - now)
            await asyncio.sleep(at - time.monotonic())
        except asyncio.CancelledError:
            self._gateway_sends.remove(at)  # called off: never sent, so it leaves room for others
            raise
        finally:
            self._waiting_turn.discard(channel)

    def _gateway_sent(self) -> None:
        """A voice leave went out (or is about to): it counts against the gateway budget."""
        now = self._forget_old_sends()
        last = self._gateway_sends[-1] if self._gateway_sends else now
        self._gateway_sends.append(max(now, last))  # in order; a little late is on the safe side

    def _forget_old_sends(self) -> float:
        now = time.monotonic()
        while self._gateway_sends and self._gateway_sends[0] <= now - self.gateway_budget.window_s:
            self._gateway_sends.popleft()
        return now

    def _loudness_on(self, guild_id: int) -> bool:
        settings = self.settings.cached(guild_id)
        return settings is None or settings.loudness

    def audio_filter_of(self, guild_id: int) -> AudioFilter | None:
        """The server's /filter (read from memory: every session's settings are loaded when it starts)."""
        settings = self.settings.cached(guild_id)
        return stored_filter(settings.audio_filter) if settings is not None else None

    async def _skips(self, guild_id: int, track: Track) -> Cuts | None:
        """What this server leaves out of `track`: SponsorBlock's segments in its categories."""
        settings = self.settings.cached(guild_id)
        categories = settings.skip_categories if settings is not None else DEFAULT_CATEGORIES
        if self._sponsorblock is None:
            return ()
        return await self._sponsorblock.cuts(track, categories)

    def _track_unplayable(self, session: GuildSession, entry: QueuedTrack, error: Exception) -> None:
        """A queued song could not be played and the player went on: say so where /play was used, or
        the members hear the next song with no idea why theirs never came."""
        if isinstance(error, QueryFailed | NoAudio):  # refused or gone: nothing for the owner to debug
            log.warning("guild %s: cannot play %s: %s", session.guild_id, entry.track.id, error.reason)
            said = text.unplayable(entry.track, error.reason)
        else:
            log.warning("guild %s: cannot play %s", session.guild_id, entry.track.id, exc_info=error)
            said = text.unplayable(entry.track, None)
        self.announce(session, said)

    def announce(self, session: GuildSession, message: str) -> None:
        """Say in the session's text channel (where /play was last used) what nobody asked about."""
        channel = self.get_channel(session.text_channel_id) if session.text_channel_id else None
        if isinstance(channel, discord.abc.Messageable):
            self.replies.spawn(self._say(channel, message), name=f"announce-{session.guild_id}")

    async def _song_started(self, guild_id: int, entry: QueuedTrack) -> None:
        played = Played(entry.track, entry.requester_id, time.time())
        try:
            await asyncio.to_thread(self.history.record, guild_id, played)
        except FAILURES:  # a full disk, a server away: the music goes on, this song is missing from /history
            log.warning("guild %s: cannot record %s in the history", guild_id, entry.track.id, exc_info=True)

    async def _autoplay_pick(self, guild_id: int) -> QueuedTrack | None:
        """The queue ran out: with autoplay on, a song from the server's history and favourites."""
        settings = await asyncio.to_thread(self.settings.get, guild_id)
        if not settings.autoplay:
            return None
        heard, liked = await asyncio.to_thread(self._autoplay_candidates, guild_id)
        picked = choose_next(heard, liked, now=time.time(), draw=random.random())
        if picked is None:
            log.info("guild %s: autoplay has nothing it did not play lately", guild_id)
            return None
        return QueuedTrack(picked, requester_id=self.user.id if self.user else 0)

    def _autoplay_candidates(self, guild_id: int) -> tuple[list[Heard], list[Heard]]:
        played = self.history.recent(guild_id, AUTOPLAY_HISTORY)
        heard = [Heard(p.track, p.played_at) for p in played]
        # "Its members": whoever asked for a song here; the bot itself is not a member with taste.
        members = {p.requester_id for p in played} - {self.user.id if self.user else 0}
        liked = [Heard(track, at) for track, at in self.favorites.liked_by_any(members)]
        return heard, liked

    def stays_always(self, guild_id: int) -> bool:
        """24/7: the guild's session never leaves of its own accord."""
        settings = self.settings.cached(guild_id)
        return settings is not None and settings.always_in_channel_id != 0

    async def _say(self, channel: discord.abc.Messageable, message: str) -> None:
        try:
            await channel.send(message)
        except discord.HTTPException:  # no Send Messages there any more: the caller's log line stands
            log.info("could not tell channel %s: %s", getattr(channel, "id", "?"), message, exc_info=True)

    def _session_closed(self, session: GuildSession) -> None:
        self.sessions.forget(session)
        self._gateway_sent()  # its voice leave

    async def _connect_unless_dropped(self, channel: discord.abc.Connectable) -> discord.VoiceClient | None:
        """The connection; None when the gateway dropped meanwhile (the attempt is undone)."""
        lost = self._gateway_lost
        connecting: asyncio.Task[discord.VoiceClient] = asyncio.ensure_future(
            channel.connect(self_deaf=True, timeout=VOICE_CONNECT_TIMEOUT_S, cls=RecoveringVoiceClient)
        )
        dropped = asyncio.ensure_future(lost.wait())
        try:
            await asyncio.wait({connecting, dropped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            dropped.cancel()
            connecting.cancel()  # a no-op once it is done
            await asyncio.gather(connecting, dropped, return_exceptions=True)
        failure = None if connecting.cancelled() else connecting.exception()
        if not connecting.cancelled() and failure is None:
            return connecting.result()
        if not lost.is_set() and not isinstance(failure, ConnectionError):
            assert failure is not None
            raise failure
        # Cancelled mid-handshake, discord.py keeps the client registered: a new join would be
        # refused as "already connected". Nothing reached voice, so forgetting it is enough.
        stale = channel.guild.voice_client if isinstance(channel, discord.abc.GuildChannel) else None
        if stale is not None:
            stale.cleanup()
        return None

    async def on_connect(self) -> None:
        self._gateway_lost = asyncio.Event()
        self._gateway_up.set()

    async def on_resumed(self) -> None:
        await self.on_connect()

    async def on_disconnect(self) -> None:
        self._gateway_up.clear()
        self._gateway_lost.set()

    async def _save_queue(
        self, guild_id: int, entries: list[QueuedTrack], playback: SavedPlayback | None
    ) -> None:
        await asyncio.to_thread(self.queues.save, guild_id, entries, playback)

    async def on_ready(self) -> None:
        if self._resumed_saved:
            return  # READY again after a lost session: the sessions that exist carry on
        self._resumed_saved = True
        # Every stored setting in memory: commands check their channel from the cache, before any await.
        await asyncio.to_thread(self.settings.load_all)
        saved = await asyncio.to_thread(self.queues.resumable)
        for guild_id, playback in saved.items():
            channel = self.get_channel(playback.voice_channel_id)
            if not isinstance(channel, discord.VoiceChannel) or channel.guild.id != guild_id:
                continue
            if not any(not member.bot for member in channel.members):
                continue  # nobody to play to: the queue waits for the guild's next /play
            try:
                await self.join(channel)
            except Exception:
                log.warning("guild %s: could not resume playback after the restart", guild_id, exc_info=True)
        await self._rejoin_always_in()

    async def _rejoin_always_in(self) -> None:
        """24/7 servers: back in their channel after any restart (a SIGKILL too: the setting is stored
        when it is made), listeners or not, and autoplay goes on if it is on."""
        for guild_id, channel_id in (await asyncio.to_thread(self.settings.always_in)).items():
            if not self.owns(guild_id):
                continue  # another process's shard: that process rejoins it
            channel = self.get_channel(channel_id)
            if not isinstance(channel, discord.VoiceChannel) or channel.guild.id != guild_id:
                log.warning("guild %s: its 24/7 voice channel is gone; not rejoining", guild_id)
                continue
            await asyncio.to_thread(self.settings.get, guild_id)  # cached: the idle watch asks it
            try:
                session = await self.join(channel)
            except Exception:
                log.warning("guild %s: could not rejoin its 24/7 channel", guild_id, exc_info=True)
                continue
            if session.queue.current is None and not len(session.queue):
                session.autoplay_now()  # autoplay, if on, picks the first song

    def owns(self, guild_id: int) -> bool:
        """Whether this process's shards receive the guild's events (every guild, unsharded)."""
        plan = self.shard_plan
        return plan is None or plan.count is None or shard_of(guild_id, plan.count) in plan.ids

    async def on_guild_remove(self, guild: discord.Guild) -> None:
        """Removed from a server (kicked, banned, or the server deleted): Discord closes the voice
        connection but says nothing more, so release the session, its tasks and its audio now rather
        than when voice times out."""
        pending = self._joining.get(guild.id)
        if pending is not None:
            self._cancel_join(pending, "removed")
        session = self.sessions.get(guild.id)
        if session is not None:
            entries, _ = session.snapshot()
            await session.aclose()  # also deletes the stored copy: nothing of it outlives the hour
        else:
            entries, _ = await asyncio.to_thread(self.queues.take, guild.id)
        self._forget_old_removals()
        if entries:
            self._removed_queues[guild.id] = (time.monotonic(), entries)
        log.info(
            "guild %s: removed from the server; released its session, its queue of %d tracks is kept "
            "for %.0f minutes in case the bot is added back",
            guild.id,
            len(entries),
            REMOVED_QUEUE_KEEP_S / 60,
        )

    async def on_guild_join(self, guild: discord.Guild) -> None:
        self._forget_old_removals()
        removed = self._removed_queues.pop(guild.id, None)
        if removed is None:
            return
        entries = removed[1]
        await asyncio.to_thread(self.queues.save, guild.id, entries, None)
        log.info("guild %s: added back; its queue of %d tracks waits for /play", guild.id, len(entries))

    def _forget_old_removals(self) -> None:
        now = time.monotonic()
        for guild_id, (removed_at, _) in list(self._removed_queues.items()):
            if now - removed_at > REMOVED_QUEUE_KEEP_S:
                del self._removed_queues[guild_id]

    async def on_now_control(self, interaction: discord.Interaction, control: str) -> None:
        if control == "like":
            await self._listening.like(interaction)
        else:
            await self._playing.now_button(interaction, control)

    async def close(self) -> None:
        self.stopping = True
        # A /play waiting its turn to join says so within the grace below, not when it is cancelled.
        for guild_id in list(self._joining):
            self.call_off_join(guild_id, "stopping")
        # Every reply is done or cancelled while the HTTP session can still carry it.
        await self.replies.aclose(REPLY_GRACE_S)
        # A discord.py player thread sends a last "not speaking" through the client's loop as it
        # ends; one still ending after super().close() finds no loop and logs a traceback. Its
        # handle is gone once the session disconnects, so it is taken now and waited for below.
        players = [
            voice._player
            for voice in self.voice_clients
            if isinstance(voice, discord.VoiceClient) and voice._player is not None
        ]
        await self.sessions.aclose()
        await self.audio.aclose()
        await asyncio.to_thread(_join_threads, players, PLAYERS_END_S)
        # discord.py's own close leaves the task that announces READY (2 s after the last guild)
        # running: after a stop that soon, it would dispatch on a closed client and fail unseen.
        ready = self._connection._ready_task
        if ready is not None:
            ready.cancel()
            await asyncio.gather(ready, return_exceptions=True)
        await super().close()

    async def on_app_command_completion(
        self,
        interaction: discord.Interaction,
        command: app_commands.Command[Any, ..., Any] | app_commands.ContextMenu,
    ) -> None:
        _observe(self.metrics, interaction, command.name)


class ShardedMusicBot(MusicBot, commands.AutoShardedBot):
    """The bot over a range of shards in one process: discord.py's AutoShardedClient holds one
    gateway connection per shard, and everything above it is MusicBot's. Made only with a
    ShardPlan whose count is known (the AutoShardedClient needs it with explicit shard ids)."""

    async def launch_shards(self) -> None:
        # The ids are set here rather than passed to the constructor, which MusicBot shares with
        # the unsharded client (whose typed options have no shard_ids).
        assert self.shard_plan is not None and self.shard_plan.count is not None
        self.shard_ids = list(self.shard_plan.ids)
        await super().launch_shards()


def _observe(metrics: Metrics, interaction: discord.Interaction, name: str) -> None:
    received = interaction.extras.get(RECEIVED)
    if isinstance(received, float):
        metrics.command_seconds.labels(command=name).observe(time.monotonic() - received)


class MusicTree(app_commands.CommandTree[MusicBot]):
    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        interaction.extras[RECEIVED] = time.monotonic()
        # discord.py runs each slash command in its own task, this check first: the rest of the
        # command, and what it starts, logs with the guild and the command's name.
        log_context.about(interaction.guild_id, interaction.command.name if interaction.command else None)
        self.client.replies.add_current()
        return True

    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        name = interaction.command.name if interaction.command else "?"
        if isinstance(error, MemberMistake):  # the member's doing, not a failure of the bot
            _observe(self.client.metrics, interaction, name)
            await send_error(interaction, str(error))
            return
        log.error("command /%s failed", name, exc_info=error)
        self.client.metrics.errors.labels(kind="command").inc()
        _observe(self.client.metrics, interaction, name)
        await send_error(interaction, text.GENERIC_ERROR)


def _join_threads(threads: Sequence[threading.Thread], within_s: float) -> None:
    deadline = time.monotonic() + within_s
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
