"""systemd's notification protocol (sd_notify): one datagram per state change to $NOTIFY_SOCKET.

Tiny enough to speak directly rather than add a dependency; outside systemd every call is a no-op.
Every send is non-blocking: the bot calls this from its event loop, and a datagram socket whose reader
is behind (a busy PID 1; the kernel queues only net.unix.max_dgram_qlen datagrams, 10 on many boxes)
would otherwise block the loop for as long as the reader lags. A notification that does not fit is
dropped: the next watchdog ping follows within half the deadline."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Mapping


class Notifier:
    def __init__(self, environment: Mapping[str, str]) -> None:
        address = environment.get("NOTIFY_SOCKET", "")
        # A leading "@" names a socket in the abstract namespace.
        self._address = "\0" + address[1:] if address.startswith("@") else address
        watchdog_us = int(environment.get("WATCHDOG_USEC", "0") or 0)
        # Ping at half the deadline, as sd_watchdog_enabled(3) advises.
        self.watchdog_interval_s = watchdog_us / 2_000_000 if watchdog_us else 0.0

    @property
    def active(self) -> bool:
        return bool(self._address)

    def ready(self, status: str) -> None:
        self._send(f"READY=1\nSTATUS={status}")

    def status(self, status: str) -> None:
        self._send(f"STATUS={status}")

    def watchdog(self) -> None:
        self._send("WATCHDOG=1")

    def stopping(self) -> None:
        self._send("STOPPING=1\nSTATUS=stopping")

    def _send(self, message: str) -> None:
        if not self._address:
            return
        with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sender:
            sender.setblocking(False)
            sender.sendto(message.encode(), self._address)
