"""Log records as the service writes them: redacted, whatever a library puts in them."""

from __future__ import annotations

import io
import logging

import pytest

from musicbox.core.secrets import REDACTED
from musicbox.service.secret_keeping import redact_logs

TOKEN = "MTIz.secret-bot-token"


def test_a_warning_whose_text_has_format_signs_of_its_own_is_written_whole_and_redacted(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """discord.py's "heartbeat blocked" warning pastes the event loop's stack into its format string,
    and a frame there holds a "%.2f" of its own: logging gave up on the line ("--- Logging error ---"
    on stderr, nothing redacted) just when the journal should say what blocked the loop."""
    written = io.StringIO()
    handler = logging.StreamHandler(written)
    logger = logging.getLogger("tests.heartbeat")
    logger.addHandler(handler)
    logger.propagate = False
    factory = logging.getLogRecordFactory()
    try:
        redact_logs([TOKEN])
        stack = f"  _log.exception('Disconnected from voice... Reconnecting in %.2fs.', retry)  # {TOKEN}"
        logger.warning("Shard ID %s voice heartbeat blocked for more than %s seconds\n" + stack, None, 10)
    finally:
        logging.setLogRecordFactory(factory)
        logger.removeHandler(handler)
    line = written.getvalue()
    assert "voice heartbeat blocked" in line and "Reconnecting in" in line and "(None, 10)" in line
    assert TOKEN not in line and REDACTED in line
    assert "Logging error" not in capsys.readouterr().err
