"""Every command's options held to the bounds and choices it declares. Discord's client keeps members
within them; a crafted interaction is held to nothing, so the bot checks them again itself."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from musicbox.bot import text
from musicbox.bot.access import cached_settings

if TYPE_CHECKING:
    from musicbox.bot.client import MusicBot


class MemberMistake(app_commands.CheckFailure):
    """A command used where or as it cannot be; the message says what to do (privately)."""


class OptionOutOfRange(MemberMistake):
    """An option value outside what the command declares; the message says what it accepts."""


class WrongChannel(MemberMistake):
    """A music command in a text channel other than the one /settings chose."""


def option_refusal(parameters: Sequence[app_commands.Parameter], given: app_commands.Namespace) -> str | None:
    """The sentence refusing the first value outside its parameter's declared bounds or choices."""
    for parameter in parameters:
        name = parameter.display_name
        if name not in given or given[name] is None:
            continue
        value = given[name]
        choices = [choice.value for choice in parameter.choices]
        if choices and value not in choices:
            return text.not_a_choice(name, [str(choice) for choice in choices])
        low, high = parameter.min_value, parameter.max_value
        measured = len(value) if isinstance(value, str) else value
        if isinstance(measured, int | float) and not _within(measured, low, high):
            return text.out_of_range(name, low, high, length=isinstance(value, str))
    return None


def _within(value: float, low: float | None, high: float | None) -> bool:
    return (low is None or value >= low) and (high is None or value <= high)


class CheckedCog(commands.Cog):
    """The base of every cog of slash commands: each command's channel and options are checked before
    it runs."""

    bot: MusicBot

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        command = interaction.command
        settings = cached_settings(self.bot, interaction.guild_id) if interaction.guild_id else None
        chosen = settings.text_channel_id if settings else 0
        # /settings works anywhere: a manager must be able to lift a restriction from any channel.
        if chosen and interaction.channel_id != chosen and (command is None or command.name != "settings"):
            raise WrongChannel(text.ONLY_IN_TEXT.format(channel=chosen))
        if isinstance(command, app_commands.Command):
            refusal = option_refusal(command.parameters, interaction.namespace)
            if refusal is not None:
                raise OptionOutOfRange(refusal)
        return True
