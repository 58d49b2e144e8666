"""The slash commands, one cog per concern; `MusicBot.setup_hook` adds each."""
