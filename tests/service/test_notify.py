"""systemd's notification socket as a slow PID 1 presents it: a reader that has fallen behind."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

from musicbox.service.notify import Notifier


def test_a_reader_that_has_fallen_behind_never_blocks_the_bot(tmp_path: Path) -> None:
    address = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as systemd:
        systemd.bind(address)
        notifier = Notifier({"NOTIFY_SOCKET": address, "WATCHDOG_USEC": "1000000"})
        # Far more pings than the kernel queues for an unread datagram socket (10 to 512 by box).
        pinging = threading.Thread(target=lambda: [notifier.watchdog() for _ in range(2000)], daemon=True)
        pinging.start()
        pinging.join(timeout=10)
        assert not pinging.is_alive(), "a watchdog ping blocked on a full notification socket"
        assert systemd.recv(64) == b"WATCHDOG=1"
