"""Who may see the web page: the owner, after a password or a one-time link; a member, after
logging in with Discord (their own pages only).

Everything here is kept in memory, keyed by a SHA-256 of the secret the browser holds (a session
cookie, a link's token), so nothing a browser could replay is stored, and a restart of the bot logs
everybody out. The clock is handed in, so the throttle and expiries are tested without waiting."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

Clock = Callable[[], float]

SESSION_COOKIE = "musicbox_session"  # the page's and the API's (a member's page calls the API)
SESSION_S = 12 * 3600  # a browser left logged in is logged out after half a day
LINK_S = 10 * 60  # a one-time link is for opening now, not for keeping
MAX_SESSIONS = 32  # the oldest goes first: a script logging in forever cannot grow memory
# Failed logins: 5 from one address in 5 minutes, and 30 from everyone together (a guesser with many
# addresses on the LAN), then the login page refuses until the window moves on.
FAILURES_PER_ADDRESS = 5
FAILURES_OVERALL = 30
FAILURE_WINDOW_S = 300.0


def fingerprint(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Member:
    """A Discord member logged in with Discord (OAuth2): who they are, and the servers they share
    with the bot as Discord listed them at login."""

    user_id: int
    name: str
    guild_ids: frozenset[int]


@dataclass(frozen=True, slots=True)
class WebSession:
    csrf: str  # sent back with every change the page asks for; a cross-site form cannot know it
    expires_at: float
    member: Member | None = None  # None: the owner's session


class WebSessions:
    def __init__(self, clock: Clock = time.time) -> None:
        self._clock = clock
        self._sessions: dict[str, WebSession] = {}

    def open(self, member: Member | None = None) -> tuple[str, WebSession]:
        """A new session, the owner's or `member`'s: the cookie's value (given to the browser
        only) and what the server keeps."""
        if len(self._sessions) >= MAX_SESSIONS:
            oldest = min(self._sessions, key=lambda key: self._sessions[key].expires_at)
            del self._sessions[oldest]
        cookie = secrets.token_urlsafe(32)
        session = WebSession(secrets.token_urlsafe(32), self._clock() + SESSION_S, member)
        self._sessions[fingerprint(cookie)] = session
        return cookie, session

    def find(self, cookie: str | None) -> WebSession | None:
        if not cookie:
            return None
        key = fingerprint(cookie)
        session = self._sessions.get(key)
        if session is not None and session.expires_at <= self._clock():
            del self._sessions[key]
            return None
        return session

    def close(self, cookie: str | None) -> None:
        if cookie:
            self._sessions.pop(fingerprint(cookie), None)


def csrf_matches(session: WebSession, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(session.csrf.encode(), given.encode())


class OneTimeLinks:
    """Tokens for `musicbox web link`: each opens one session, once, within LINK_S."""

    def __init__(self, clock: Clock = time.time) -> None:
        self._clock = clock
        self._links: dict[str, float] = {}

    def issue(self) -> str:
        now = self._clock()
        self._links = {key: until for key, until in self._links.items() if until > now}
        token = secrets.token_urlsafe(32)
        self._links[fingerprint(token)] = now + LINK_S
        return token

    def redeem(self, token: str) -> bool:
        until = self._links.pop(fingerprint(token), None)
        return until is not None and until > self._clock()


class LoginThrottle:
    """Counts failed logins; `wait_s` says how long an address must wait before trying again."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._failures: deque[tuple[float, str]] = deque()

    def wait_s(self, address: str) -> float:
        now = self._clock()
        while self._failures and self._failures[0][0] <= now - FAILURE_WINDOW_S:
            self._failures.popleft()
        mine = [at for at, who in self._failures if who == address]
        if len(mine) >= FAILURES_PER_ADDRESS:
            return mine[-FAILURES_PER_ADDRESS] + FAILURE_WINDOW_S - now
        if len(self._failures) >= FAILURES_OVERALL:
            return self._failures[-FAILURES_OVERALL][0] + FAILURE_WINDOW_S - now
        return 0.0

    def failed(self, address: str) -> None:
        self._failures.append((self._clock(), address))
        if len(self._failures) > FAILURES_OVERALL:  # older ones can no longer decide anything
            self._failures.popleft()
