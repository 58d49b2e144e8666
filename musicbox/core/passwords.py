"""The owner's web password, kept only as a salted scrypt hash (`hashlib.scrypt`: in the standard
library, memory-hard, so a stolen config is slow to guess from even on a GPU).

The stored form is `scrypt$N$r$p$salt$hash` (salt and hash in base64), so the cost can be raised
later without making old hashes unreadable. Pure: no I/O; the salt is handed in by the caller that
owns the randomness, or made here from `secrets` when it is not."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

# 16 MiB of memory and ~50 ms on a Pi 4 per check: slow for a guesser, unnoticed by an owner logging in.
COST_N = 2**14
BLOCK_R = 8
PARALLEL_P = 1
SALT_BYTES = 16
HASH_BYTES = 32
MIN_LENGTH = 8
SCHEME = "scrypt"


@dataclass(frozen=True, slots=True)
class StoredPassword:
    n: int
    r: int
    p: int
    salt: bytes
    digest: bytes


def password_problem(password: str) -> str | None:
    """Why `password` will not do as the owner's web password, in one sentence, or None."""
    if len(password) < MIN_LENGTH:
        return f"the web password must be at least {MIN_LENGTH} characters long"
    if password != password.strip():
        return "the web password must not start or end with a space"
    return None


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt if salt is not None else secrets.token_bytes(SALT_BYTES)
    digest = _scrypt(password, salt, COST_N, BLOCK_R, PARALLEL_P)
    return "$".join((SCHEME, str(COST_N), str(BLOCK_R), str(PARALLEL_P), _b64(salt), _b64(digest)))


def parse_hash(text: str) -> StoredPassword | None:
    """The parts of a stored hash, or None when `text` is not one this module wrote."""
    parts = text.split("$")
    if len(parts) != 6 or parts[0] != SCHEME or not all(part.isdigit() for part in parts[1:4]):
        return None
    n, r, p = (int(part) for part in parts[1:4])
    # Bounds a hand-edited config cannot push past: scrypt's memory is 128·N·r bytes.
    if not (2 <= n <= 2**20 and n & (n - 1) == 0 and 1 <= r <= 32 and 1 <= p <= 16):
        return None
    try:
        salt, digest = base64.b64decode(parts[4], validate=True), base64.b64decode(parts[5], validate=True)
    except ValueError:
        return None
    if not salt or len(digest) != HASH_BYTES:
        return None
    return StoredPassword(n, r, p, salt, digest)


def hash_problem(text: str) -> str | None:
    """Why a configured hash cannot be used (an empty one means: no password), or None."""
    if text == "" or parse_hash(text) is not None:
        return None
    return "is not a password hash musicbox wrote: set the password again with `musicbox setup --web`"


def password_matches(stored: str, attempt: str) -> bool:
    parsed = parse_hash(stored)
    if parsed is None:
        return False
    candidate = _scrypt(attempt, parsed.salt, parsed.n, parsed.r, parsed.p)
    return hmac.compare_digest(candidate, parsed.digest)


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode(), salt=salt, n=n, r=r, p=p, maxmem=256 * n * r + 2**20, dklen=HASH_BYTES
    )


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()
