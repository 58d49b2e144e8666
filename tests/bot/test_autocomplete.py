"""/play's suggestions as a member types: a search that outlasts Discord's wait keeps running to its
end (its answer kept as the real source keeps searches), so the member's next keystroke is answered."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any, cast

import pytest

from musicbox.bot.cogs import play
from musicbox.bot.cogs.play import PlayCog
from musicbox.core.track import Track, TrackId


class SlowSearch:
    """Searches as the bot's source does: slowly the first time (a worker starting), then from its
    cache of what it found."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.found: dict[str, list[Track]] = {}
        self.searched = 0

    async def search(self, words: str, *, limit: int) -> list[Track]:
        if words in self.found:
            return self.found[words]
        await asyncio.sleep(self.seconds)
        self.searched += 1
        self.found[words] = [Track(TrackId("http", "a"), f"{words} (live)", "http://media.test/a", 60.0)]
        return self.found[words]


async def test_a_search_past_the_budget_answers_the_next_keystroke(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(play, "AUTOCOMPLETE_BUDGET_S", 0.1)
    sources = SlowSearch(seconds=0.3)
    cog = PlayCog(cast(Any, SimpleNamespace(sources=sources)), cast(Any, None))
    interaction = cast(Any, None)
    assert await cog.play_autocomplete(interaction, "blue harbour") == []  # Discord stopped waiting
    await asyncio.sleep(0.3)
    offered = await cog.play_autocomplete(interaction, "blue harbour ")
    assert [choice.name for choice in offered] == ["blue harbour (live) (1:00)"]
    assert sources.searched == 1
