"""The commands a member finds when typing "/": every one of the issue's list, with its options."""

from __future__ import annotations

from pathlib import Path

from musicbox.bot.app import build_bot
from musicbox.bot.music import MusicCog
from musicbox.core.config import Config, PathsConfig


class NoSources:
    """The declaration never resolves anything; the bot only needs something to hold."""


async def test_every_command_is_declared_with_the_options_members_type(tmp_path: Path) -> None:
    bot = build_bot(Config(paths=PathsConfig(state_dir=tmp_path)), sources=NoSources())  # type: ignore[arg-type]
    await bot.add_cog(MusicCog(bot))
    declared = {c.name: c.to_dict(bot.tree) for c in bot.tree.get_commands()}
    options = {name: [o["name"] for o in body.get("options", [])] for name, body in declared.items()}
    assert options == {
        "play": ["query"],
        "search": ["query"],
        "queue": [],
        "now": [],
        "skip": [],
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
        "clear": [],
        "settings": [
            "dj_role",
            "no_dj_role",
            "default_volume",
            "max_queue",
            "max_playlist",
            "max_track_minutes",
        ],
    }
    assert declared["play"]["options"][0]["autocomplete"] is True
    assert [c["value"] for c in declared["loop"]["options"][0]["choices"]] == ["off", "track", "queue"]
    volume = declared["volume"]["options"][0]
    assert (volume["min_value"], volume["max_value"]) == (0, 200)
    await bot.close()
