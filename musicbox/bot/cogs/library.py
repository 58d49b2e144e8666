"""Saved playlists: /playlist create, add, load, show, list, rename, delete, import, export. A member's
own playlists are theirs in every server; a server's are changed under the DJ role's rules. Each
command reads or writes SQLite, so it defers first (a name it cannot take is refused at once)."""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands

from musicbox.bot import text
from musicbox.bot.access import member_channel, play_refusal, standing
from musicbox.bot.enqueueing import Enqueuer, ProgressEditor, could_not_play
from musicbox.bot.options import CheckedCog
from musicbox.bot.replies import send_error
from musicbox.bot.sources import QueryFailed
from musicbox.core.permissions import Action, may
from musicbox.core.playlist_files import as_text, as_xspf
from musicbox.core.playlists import NAME_MAX, SERVER_OWNER, Scope, add_to_playlist, clean_name
from musicbox.core.track import Track
from musicbox.store.playlists import PlaylistExists
from musicbox.store.settings import GuildSettings

if TYPE_CHECKING:
    from musicbox.bot.client import MusicBot

PlaylistName = app_commands.Range[str, 1, NAME_MAX]
# A link as /play takes it; Discord caps a string option at 6,000 characters, a member's query at this.
Link = app_commands.Range[str, 1, 500]
ScopeOption = Literal["mine", "server"]
_FILE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True, slots=True)
class _Owned:
    """Whose playlist a command is about, under which name, and the server's limits."""

    guild_id: int
    owner_id: int
    name: str
    settings: GuildSettings

    @property
    def server(self) -> bool:
        return self.owner_id == SERVER_OWNER


class LibraryCog(CheckedCog, name="Library"):
    playlist = app_commands.Group(name="playlist", description="Saved playlists: yours and this server's.")

    def __init__(self, bot: MusicBot, enqueuer: Enqueuer) -> None:
        self.bot = bot
        self.enqueuer = enqueuer

    async def _owned(
        self, interaction: discord.Interaction, typed: str, scope: ScopeOption, *, changing: bool
    ) -> _Owned | None:
        """Defers, then whose playlist this is; None once the member was told privately why not."""
        name = clean_name(typed)
        user = interaction.user
        if interaction.guild is None or not isinstance(user, discord.Member):
            await send_error(interaction, text.NOT_IN_GUILD)
            return None
        if name is None:
            await send_error(interaction, text.PLAYLIST_NAME_BAD)
            return None
        await interaction.response.defer(thinking=True)
        guild_id = interaction.guild.id
        settings = await asyncio.to_thread(self.bot.settings.get, guild_id)
        if Scope(scope) is Scope.MINE:
            return _Owned(guild_id, user.id, name, settings)
        if changing and not may(Action.SERVER_PLAYLIST, standing(user, None), dj_role=settings.dj_role):
            await send_error(
                interaction, text.PLAYLIST_NOT_ALLOWED.format(role=text.shown(settings.dj_role, 100))
            )
            return None
        return _Owned(guild_id, SERVER_OWNER, name, settings)

    async def _songs(self, interaction: discord.Interaction, owned: _Owned) -> list[Track] | None:
        songs = await asyncio.to_thread(self.bot.playlists.tracks, owned.guild_id, owned.owner_id, owned.name)
        if songs is None:
            await send_error(interaction, text.playlist_unknown(owned.name, server=owned.server))
        return songs

    async def _room_for_another(self, interaction: discord.Interaction, owned: _Owned) -> bool:
        kept = await asyncio.to_thread(self.bot.playlists.listed, owned.guild_id, owned.owner_id)
        limit = owned.settings.max_saved_playlists
        if len(kept) >= limit:
            await send_error(interaction, text.too_many_playlists(limit, server=owned.server))
            return False
        return True

    async def _read_link(self, interaction: discord.Interaction, link: str) -> list[Track] | None:
        """Every song behind a link, as /play reads it; None once the member was told why not."""
        progress = ProgressEditor(interaction)
        songs: list[Track] = []
        try:
            async for batch in self.bot.sources.batches(link, progress=progress.update):
                songs += batch
        except QueryFailed as failure:
            await send_error(interaction, could_not_play(link, failure))
            return None
        if not songs:
            await send_error(interaction, text.no_results(link))
            return None
        return songs

    @playlist.command(description="Make an empty playlist, yours or this server's.")
    @app_commands.describe(playlist="What to call it", scope="Yours (the default) or this server's")
    async def create(
        self, interaction: discord.Interaction, playlist: PlaylistName, scope: ScopeOption = "mine"
    ) -> None:
        await self._save_new(interaction, playlist, scope, [])

    @playlist.command(name="import", description="Save a playlist from any link /play understands.")
    @app_commands.describe(link="A playlist link", playlist="What to call it", scope="Yours or this server's")
    async def import_(
        self,
        interaction: discord.Interaction,
        link: Link,
        playlist: PlaylistName,
        scope: ScopeOption = "mine",
    ) -> None:
        await self._save_new(interaction, playlist, scope, None, link=link)

    async def _save_new(
        self,
        interaction: discord.Interaction,
        name: str,
        scope: ScopeOption,
        songs: Sequence[Track] | None,
        *,
        link: str = "",
    ) -> None:
        owned = await self._owned(interaction, name, scope, changing=True)
        if owned is None or not await self._room_for_another(interaction, owned):
            return
        if songs is None:
            songs = await self._read_link(interaction, link)
            if songs is None:
                return
        limit = owned.settings.max_saved_songs
        if len(songs) > limit:
            await send_error(interaction, text.import_too_long(len(songs), limit))
            return
        kept = add_to_playlist([], songs, limit).added  # the same song twice is kept once
        try:
            await asyncio.to_thread(
                self.bot.playlists.create, owned.guild_id, owned.owner_id, owned.name, kept
            )
        except PlaylistExists:
            await send_error(interaction, text.playlist_exists(owned.name, server=owned.server))
            return
        await interaction.edit_original_response(content=text.playlist_created(owned.name, len(kept)))

    @playlist.command(description="Add the current song, the whole queue, or a link to a playlist.")
    @app_commands.describe(
        playlist="The playlist",
        link="A song or playlist link (leave out for the current song)",
        whole_queue="Add the current song and everything queued after it",
        scope="Yours or this server's",
    )
    async def add(
        self,
        interaction: discord.Interaction,
        playlist: PlaylistName,
        link: Link | None = None,
        whole_queue: bool = False,
        scope: ScopeOption = "mine",
    ) -> None:
        owned = await self._owned(interaction, playlist, scope, changing=True)
        if owned is None:
            return
        held = await self._songs(interaction, owned)
        if held is None:
            return
        offered = (
            await self._read_link(interaction, link) if link else self._playing(owned.guild_id, whole_queue)
        )
        if offered is None:
            return
        if not offered:
            await send_error(interaction, text.PLAYLIST_NOTHING_TO_ADD)
            return
        addition = add_to_playlist(held, offered, owned.settings.max_saved_songs)
        if not addition.added and addition.over_limit:
            await send_error(interaction, text.playlist_full(owned.name, owned.settings.max_saved_songs))
            return
        added = await asyncio.to_thread(
            self.bot.playlists.append, owned.guild_id, owned.owner_id, owned.name, addition.added
        )
        if not added:  # deleted meanwhile
            await send_error(interaction, text.playlist_unknown(owned.name, server=owned.server))
            return
        said = text.playlist_added(owned.name, len(addition.added), addition.already_in, addition.over_limit)
        await interaction.edit_original_response(content=said)

    def _playing(self, guild_id: int, whole_queue: bool) -> list[Track]:
        session = self.bot.sessions.get(guild_id)
        if session is None or session.queue.current is None:
            return []
        current = [session.queue.current.track]
        return current + [entry.track for entry in session.queue.upcoming] if whole_queue else current

    @playlist.command(description="Queue a saved playlist.")
    @app_commands.describe(playlist="The playlist", scope="Yours or this server's")
    async def load(
        self, interaction: discord.Interaction, playlist: PlaylistName, scope: ScopeOption = "mine"
    ) -> None:
        refusal = play_refusal(self.bot, interaction)
        if refusal is not None:
            await interaction.response.send_message(refusal, ephemeral=True)
            return
        owned = await self._owned(interaction, playlist, scope, changing=False)
        if owned is None:
            return
        with self.enqueuer.adding(owned.guild_id):
            await self._load(interaction, owned)

    async def _load(self, interaction: discord.Interaction, owned: _Owned) -> None:
        songs = await self._songs(interaction, owned)
        if songs is None:
            return
        if not songs:
            await send_error(interaction, text.playlist_empty(owned.name))
            return
        channel = member_channel(interaction)
        assert channel is not None  # checked by play_refusal
        session = await self.enqueuer.joined(channel, interaction)
        if session is None:
            return
        session.text_channel_id = interaction.channel_id
        # Saved songs were resolved when they were saved: they queue as they are, and each is looked
        # up only as it comes to play, so a thousand start as fast as one.
        message = await self.enqueuer.enqueue(interaction, session, songs, owned.settings, owned.name)
        if message is not None:
            await interaction.edit_original_response(content=message)

    @playlist.command(description="Show a saved playlist's songs.")
    @app_commands.describe(playlist="The playlist", scope="Yours or this server's")
    async def show(
        self, interaction: discord.Interaction, playlist: PlaylistName, scope: ScopeOption = "mine"
    ) -> None:
        owned = await self._owned(interaction, playlist, scope, changing=False)
        if owned is None:
            return
        songs = await self._songs(interaction, owned)
        if songs is not None:
            await interaction.edit_original_response(content=text.playlist_songs(owned.name, songs))

    @playlist.command(name="list", description="List your playlists and this server's.")
    async def list_(self, interaction: discord.Interaction) -> None:
        user = interaction.user
        if interaction.guild is None or not isinstance(user, discord.Member):
            await send_error(interaction, text.NOT_IN_GUILD)
            return
        await interaction.response.defer(thinking=True)
        mine = await asyncio.to_thread(self.bot.playlists.listed, interaction.guild.id, user.id)
        server = await asyncio.to_thread(self.bot.playlists.listed, interaction.guild.id, SERVER_OWNER)
        said = text.playlists_listed([(p.name, p.songs) for p in mine], [(p.name, p.songs) for p in server])
        await interaction.edit_original_response(content=said)

    @playlist.command(description="Rename a playlist.")
    @app_commands.describe(playlist="The playlist", new_name="Its new name", scope="Yours or this server's")
    async def rename(
        self,
        interaction: discord.Interaction,
        playlist: PlaylistName,
        new_name: PlaylistName,
        scope: ScopeOption = "mine",
    ) -> None:
        cleaned = clean_name(new_name)
        if cleaned is None:
            await send_error(interaction, text.PLAYLIST_NAME_BAD)
            return
        owned = await self._owned(interaction, playlist, scope, changing=True)
        if owned is None:
            return
        try:
            renamed = await asyncio.to_thread(
                self.bot.playlists.rename, owned.guild_id, owned.owner_id, owned.name, cleaned
            )
        except PlaylistExists:
            await send_error(interaction, text.playlist_exists(cleaned, server=owned.server))
            return
        if not renamed:
            await send_error(interaction, text.playlist_unknown(owned.name, server=owned.server))
            return
        await interaction.edit_original_response(content=text.playlist_renamed(owned.name, cleaned))

    @playlist.command(description="Delete a playlist.")
    @app_commands.describe(playlist="The playlist", scope="Yours or this server's")
    async def delete(
        self, interaction: discord.Interaction, playlist: PlaylistName, scope: ScopeOption = "mine"
    ) -> None:
        owned = await self._owned(interaction, playlist, scope, changing=True)
        if owned is None:
            return
        deleted = await asyncio.to_thread(
            self.bot.playlists.delete, owned.guild_id, owned.owner_id, owned.name
        )
        if not deleted:
            await send_error(interaction, text.playlist_unknown(owned.name, server=owned.server))
            return
        await interaction.edit_original_response(content=text.playlist_deleted(owned.name))

    @playlist.command(
        description="Download a playlist as a file: XSPF (players and /playlist import) or text."
    )
    @app_commands.describe(
        playlist="The playlist", file_format="XSPF or plain text", scope="Yours or this server's"
    )
    async def export(
        self,
        interaction: discord.Interaction,
        playlist: PlaylistName,
        file_format: Literal["xspf", "text"] = "xspf",
        scope: ScopeOption = "mine",
    ) -> None:
        owned = await self._owned(interaction, playlist, scope, changing=False)
        if owned is None:
            return
        songs = await self._songs(interaction, owned)
        if songs is None:
            return
        stem = _FILE_NAME.sub("-", owned.name).strip("-.") or "playlist"
        if file_format == "xspf":
            attached = discord.File(io.BytesIO(as_xspf(owned.name, songs).encode()), filename=f"{stem}.xspf")
        else:
            attached = discord.File(io.BytesIO(as_text(songs).encode()), filename=f"{stem}.txt")
        said = text.playlist_exported(owned.name, len(songs))
        await interaction.edit_original_response(content=said, attachments=[attached])
