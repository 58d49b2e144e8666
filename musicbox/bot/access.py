"""Who may use a command where they are, judged from the client's cache only (no awaits), so a
refusal is the command's immediate, private answer."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord

from musicbox.bot import text
from musicbox.core.permissions import Action, MemberStanding, may
from musicbox.core.votes import tally
from musicbox.playback.session import GuildSession
from musicbox.store.settings import GuildSettings

if TYPE_CHECKING:
    from musicbox.bot.client import MusicBot

VoiceChannel = discord.VoiceChannel | discord.StageChannel


def cached_settings(bot: MusicBot, guild_id: int) -> GuildSettings:
    return bot.settings.cached(guild_id) or GuildSettings.defaults(bot.config.playback)


def member_channel(interaction: discord.Interaction) -> VoiceChannel | None:
    user = interaction.user
    if not isinstance(user, discord.Member) or user.voice is None:
        return None
    return user.voice.channel


def standing(member: discord.Member, bot_channel: VoiceChannel | None) -> MemberStanding:
    listeners = [m for m in bot_channel.members if not m.bot] if bot_channel else []
    rights = member.guild_permissions
    return MemberStanding(
        role_names={role.name for role in member.roles},
        is_admin=rights.administrator or rights.manage_guild,
        alone_with_bot=[m.id for m in listeners] == [member.id],
    )


def play_refusal(bot: MusicBot, interaction: discord.Interaction) -> str | None:
    """Why the member may not add music now (not in voice, the bot busy elsewhere, no rights), or None."""
    guild = interaction.guild
    if guild is None:
        return text.NOT_IN_GUILD
    channel = member_channel(interaction)
    if channel is None:
        return text.NOT_IN_VOICE
    allowed = cached_settings(bot, guild.id).voice_channel_id
    if allowed and channel.id != allowed:
        return text.ONLY_IN_VOICE.format(channel=allowed)
    session = bot.sessions.get(guild.id)
    if session is not None:
        bot_channel = session.voice.channel
        if bot_channel is not None and bot_channel.id != channel.id and session.queue.current is not None:
            return text.NOT_WITH_BOT
        return None
    rights = channel.permissions_for(guild.me)
    if not (rights.connect and rights.speak):
        return text.bot_lacks_permission(channel.name)
    if not bot.sessions.has_room():
        return text.TOO_MANY_GUILDS
    return None


def listening_session(
    bot: MusicBot, interaction: discord.Interaction
) -> tuple[GuildSession | None, str | None]:
    """The session the member listens to (they are in the bot's voice channel), or why there is none."""
    guild = interaction.guild
    if guild is None or not isinstance(interaction.user, discord.Member):
        return None, text.NOT_IN_GUILD
    session = bot.sessions.get(guild.id)
    if session is None:
        return None, text.NOTHING_PLAYING
    bot_channel = session.voice.channel
    channel = member_channel(interaction)
    if bot_channel is None or channel is None or channel.id != bot_channel.id:
        return None, text.NOT_WITH_BOT
    return session, None


def control_refusal(
    bot: MusicBot, interaction: discord.Interaction, action: Action
) -> tuple[GuildSession | None, str | None]:
    """The session a control command acts on, or the sentence that says why it may not."""
    session, refusal = listening_session(bot, interaction)
    if session is None:
        return None, refusal
    assert isinstance(interaction.user, discord.Member) and interaction.guild is not None
    settings = cached_settings(bot, interaction.guild.id)
    if not may(action, standing(interaction.user, session.voice.channel), dj_role=settings.dj_role):
        return None, text.not_allowed(settings.dj_role)
    return session, None


async def controlled(bot: MusicBot, interaction: discord.Interaction, action: Action) -> GuildSession | None:
    """The session a control command acts on; None once the member was told privately why not."""
    session, refusal = control_refusal(bot, interaction, action)
    if session is None:
        assert refusal is not None
        await interaction.response.send_message(refusal, ephemeral=True)
    return session


def skip_or_vote(bot: MusicBot, session: GuildSession, member: discord.Member) -> str:
    """/skip's rule, wherever the member presses it (Discord, the web page, the API): a DJ (or
    anyone, with no DJ role; or a member alone with the bot) skips; anyone else votes, and the song
    is skipped once the share of present listeners set in /settings agrees. The member listens in
    the bot's channel and a song plays (the caller checked both); returns what to say."""
    current, channel = session.queue.current, session.voice.channel
    assert current is not None and channel is not None
    settings = cached_settings(bot, member.guild.id)
    if may(Action.SKIP, standing(member, channel), dj_role=settings.dj_role):
        session.skip()
        return text.skipped(current.track)
    listeners = {m.id for m in channel.members if not m.bot}
    votes = tally(session.vote_to_skip(member.id), listeners, settings.skip_share)
    if votes.carried:
        session.skip()
        return text.vote_skipped(current.track, votes.counted, len(listeners))
    return text.vote_counted(votes.counted, votes.needed)
