"""The owner's browser with the dashboard open, for `bench web`, in a process of its own (started
with nothing but the standard library): the simulator's process is busy being Discord for a hundred
members, and timing the page from its event loop would bill that work to the web page.

One open dashboard holds its live stream (/events, as the page's script does); meanwhile the
dashboard's JSON is fetched twice a second, and every two seconds the page is loaded afresh, on a new
connection with nothing cached: the HTML, then its stylesheet and script."""

from __future__ import annotations

import contextlib
import http.client
import os
import socket
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

JSON_EVERY_S = 0.5
PAGE_EVERY_S = 2.0
TIMEOUT_S = 30.0
ASSETS = ("/static/style.css", "/static/dashboard.js")


@dataclass(frozen=True, slots=True)
class PageTimings:
    json_ms: list[float]  # each fetch of /status.json, on the page's kept-alive connection
    page_ms: list[float]  # each first load: a new connection, the HTML, its stylesheet and script
    live_updates: int  # server-sent events the open page received


def poll(link_url: str, stop_file: str, most_s: float) -> PageTimings:
    """Log in with the one-time link, then poll until `stop_file` exists (or `most_s` passed).
    Returns the timings in ms and how many live updates the open page received."""
    address = urlsplit(link_url)
    host, port = address.hostname or "127.0.0.1", address.port or 80
    login = http.client.HTTPConnection(host, port, timeout=TIMEOUT_S)
    login.request("GET", address.path)
    answer = login.getresponse()
    answer.read()
    cookie = (answer.getheader("Set-Cookie") or "").split(";")[0]
    login.close()
    if answer.status != 303 or not cookie:
        raise RuntimeError(f"the one-time link did not log in (HTTP {answer.status})")
    headers = {"Cookie": cookie}
    live = _LiveStream(host, port, headers)
    live.start()
    json_ms: list[float] = []
    page_ms: list[float] = []
    kept = http.client.HTTPConnection(host, port, timeout=TIMEOUT_S)  # the page's own, kept alive
    deadline = time.monotonic() + most_s
    next_page = time.monotonic()
    try:
        while not os.path.exists(stop_file) and time.monotonic() < deadline:
            if time.monotonic() >= next_page:
                page_ms.append(_first_load(host, port, headers))
                next_page += PAGE_EVERY_S
            json_ms.append(_fetch(kept, "/status.json", headers))
            time.sleep(JSON_EVERY_S)
    finally:
        kept.close()
        live.stop()
    return PageTimings(json_ms, page_ms, live.updates)


def _fetch(connection: http.client.HTTPConnection, path: str, headers: dict[str, str]) -> float:
    started = time.perf_counter()
    connection.request("GET", path, headers=headers)
    answer = connection.getresponse()
    answer.read()
    if answer.status != 200:
        raise RuntimeError(f"{path} answered HTTP {answer.status}")
    return (time.perf_counter() - started) * 1000


def _first_load(host: str, port: int, headers: dict[str, str]) -> float:
    started = time.perf_counter()
    connection = http.client.HTTPConnection(host, port, timeout=TIMEOUT_S)
    try:
        for path in ("/", *ASSETS):
            _fetch(connection, path, headers)
    finally:
        connection.close()
    return (time.perf_counter() - started) * 1000


class _LiveStream(threading.Thread):
    """The open page's server-sent events, counted as they come."""

    def __init__(self, host: str, port: int, headers: dict[str, str]) -> None:
        super().__init__(daemon=True)
        self.updates = 0
        self._connection = http.client.HTTPConnection(host, port, timeout=TIMEOUT_S)
        self._headers = headers
        self._stopping = threading.Event()

    def run(self) -> None:
        try:
            self._connection.request("GET", "/events", headers=self._headers)
            stream = self._connection.getresponse()
            while not self._stopping.is_set():
                line = stream.readline()
                if not line:
                    return
                if line.startswith(b"event: "):
                    self.updates += 1
        except (OSError, http.client.HTTPException):
            return  # stopped: the socket was shut under the read

    def stop(self) -> None:
        self._stopping.set()
        sock = self._connection.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self.join(timeout=5)
        self._connection.close()
