"""Buttons: search picks, queue pages, now-playing controls. Each press acknowledges first."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol, runtime_checkable

import discord

from musicbox import log_context
from musicbox.bot.replies import RepliesInFlight
from musicbox.core.track import Track

PickHandler = Callable[[discord.Interaction, Track], Awaitable[None]]
PageRenderer = Callable[[int], str]


@runtime_checkable
class RepliesHost(Protocol):
    replies: RepliesInFlight


def _answering(interaction: discord.Interaction, custom_id: str | None) -> None:
    """What every button press does first, in the task discord.py runs it in: its log lines name the
    button, and the bot waits for (or cancels) its answer when it stops."""
    log_context.about(interaction.guild_id, custom_id)
    if isinstance(interaction.client, RepliesHost):
        interaction.client.replies.add_current()


class _LoggedView(discord.ui.View):
    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        # discord.py runs this, then the button's callback, in one task.
        custom_id = interaction.data.get("custom_id") if interaction.data else None
        _answering(interaction, str(custom_id) if custom_id else None)
        return True


class _PickButton(discord.ui.Button["SearchPicker"]):
    def __init__(self, number: int, track: Track, on_pick: PickHandler) -> None:
        super().__init__(label=str(number), custom_id=f"search:{number}", style=discord.ButtonStyle.primary)
        self._track = track
        self._on_pick = on_pick

    async def callback(self, interaction: discord.Interaction) -> None:
        if self.view is not None:
            self.view.stop()
        await self._on_pick(interaction, self._track)


class SearchPicker(_LoggedView):
    def __init__(self, tracks: Sequence[Track], on_pick: PickHandler, *, timeout: float = 120) -> None:
        super().__init__(timeout=timeout)
        for number, track in enumerate(tracks, start=1):
            self.add_item(_PickButton(number, track, on_pick))


class QueuePager(_LoggedView):
    """Previous and Next buttons over pages of text (/queue's, /history's, /lyrics'), starting at
    `first_page` (/lyrics opens at the line being sung)."""

    def __init__(
        self, render: PageRenderer, page_count: int, *, first_page: int = 0, timeout: float = 300
    ) -> None:
        super().__init__(timeout=timeout)
        self._render = render
        self._page = first_page
        self._page_count = page_count
        self._sync_buttons()

    def _sync_buttons(self) -> None:
        self.previous.disabled = self._page <= 0
        self.next.disabled = self._page >= self._page_count - 1

    async def _show(self, interaction: discord.Interaction, page: int) -> None:
        self._page = max(0, min(page, self._page_count - 1))
        self._sync_buttons()
        await interaction.response.edit_message(content=self._render(self._page), view=self)

    @discord.ui.button(label="Previous", custom_id="queue:previous", style=discord.ButtonStyle.secondary)
    async def previous(self, interaction: discord.Interaction, _: discord.ui.Button[QueuePager]) -> None:
        await self._show(interaction, self._page - 1)

    @discord.ui.button(label="Next", custom_id="queue:next", style=discord.ButtonStyle.secondary)
    async def next(self, interaction: discord.Interaction, _: discord.ui.Button[QueuePager]) -> None:
        await self._show(interaction, self._page + 1)


@runtime_checkable
class ControlsHost(Protocol):
    async def on_now_control(self, interaction: discord.Interaction, control: str) -> None: ...


_CONTROLS = {
    "pause": ("Pause/Resume", discord.ButtonStyle.secondary),
    "skip": ("Skip", discord.ButtonStyle.primary),
    "loop": ("Loop", discord.ButtonStyle.secondary),
    "like": ("❤", discord.ButtonStyle.secondary),  # to the presser's favourites
}


class NowControl(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
    template=r"now:(?P<control>pause|skip|loop|like)",
):
    """A /now button. Stateless (it acts on the guild's current session), so discord.py keeps no
    object or timeout task per message: a busy server's /now messages cost nothing once sent, and
    their buttons keep working for as long as the message exists, across restarts too."""

    def __init__(self, control: str) -> None:
        label, style = _CONTROLS[control]
        super().__init__(discord.ui.Button(label=label, style=style, custom_id=f"now:{control}"))
        self.control = control

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> NowControl:
        return cls(match["control"])

    async def callback(self, interaction: discord.Interaction) -> None:
        _answering(interaction, f"now:{self.control}")
        host = interaction.client
        assert isinstance(host, ControlsHost), "NowControl is registered by the music bot only"
        await host.on_now_control(interaction, self.control)


def now_controls() -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for control in _CONTROLS:
        view.add_item(NowControl(control))
    return view
