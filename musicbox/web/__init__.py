"""The owner's web page, served inside the bot's process on discord.py's own event loop (aiohttp.web:
aiohttp already comes with discord.py, so no server dependency is added). Off until `[web] enabled`;
127.0.0.1 unless the owner names a LAN address."""
