"""The control socket: a Unix socket in the runtime directory through which `musicbox status` asks
the running bot how it is. One request line in, one JSON document out.

The socket is created 0600 (the service user; root reads anything), so guild names and queue
contents are not readable by other local users."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

SOCKET_NAME = "control.sock"
REQUEST_LIMIT = 256  # bytes: requests are single words
# The bot answers from its event loop, which a box under load (a Pi also serving files, 200 songs
# being resolved) can keep busy for seconds; a listening socket means it runs, so give it time.
ANSWER_WAIT_S = 15.0

Snapshot = Callable[[], dict[str, Any]]


class ControlUnavailable(Exception):
    """Nothing answers on the socket: the bot is not running (or runs as someone we cannot reach)."""


class BotUnresponsive(ControlUnavailable):
    """Something listens on the socket, so the bot runs, but it did not answer in time."""


def socket_path(runtime_dir: Path) -> Path:
    return runtime_dir / SOCKET_NAME


@contextlib.asynccontextmanager
async def serving(runtime_dir: Path, snapshot: Snapshot) -> AsyncIterator[Path]:
    path = socket_path(runtime_dir)
    await asyncio.to_thread(_clear_the_way, path)

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = (await asyncio.wait_for(reader.readline(), timeout=5)).decode(errors="replace")
            reply = snapshot() if request.strip() == "status" else {"error": f"unknown request {request!r}"}
            writer.write(json.dumps(reply).encode() + b"\n")
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

    previous = os.umask(0o177)
    try:
        server = await asyncio.start_unix_server(answer, path=str(path), limit=REQUEST_LIMIT)
    finally:
        os.umask(previous)
    try:
        yield path
    finally:
        server.close()
        await server.wait_closed()
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _clear_the_way(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()  # left by a killed predecessor; nothing can be listening on it any more


async def ask_status(runtime_dir: Path, *, timeout_s: float = ANSWER_WAIT_S) -> dict[str, Any]:
    path = socket_path(runtime_dir)
    try:
        async with asyncio.timeout(timeout_s):
            reader, writer = await asyncio.open_unix_connection(str(path), limit=16 * 1024 * 1024)
            writer.write(b"status\n")
            await writer.drain()
            line = await reader.readline()
            writer.close()
    except (FileNotFoundError, ConnectionRefusedError) as absent:
        raise ControlUnavailable(f"no bot is listening on {path}") from absent
    except PermissionError as denied:
        raise ControlUnavailable(f"{path} is not ours to read: try `sudo musicbox status`") from denied
    except TimeoutError as slow:
        raise BotUnresponsive(f"it did not answer on {path} within {timeout_s:g} s") from slow
    result: dict[str, Any] = json.loads(line)
    return result
