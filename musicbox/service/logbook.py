"""The bot's log when journald is not there to keep it: a rotating file in the state directory, and
the reading side `musicbox logs` uses (since when, how severe)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from logging.handlers import RotatingFileHandler
from pathlib import Path

from musicbox import log_context

LOG_FILE = "musicbox.log"
LINE_FORMAT = f"%(asctime)s %(levelname)s %(name)s {log_context.FIELDS}: %(message)s"
_MAX_BYTES = 5 * 2**20
_BACKUPS = 3  # 20 MB at most: a Pi's SD card is not a log archive

LEVELS = ("debug", "info", "warning", "error")
# journalctl's -p takes syslog priorities.
JOURNAL_PRIORITY = {"debug": "7", "info": "6", "warning": "4", "error": "3"}

_RELATIVE = re.compile(r"^(\d+)\s*(s|m|min|h|d)$")
_UNIT_SECONDS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86_400}
_STAMP = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),\d+ ([A-Z]+) ")


class BadSince(ValueError):
    pass


def file_handler(state_dir: Path) -> logging.Handler:
    state_dir.mkdir(parents=True, exist_ok=True)
    handler = RotatingFileHandler(state_dir / LOG_FILE, maxBytes=_MAX_BYTES, backupCount=_BACKUPS)
    handler.setFormatter(logging.Formatter(LINE_FORMAT))
    handler.addFilter(log_context.Fields())
    return handler


def parse_since(text: str, now: datetime) -> datetime:
    """ "10m", "2h", "1d" ago, or a local "YYYY-MM-DD[ HH:MM[:SS]]"."""
    relative = _RELATIVE.match(text.strip())
    if relative:
        return now - timedelta(seconds=int(relative[1]) * _UNIT_SECONDS[relative[2]])
    for layout in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            return datetime.strptime(text.strip(), layout)
        except ValueError:
            continue
    raise BadSince(f"--since {text!r} is neither a span like 10m, 2h, 1d nor a date like 2026-11-24 18:00")


def describe_span(seconds: float) -> str:
    """A span as the owner typed it ("7 days", "1 day 12 hours"), to the nearest second: "7d" is
    measured on a float clock, which a timedelta shows as "6 days, 23:59:59"."""
    left, parts = round(seconds), []
    for name, size in (("day", 86_400), ("hour", 3600), ("minute", 60), ("second", 1)):
        count, left = divmod(left, size)
        if count:
            parts.append(f"{count} {name}{'' if count == 1 else 's'}")
    return " ".join(parts) or "0 seconds"


@dataclass(frozen=True, slots=True)
class Entry:
    at: datetime | None  # None: a continuation line (a traceback) of the entry before it
    level: str
    text: str


def entries(lines: Iterable[str]) -> Iterator[Entry]:
    level = "info"
    for line in lines:
        stamp = _STAMP.match(line)
        if stamp is None:
            yield Entry(None, level, line)
            continue
        level = stamp[2].lower()
        yield Entry(datetime.strptime(stamp[1], "%Y-%m-%d %H:%M:%S"), level, line)


def select(found: Iterable[Entry], *, since: datetime | None, min_level: str) -> Iterator[str]:
    """The lines at or above `min_level` from `since` on; a traceback follows the line it belongs to."""
    floor = LEVELS.index(min_level)
    keep = False
    for entry in found:
        if entry.at is not None:
            recent = since is None or entry.at >= since
            keep = recent and LEVELS.index(_known(entry.level)) >= floor
        if keep:
            yield entry.text


def _known(level: str) -> str:
    return "error" if level == "critical" else level if level in LEVELS else "info"


def log_files(state_dir: Path) -> list[Path]:
    """Oldest first, so lines come out in the order they were written."""
    newest = state_dir / LOG_FILE
    rotated = [state_dir / f"{LOG_FILE}.{n}" for n in range(_BACKUPS, 0, -1)]
    return [path for path in (*rotated, newest) if path.exists()]
