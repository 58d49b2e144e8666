"""Personal API tokens (`musicbox api token create|list|revoke`), each acting as one Discord
member. Only a SHA-256 of each token is stored: the tokens are 256 random bits, so a fast hash
is enough, and a copy of the database lets nobody call the API."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

from musicbox.store import schema
from musicbox.store.sql import Connection

PREFIX = "mbx_"  # recognisable in a leaked file or a secret scanner's rules


@dataclass(frozen=True, slots=True)
class ApiToken:
    id: int
    user_id: int  # the Discord member it acts as
    name: str
    created_at: float


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ApiTokenStore:
    """Blocking database access: call from a worker thread, never the event loop."""

    def __init__(self, connection: Connection) -> None:
        schema.upgrade(connection)
        self._connection = connection
        self._lock = connection.lock  # the connection is shared: one lock for every store on it

    def create(self, user_id: int, name: str) -> tuple[ApiToken, str]:
        """A new token: its record, and the token itself (shown once, never stored)."""
        token = PREFIX + secrets.token_urlsafe(32)
        now = time.time()
        with self._lock:
            (token_id,) = self._connection.execute(
                "INSERT INTO api_tokens (user_id, name, digest, created_at) VALUES (?, ?, ?, ?) RETURNING id",
                (user_id, name, digest(token), now),
            ).fetchone()
        return ApiToken(int(token_id), user_id, name, now), token

    def by_digest(self) -> dict[str, ApiToken]:
        with self._lock:
            rows = self._connection.execute(
                "SELECT digest, id, user_id, name, created_at FROM api_tokens"
            ).fetchall()
        return {str(row[0]): ApiToken(int(row[1]), int(row[2]), str(row[3]), float(row[4])) for row in rows}

    def revoke(self, token_id: int) -> bool:
        with self._lock:
            cursor = self._connection.execute("DELETE FROM api_tokens WHERE id = ?", (token_id,))
        return cursor.rowcount > 0
