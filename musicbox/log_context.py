"""Which guild and which slash command a log line is about, on every line, without passing them
down through every call: the bot sets them where an interaction or a guild's task starts, and the
fields ride along with the asyncio task (and the tasks it starts) as context variables.

A line then reads `... guild=8123 command=play: ...`, so `journalctl -u musicbox -g guild=8123`
follows one server, and under journald each line starts with its syslog priority (`<4>` for a
warning), so `journalctl -p warning` and `musicbox logs --level warning` select by severity."""

from __future__ import annotations

import logging
from contextvars import Context, ContextVar, copy_context

guild: ContextVar[int | None] = ContextVar("guild", default=None)
command: ContextVar[str | None] = ContextVar("command", default=None)

FIELDS = "guild=%(guild)s command=%(command)s"
# journald's stream reader takes a leading <N> as the line's priority (SyslogLevelPrefix=yes).
JOURNAL_FORMAT = f"<%(priority)d>%(levelname)s %(name)s {FIELDS}: %(message)s"
_PRIORITY = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3, logging.CRITICAL: 2}


class Fields(logging.Filter):
    """Adds `guild`, `command` and `priority` to each record a handler formats ("-" when unset)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.guild = guild.get() or "-"
        record.command = command.get() or "-"
        record.priority = _PRIORITY.get(record.levelno, 6)
        return True


def about(guild_id: int | None, command_name: str | None) -> None:
    """From here on in this task (and the tasks it starts), lines are about this guild and command."""
    guild.set(guild_id)
    command.set(command_name)


def for_guild(guild_id: int) -> Context:
    """A context for a guild's own long-lived task: its guild, and no command (a player task started
    by a /play outlives it)."""
    context = copy_context()
    context.run(about, guild_id, None)
    return context
