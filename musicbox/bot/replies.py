"""How an error reaches the member who caused it: ephemeral, whatever state the interaction is in."""

from __future__ import annotations

import logging

import discord

log = logging.getLogger(__name__)


async def send_error(interaction: discord.Interaction, message: str) -> None:
    """One ephemeral sentence. After a public defer the "thinking" placeholder is deleted, so only the
    member who asked sees the error."""
    try:
        if not interaction.response.is_done():
            await interaction.response.send_message(message, ephemeral=True)
            return
        await interaction.followup.send(message, ephemeral=True)
        await interaction.delete_original_response()
    except discord.HTTPException:
        log.warning("could not deliver an error to interaction %s", interaction.id, exc_info=True)
