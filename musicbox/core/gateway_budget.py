"""When the bot may send its next voice join over the gateway.

Joining or leaving a voice channel is a gateway payload (op 4). Discord closes a connection that sends
more than 120 payloads a minute, and discord.py keeps itself to 110 by making any further send wait
for the next window, silently. A voice join waiting there runs out its connect timeout and the member
reads "I couldn't join" (40 of 171 /play in a churn of 20 servers). So joins are paced here, before
they are sent, where the wait can be told to the member and does not count against the timeout.

Pure: the caller passes the clock and the record of what it sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class GatewayBudget:
    # discord.py's 110 a window, less room for IDENTIFY/RESUME and the requests discord.py's voice
    # code makes by itself (a reconnect, a timed-out join's leave). A sliding window of 100 keeps
    # every fixed window discord.py counts in (it starts at its first send) under 110 as well.
    sends: int = 100
    window_s: float = 60.0


def next_join_at(sent_at: Sequence[float], now: float, *, open_sessions: int, budget: GatewayBudget) -> float:
    """The earliest time, not before `now` nor before the last recorded send, at which a join fits.

    `sent_at`: when each join and leave was (or is due to be) sent, in order. A join counts twice,
    for itself and for the leave that ends its session: leaves release a guild and are never made
    to wait, so each open session (`open_sessions`, this join's own included) keeps room for its
    leave. At most half the budget is kept so, so a join always fits eventually.
    """
    kept_for_leaves = min(open_sessions, budget.sends // 2)
    room = budget.sends - kept_for_leaves - 1  # sends the window may hold besides this join
    at = max(now, sent_at[-1]) if sent_at else now
    recent = [sent for sent in sent_at if sent > at - budget.window_s]
    if len(recent) <= room:
        return at
    # The window ending then must have lost every send up to this one.
    return recent[len(recent) - room - 1] + budget.window_s
