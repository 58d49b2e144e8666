"""A strict local Discord: REST, gateway and voice on 127.0.0.1 for the real discord.py client."""

from musicbox.sim.discord.actors import Member, SimGuild, SimTextChannel, SimVoiceChannel
from musicbox.sim.discord.contract import Violation
from musicbox.sim.discord.seen import Button, Interaction, SeenMessage
from musicbox.sim.discord.server import DiscordSim
from musicbox.sim.discord.sharding import Shard, Sharding

__all__ = [
    "Button",
    "DiscordSim",
    "Interaction",
    "Member",
    "SeenMessage",
    "Shard",
    "Sharding",
    "SimGuild",
    "SimTextChannel",
    "SimVoiceChannel",
    "Violation",
]
