"""The owner's secrets (the bot token, the Spotify client secret): what a token looks like, which
variables may carry one, and how a line is cleaned of them before it is logged. Pure: the shell
(`service/secret_keeping.py`, `cli/setup.py`) applies these to the process, its logs and its input."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable

# Every variable musicbox reads starts with this; MUSICBOX_TOKEN and MUSICBOX_SPOTIFY_CLIENT_SECRET
# carry secrets, and none of them means anything to ffmpeg, yt-dlp, Deno, pip or systemctl.
OWN_PREFIX = "MUSICBOX_"
TOKEN_VARIABLE = "MUSICBOX_TOKEN"
SPOTIFY_SECRET_VARIABLE = "MUSICBOX_SPOTIFY_CLIENT_SECRET"
REDACTED = "<redacted>"
MAX_TOKEN_CHARS = 200

# A Discord bot token is three base64url parts joined by dots (the bot's id, a timestamp, an HMAC).
_TOKEN_FORM = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
# An Authorization header as spotipy, requests and aiohttp print it: `'Authorization': 'Basic …'`,
# `Authorization: Bot …`. The scheme word stays (it tells which credential was sent), the value goes.
_AUTHORIZATION = re.compile(
    r"""(authorization['"]?\s*[:=]\s*['"]?)((?:bot|bearer|basic)\s+)?[^'"\s,}]+""", re.IGNORECASE
)


def token_problem(token: str) -> str:
    """Empty when `token` has the form of a Discord bot token; otherwise one sentence saying what is
    wrong with it, which never repeats the token itself (it may be a real secret pasted wrongly)."""
    if not token:
        return "the bot token is empty"
    if any(character.isspace() for character in token):
        return (
            "the bot token has a space or a line break inside it; give it as one line, without Bot in front"
        )
    if len(token) > MAX_TOKEN_CHARS:
        return f"that is not a bot token: it is longer than {MAX_TOKEN_CHARS} characters"
    if not _TOKEN_FORM.fullmatch(token):
        return (
            "that is not a bot token: a token is three parts of letters, digits, - and _ joined by dots "
            "(not the application id, the public key or the client secret)"
        )
    return ""


def forms_of(token: str, spotify_client_id: str, spotify_client_secret: str) -> list[str]:
    """The secrets as they may appear in a log line: the token, the Spotify secret, and the Basic
    credential (`base64(id:secret)`) that spotipy sends for it and prints in its debug lines."""
    found = {token, spotify_client_secret}
    if spotify_client_secret:
        basic = f"{spotify_client_id}:{spotify_client_secret}".encode()
        found.add(base64.b64encode(basic).decode())
    # Longest first, so a secret that contains another is replaced whole.
    return sorted((secret for secret in found if secret), key=len, reverse=True)


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every Authorization header value and every one of `secrets` replaced."""
    text = _AUTHORIZATION.sub(lambda found: f"{found[1]}{found[2] or ''}{REDACTED}", text)
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    return text
