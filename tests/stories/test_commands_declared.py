"""The commands a member finds when typing "/": every one of the issue's list, with its options."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from musicbox.bot import text
from musicbox.bot.app import build_bot
from musicbox.core.config import Config, PathsConfig
from musicbox.sim.discord import DiscordSim
from musicbox.sources.egress import EgressGate
from tests.world.fixture import World
from tests.world.stage import reply_text, stage


class NoSources:
    """The declaration never resolves anything; the bot only needs something to hold."""


async def test_every_command_is_declared_with_the_options_members_type(tmp_path: Path) -> None:
    egress = EgressGate()
    bot = build_bot(Config(paths=PathsConfig(state_dir=tmp_path)), sources=NoSources(), egress=egress)  # type: ignore[arg-type]
    egress.close()
    await bot.add_commands()
    declared = {c.name: c.to_dict(bot.tree) for c in bot.tree.get_commands()}
    options = {name: [o["name"] for o in body.get("options", [])] for name, body in declared.items()}
    assert options == {
        "play": ["query"],
        "search": ["query"],
        "queue": [],
        "now": [],
        "skip": [],
        "previous": [],
        "replay": [],
        "pause": [],
        "resume": [],
        "stop": [],
        "leave": [],
        "remove": ["position"],
        "move": ["source", "destination"],
        "shuffle": [],
        "loop": ["mode"],
        "seek": ["position"],
        "volume": ["percent"],
        "filter": ["effect", "speed"],
        "clear": [],
        "settings": [
            "dj_role",
            "no_dj_role",
            "default_volume",
            "max_queue",
            "max_playlist",
            "max_track_minutes",
            "max_saved_songs",
            "max_saved_playlists",
            "autoplay",
            "skip_share",
            "stay_in_voice",
            "only_text_channel",
            "only_voice_channel",
            "any_channel",
            "loudness",
            "skip_segments",
        ],
        "radio": ["words"],
        "lyrics": ["song"],
        "like": [],
        "favorites": ["play"],
        "history": [],
        "playlist": ["create", "import", "add", "load", "show", "list", "rename", "delete", "export"],
    }
    subcommands = {
        o["name"]: [p["name"] for p in o.get("options", [])] for o in declared["playlist"]["options"]
    }
    assert subcommands == {
        "create": ["playlist", "scope"],
        "import": ["link", "playlist", "scope"],
        "add": ["playlist", "link", "whole_queue", "scope"],
        "load": ["playlist", "scope"],
        "show": ["playlist", "scope"],
        "list": [],
        "rename": ["playlist", "new_name", "scope"],
        "delete": ["playlist", "scope"],
        "export": ["playlist", "file_format", "scope"],
    }
    assert declared["play"]["options"][0]["autocomplete"] is True
    assert [c["value"] for c in declared["loop"]["options"][0]["choices"]] == ["off", "track", "queue"]
    volume = declared["volume"]["options"][0]
    assert (volume["min_value"], volume["max_value"]) == (0, 200)
    effect, speed = declared["filter"]["options"]
    assert [c["value"] for c in effect["choices"]] == [
        "nightcore",
        "vaporwave",
        "bassboost",
        "8d",
        "speed",
        "off",
    ]
    assert (speed["min_value"], speed["max_value"], speed["required"]) == (0.5, 2.0, False)
    await bot.close()


def declared_option(sim: DiscordSim, guild_id: int, command: str, option: str) -> dict[str, Any]:
    options = sim.declared_command(guild_id, command).get("options") or []
    return next(o for o in options if o["name"] == option)


async def test_every_bound_is_declared_to_discord_and_the_bot_refuses_what_it_excludes(world: World) -> None:
    """Discord's client holds members to the bounds a command declares (as synced to the simulator:
    the member's `run_command` refuses them); an interaction crafted past them (a modified client,
    or one holding an older declaration) is refused by the bot itself, in one sentence only its
    sender reads, and changes nothing."""
    home = stage(world.sim)
    async with world.bot() as bot:
        bounds = {
            (command, option): (declared.get("min_value"), declared.get("max_value"))
            for command, option in [
                ("volume", "percent"),
                ("remove", "position"),
                ("move", "source"),
                ("move", "destination"),
                ("settings", "default_volume"),
                ("settings", "max_queue"),
                ("settings", "max_playlist"),
                ("settings", "max_track_minutes"),
                ("settings", "max_saved_songs"),
                ("settings", "max_saved_playlists"),
                ("settings", "skip_share"),
            ]
            for declared in [declared_option(world.sim, home.guild.id, command, option)]
        }
        assert bounds == {
            ("volume", "percent"): (0, 200),
            ("remove", "position"): (1, 10_000),
            ("move", "source"): (1, 10_000),
            ("move", "destination"): (1, 10_000),
            ("settings", "default_volume"): (0, 200),
            ("settings", "max_queue"): (1, 500),
            ("settings", "max_playlist"): (1, 1000),
            ("settings", "max_track_minutes"): (1, 600),
            ("settings", "max_saved_songs"): (1, 1000),
            ("settings", "max_saved_playlists"): (1, 100),
            ("settings", "skip_share"): (1, 100),
        }
        seek = declared_option(world.sim, home.guild.id, "seek", "position")
        assert (seek["min_length"], seek["max_length"]) == (1, 8)
        radio = declared_option(world.sim, home.guild.id, "radio", "words")
        assert (radio["min_length"], radio["max_length"]) == (2, 100)
        skipped = declared_option(world.sim, home.guild.id, "settings", "skip_segments")
        assert (skipped["min_length"], skipped["max_length"]) == (1, 200)
        lyrics = declared_option(world.sim, home.guild.id, "lyrics", "song")
        assert (lyrics["min_length"], lyrics["max_length"], lyrics["required"]) == (2, 100, False)
        loop = declared_option(world.sim, home.guild.id, "loop", "mode")
        assert [c["value"] for c in loop["choices"]] == ["off", "track", "queue"]

        await home.alice.join_voice(home.voice)
        for index in (40, 41):
            url = world.media.track_url(index, seconds=6)
            await (await home.alice.run_command("play", home.text, query=url)).reply()
        crafted: list[tuple[str, dict[str, object], str]] = [
            ("volume", {"percent": 500}, "percent must be from 0 to 200"),
            ("volume", {"percent": -5}, "percent must be from 0 to 200"),
            ("remove", {"position": 0}, "position must be from 1 to 10000"),
            ("move", {"source": 1, "destination": 0}, "destination must be from 1 to 10000"),
            ("seek", {"position": "123456789"}, "position must be from 1 to 8 characters long"),
            ("settings", {"max_queue": 0}, "max_queue must be from 1 to 500"),
            ("playlist create", {"playlist": "x" * 51}, "playlist must be from 1 to 50 characters long"),
            ("radio", {"words": "x"}, "words must be from 2 to 100 characters long"),
            ("lyrics", {"song": "x"}, "song must be from 2 to 100 characters long"),
            ("settings", {"skip_segments": "x" * 201}, "skip_segments must be from 1 to 200 characters long"),
        ]
        for command, options, refusal in crafted:
            with pytest.raises(ValueError, match="would not send"):
                await home.alice.run_command(command, home.text, **options)
            said, private = await reply_text(
                await home.alice.run_crafted_command(command, home.text, **options)
            )
            assert private and said.startswith(refusal), (command, said)
        session = bot.sessions.get(home.guild.id)
        assert session is not None and session.volume == 100 and len(session.queue) == 1
        settings, _ = await reply_text(await home.alice.run_command("settings", home.text))
        assert "queue limit 500" in settings
        said, private = await reply_text(await home.alice.run_command("volume", home.text, percent=200))
        assert not private and said == text.VOLUME_SET.format(volume=200)
    assert not [v for v in world.sim.violations if v.code == "40060"]  # one answer per interaction
