"""Keeping the owner's secrets inside this process: out of every child's environment, and out of
every log line whichever library writes it (spotipy prints its request headers at debug level, and
`musicbox run --verbose` turns debug on)."""

from __future__ import annotations

import logging
from collections.abc import MutableMapping, Sequence
from typing import Any

from musicbox.core.secrets import OWN_PREFIX, redact


def keep_from_children(environ: MutableMapping[str, str]) -> None:
    """Take musicbox's own variables out of `environ` (pass `os.environ`, after reading it).

    Every child inherits the process environment whoever starts it (discord.py's ffmpeg, yt-dlp's
    ffprobe and Deno, our own subprocess calls), and a child's environment can be read back
    (/proc/PID/environ, a crash report), so MUSICBOX_TOKEN must not be in it."""
    for name in [name for name in environ if name.startswith(OWN_PREFIX)]:
        del environ[name]


def redact_logs(secrets: Sequence[str]) -> None:
    """From now on, every log record in this process is created with Authorization header values and
    `secrets` replaced, before any handler (journal, file, `musicbox status`'s recent errors) sees it."""
    create = logging.getLogRecordFactory()

    def redacted_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = create(*args, **kwargs)
        _redact_record(record, secrets)
        return record

    logging.setLogRecordFactory(redacted_record)


def _redact_record(record: logging.LogRecord, secrets: Sequence[str]) -> None:
    try:
        message = record.getMessage()
    except (TypeError, ValueError):
        # A message whose text has format signs of its own (discord.py pastes the event loop's
        # stack into its "heartbeat blocked" warning): kept as written, its arguments after it,
        # instead of being lost as a "Logging error" dump that nothing redacted.
        message = f"{record.msg} {record.args!r}"
    record.msg, record.args = redact(message, secrets), None
    if record.exc_info:
        record.exc_text = redact(logging.Formatter().formatException(record.exc_info), secrets)
    if record.stack_info:
        record.stack_info = redact(record.stack_info, secrets)
