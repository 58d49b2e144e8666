"""Putting songs into a guild's queue for a member: joining their channel, admitting what fits, and
telling them what happened. Shared by every command that adds music (/play, /search's pick,
/playlist load, /favorites play)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import TYPE_CHECKING

import discord

from musicbox import start_times
from musicbox.bot import text
from musicbox.bot.access import VoiceChannel, member_channel, play_refusal
from musicbox.bot.replies import send_error
from musicbox.bot.sources import QueryFailed, UpstreamFault
from musicbox.core.limits import admit, playlist_over_limit
from musicbox.core.queue import QueuedTrack
from musicbox.core.track import Track
from musicbox.playback.session import CalledOffBy, GuildSession, JoinCancelled, SessionCapReached
from musicbox.store.settings import GuildSettings

if TYPE_CHECKING:
    from musicbox.bot.client import MusicBot

log = logging.getLogger(__name__)

PROGRESS_EVERY_S = 1.0  # edits are rate limited per message; one a second reads as live
# At stop the HTTP session closes soon after: a /play cut off gets this long to say so.
CUT_OFF_ANSWER_S = 2.0
# Why joining a member's channel can fail; tell_join_failed says each to the member.
JOIN_FAILURES = (SessionCapReached, JoinCancelled, discord.ClientException, TimeoutError)


class Enqueuer:
    """One per bot: it counts the commands adding music per guild, so a failed one leaves voice only
    when no other is under way."""

    def __init__(self, bot: MusicBot) -> None:
        self._bot = bot
        self._in_flight: Counter[int] = Counter()

    @contextlib.contextmanager
    def adding(self, guild_id: int) -> Iterator[None]:
        self._in_flight[guild_id] += 1
        try:
            yield
        finally:
            self._in_flight[guild_id] -= 1
            if not self._in_flight[guild_id]:
                del self._in_flight[guild_id]

    async def join(self, channel: VoiceChannel, interaction: discord.Interaction) -> GuildSession:
        async def told_to_wait(seconds: float) -> None:
            await interaction.edit_original_response(content=text.join_paced(channel.name, seconds))

        session = await self._bot.join(channel, on_wait=told_to_wait)
        if session.voice.channel is not None and session.voice.channel.id != channel.id:
            await session.voice.move_to(channel)  # idle elsewhere: follow the member who asked
        start_times.mark("joined")
        return session

    async def joined(self, channel: VoiceChannel, interaction: discord.Interaction) -> GuildSession | None:
        """join(), or None once the member was told why not."""
        try:
            return await self.join(channel, interaction)
        except JOIN_FAILURES as failure:
            await tell_join_failed(interaction, channel, failure)
            return None

    async def pick(self, interaction: discord.Interaction, track: Track) -> None:
        """One result picked from a list (/search's, /radio's): join the member's channel and queue it."""
        refusal = play_refusal(self._bot, interaction)
        if refusal is not None:
            await interaction.response.send_message(refusal, ephemeral=True)
            return
        await interaction.response.defer(thinking=True)
        channel = member_channel(interaction)
        assert channel is not None and interaction.guild is not None  # checked by play_refusal
        settings = await asyncio.to_thread(self._bot.settings.get, interaction.guild.id)
        session = await self.joined(channel, interaction)
        if session is None:
            return
        session.text_channel_id = interaction.channel_id
        message = await self.enqueue(interaction, session, [track], settings, track.title)
        if message is not None:
            await interaction.edit_original_response(content=message)

    async def release_if_unused(self, guild_id: int) -> None:
        """Leave again after a command that queued nothing, unless another of the guild is under way."""
        session = self._bot.sessions.get(guild_id)
        idle = session is not None and session.queue.current is None and len(session.queue) == 0
        if self._bot.stays_always(guild_id):  # 24/7: a failed /play is no reason to leave
            return
        if session is not None and idle and self._in_flight[guild_id] <= 1:
            await session.aclose()

    async def enqueue(
        self,
        interaction: discord.Interaction,
        session: GuildSession,
        tracks: Sequence[Track],
        settings: GuildSettings,
        query: str,
        *,
        announced: int = 0,
    ) -> str | None:
        """Queue `tracks` (the first batch) and return what to tell the member, or say what is wrong
        and return None. `announced`: how many tracks the source said are coming in all."""
        assert interaction.guild is not None
        limits = settings.limits
        if not tracks:
            await self.release_if_unused(interaction.guild.id)
            await send_error(interaction, text.no_results(query))
            return None
        count = max(len(tracks), announced)
        if playlist_over_limit(count, limits):
            await self.release_if_unused(interaction.guild.id)
            await send_error(
                interaction, text.PLAYLIST_TOO_LONG.format(count=count, limit=limits.max_playlist)
            )
            return None
        admission = admit(tracks, held=session.queue.ids(), queued=len(session.queue), limits=limits)
        if not admission.accepted:
            reason = admission.first_refusal
            assert reason is not None
            track = admission.refused[0][0]
            limit = (
                str(limits.max_queue) if reason.value == "queue_full" else text.duration(limits.max_track_s)
            )
            await self.release_if_unused(interaction.guild.id)
            await send_error(interaction, text.refusal(reason, track, limit=limit))
            return None
        starts_now = session.queue.current is None and len(session.queue) == 0
        position = 0
        for track in admission.accepted:
            position = session.queue.add(QueuedTrack(track, requester_id=interaction.user.id))
        timeline = start_times.current.get()
        if starts_now and timeline is not None:
            timeline.mark("queued")
            session.expect_start(admission.accepted[0].id, timeline)
        session.enqueued()
        if len(tracks) > 1:
            return text.queued_many(len(admission.accepted), len(admission.refused))
        if starts_now:
            return text.playing_now(admission.accepted[0])
        return text.queued_one(admission.accepted[0], position)

    async def enqueue_rest(
        self,
        interaction: discord.Interaction,
        session: GuildSession,
        stream: AsyncIterator[Sequence[Track]],
        first: Sequence[Track],
        settings: GuildSettings,
        query: str,
    ) -> str | None:
        """Queue what is still being read (a long Spotify playlist, page by page) while the first song
        plays; what to tell the member in all, or None when everything came in the first batch."""
        received = list(first)
        try:
            async for batch in stream:
                received += batch
                admission = admit(
                    batch, held=session.queue.ids(), queued=len(session.queue), limits=settings.limits
                )
                for track in admission.accepted:
                    session.queue.add(QueuedTrack(track, requester_id=interaction.user.id))
                session.enqueued()
        except QueryFailed as failure:
            log.warning("guild %s: reading the rest of %r stopped: %s", session.guild_id, query, failure)
        if len(received) == len(first):
            return None
        held = session.queue.ids()
        accepted = sum(1 for track in received if track.id in held)
        return text.queued_many(accepted, len(received) - accepted)


class ProgressEditor:
    """Edits the deferred reply with "Resolving n/total…" at most once a second."""

    def __init__(self, interaction: discord.Interaction) -> None:
        self._interaction = interaction
        self._last = 0.0
        self.total = 0  # how many tracks the source last said are coming in all

    async def update(self, done: int, total: int) -> None:
        self.total = total
        now = time.monotonic()
        if now - self._last < PROGRESS_EVERY_S or done >= total:
            return
        self._last = now
        try:
            await self._interaction.edit_original_response(content=text.resolving(done, total))
        except discord.HTTPException:
            log.debug("progress edit failed", exc_info=True)


def could_not_play(query: str, failure: QueryFailed) -> str:
    return text.could_not_play(query, failure.reason, link_at_fault=failure.fault is UpstreamFault.NONE)


async def tell_join_failed(
    interaction: discord.Interaction, channel: VoiceChannel, failure: Exception
) -> None:
    if isinstance(failure, SessionCapReached):
        await send_error(interaction, text.TOO_MANY_GUILDS)
    elif isinstance(failure, JoinCancelled):
        await answer_cut_off(interaction, failure.by, channel)
    else:
        log.warning("guild %s: voice connect failed", channel.guild.id, exc_info=failure)
        await send_error(interaction, text.voice_connect_failed(channel.name))


async def answer_cut_off(interaction: discord.Interaction, by: CalledOffBy, channel: VoiceChannel) -> None:
    """A command adding music cut off before it queued anything: a /leave, the bot removed from the
    server or stopping. Its member reads why instead of "thinking…" for good."""
    if by == "leave":
        await send_error(interaction, text.join_cancelled_for_player(channel.name))
        return
    # Discord keeps an interaction's token for 15 minutes, also for a server that removed the bot.
    try:
        async with asyncio.timeout(CUT_OFF_ANSWER_S):
            await interaction.edit_original_response(content=text.PLAY_CUT_OFF[by])
    except (discord.HTTPException, TimeoutError):
        log.info("could not tell a member their /play was cut off (%s)", by, exc_info=True)
