"""Who may see the web page, decided without a server or a wall clock: sessions that expire, links
that work once, and a throttle that stops a guesser without locking the owner out for long."""

from __future__ import annotations

from musicbox.web.auth import (
    FAILURE_WINDOW_S,
    FAILURES_OVERALL,
    FAILURES_PER_ADDRESS,
    LINK_S,
    MAX_SESSIONS,
    SESSION_S,
    LoginThrottle,
    OneTimeLinks,
    WebSessions,
    csrf_matches,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_session_is_found_by_its_cookie_until_it_expires_or_is_closed() -> None:
    clock = Clock()
    sessions = WebSessions(clock)
    cookie, session = sessions.open()
    assert sessions.find(cookie) == session
    assert sessions.find("a guessed cookie") is None and sessions.find(None) is None
    clock.now += SESSION_S + 1
    assert sessions.find(cookie) is None
    cookie, _ = sessions.open()
    sessions.close(cookie)
    assert sessions.find(cookie) is None


def test_logging_in_forever_keeps_only_the_newest_sessions() -> None:
    clock = Clock()
    sessions = WebSessions(clock)
    first, _ = sessions.open()
    for _ in range(MAX_SESSIONS):
        clock.now += 1
        last, _ = sessions.open()
    assert sessions.find(first) is None and sessions.find(last) is not None


def test_a_change_needs_the_sessions_own_csrf_token() -> None:
    _, session = WebSessions(Clock()).open()
    _, other = WebSessions(Clock()).open()
    assert csrf_matches(session, session.csrf)
    assert not csrf_matches(session, other.csrf)
    assert not csrf_matches(session, None) and not csrf_matches(session, "")


def test_a_one_time_link_works_once_and_only_within_ten_minutes() -> None:
    clock = Clock()
    links = OneTimeLinks(clock)
    token = links.issue()
    assert links.redeem(token)
    assert not links.redeem(token)
    late = links.issue()
    clock.now += LINK_S + 1
    assert not links.redeem(late)
    assert not links.redeem("made up")


def test_a_guesser_is_stopped_after_five_failures_and_may_try_again_once_the_window_moves() -> None:
    clock = Clock()
    throttle = LoginThrottle(clock)
    for _ in range(FAILURES_PER_ADDRESS):
        assert throttle.wait_s("192.168.1.66") == 0
        throttle.failed("192.168.1.66")
        clock.now += 1
    assert throttle.wait_s("192.168.1.66") > FAILURE_WINDOW_S - FAILURES_PER_ADDRESS - 1
    assert throttle.wait_s("192.168.1.20") == 0  # the owner's phone is not locked out by the guesser
    clock.now += FAILURE_WINDOW_S
    assert throttle.wait_s("192.168.1.66") == 0


def test_many_guessers_together_close_the_login_for_everyone_for_a_while() -> None:
    clock = Clock()
    throttle = LoginThrottle(clock)
    for attempt in range(FAILURES_OVERALL):
        throttle.failed(f"10.0.0.{attempt}")
    assert throttle.wait_s("10.0.1.1") > 0
    clock.now += FAILURE_WINDOW_S + 1
    assert throttle.wait_s("10.0.1.1") == 0
