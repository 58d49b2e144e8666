"""When a live stream that stopped is tried again, and when it is given up.

A stream ends by itself only when it dropped (a station's server fell over, the network hiccuped)
or died. Each end is a failure; one after a steady run (`STEADY_S` heard) is the first of a new
series, so a station that drops once an hour plays all day, and one that answers and drops at once,
or never answers, is given up after `LIVE_BACKOFF.max_attempts` tries, seconds later, with the queue
moving on. Pure: the caller passes the random draw of the backoff's jitter."""

from __future__ import annotations

from dataclasses import dataclass

from musicbox.core.backoff import BackoffPolicy

STEADY_S = 10.0
# Four tries within about 3.5 s at most: long enough for a station's server to restart, short
# enough that the members of a dead one are not left in silence.
LIVE_BACKOFF = BackoffPolicy(first_delay_s=0.5, max_delay_s=2.0, max_attempts=4)


@dataclass(frozen=True, slots=True)
class LiveVerdict:
    failures: int  # failures in the current series, this end included
    retry_in_s: float | None  # None: give the stream up


def after_end(
    heard_s: float, failures_before: int, draw: float, policy: BackoffPolicy = LIVE_BACKOFF
) -> LiveVerdict:
    """What to do when a live stream ended by itself after `heard_s` of audio."""
    failures = 1 if heard_s >= STEADY_S else failures_before + 1
    return LiveVerdict(failures, policy.delay_s(failures, draw))
