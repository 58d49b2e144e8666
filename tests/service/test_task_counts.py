"""What `status` counts as the bot's tasks: a /queue pager's timer (discord.py's, one per message
whose buttons time out, ending with its view) is counted apart, so the soak's floor of tasks rises
only for what the bot holds for good, not for a pager a member opened a minute before the end."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

from musicbox.bot.views import QueuePager
from musicbox.service.health import task_counts


async def test_a_pagers_timer_is_counted_apart_from_the_bots_own_tasks() -> None:
    before = task_counts()
    pager = QueuePager(lambda page: f"page {page}", 2)
    # What discord.py does once the message with the pager is sent: the view's timer starts.
    pager._start_listening_from_store(cast(Any, SimpleNamespace(remove_view=lambda view: None)))
    assert task_counts() == {"tasks": before["tasks"], "view_timers": before["view_timers"] + 1}
    pager.stop()
