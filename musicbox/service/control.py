"""The control socket: a Unix socket in the runtime directory through which `musicbox status` asks
the running bot how it is (`status`), `musicbox web link` asks it for a one-time login link and
`musicbox bench` for the stages of the last songs' starts (`starts`). One request line in, one
JSON document out.

The socket is created 0600 (the service user; root reads anything), so guild names and queue
contents are not readable by other local users. It is served, and asked, only in a directory no
other local user could have made first or can replace: under systemd that is the unit's
RuntimeDirectory; elsewhere the fallback can be /tmp/runtime-<uid>, which anyone could create
before the bot does (then the bot plays on without a control socket and says why)."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import itertools
import json
import logging
import os
import stat
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from musicbox.core.shards import ShardPlan

SOCKET_NAME = "control.sock"
SHARD_SOCKETS = "control-shards-*.sock"  # one per process of a sharded bot: socket_name()
REQUEST_LIMIT = 256  # bytes: requests are single words
# The bot answers from its event loop, which a box under load (a Pi also serving files, 200 songs
# being resolved) can keep busy for seconds; a listening socket means it runs, so give it time.
ANSWER_WAIT_S = 15.0

Snapshot = Callable[[], dict[str, Any]]
# A request with words after its name (`api-token create 1234 phone`): the rest of the line in.
Answer = Callable[[str], Any | Awaitable[Any]]
log = logging.getLogger(__name__)


class ControlUnavailable(Exception):
    """Nothing answers on the socket: the bot is not running (or runs as someone we cannot reach)."""


class BotUnresponsive(ControlUnavailable):
    """Something listens on the socket, so the bot runs, but it did not answer in time."""


def socket_path(runtime_dir: Path, name: str = SOCKET_NAME) -> Path:
    return runtime_dir / name


def socket_name(shards: ShardPlan | None) -> str:
    """The socket of an unsharded bot, or of the process running `shards` (several run on a box)."""
    return SOCKET_NAME if shards is None else SHARD_SOCKETS.replace("*", shards.label)


def sockets_found(runtime_dir: Path) -> list[str]:
    """The names of the control sockets in `runtime_dir`, the unsharded one first: which processes
    `musicbox status` asks. Just the unsharded name when there are none (so it says who is not
    listening)."""
    names = sorted(path.name for path in runtime_dir.glob(SHARD_SOCKETS))
    if socket_path(runtime_dir).exists() or not names:
        names.insert(0, SOCKET_NAME)
    return names


def unsafe(directory: Path) -> str | None:
    """Why another local user could have made `directory` first, or could replace what is in it, or
    None. Links are followed. Nothing above it may be writable by others unless sticky; in a sticky
    directory anyone may be first to take a name (/tmp), so what is there must be this user's or
    root's; and the directory itself may be written by its owner only."""
    me = os.geteuid()
    real = directory.resolve()
    chain = [*reversed(real.parents), real]  # from / down
    for parent, place in itertools.pairwise(chain):
        above = parent.stat()
        if above.st_mode & 0o022 and not above.st_mode & stat.S_ISVTX:
            return f"{parent} can be written by other users"
        try:
            info = place.stat()
        except FileNotFoundError:
            return None  # not made yet: whoever starts the bot makes the rest, privately
        if above.st_mode & 0o022 and info.st_uid not in (me, 0):
            return f"{place} was made by another user (uid {info.st_uid}) in {parent}, where anyone can"
    if real.stat().st_mode & 0o022:
        return f"{real} can be written by other users"
    return None


@contextlib.asynccontextmanager
async def serving(
    runtime_dir: Path,
    snapshot: Snapshot,
    others: Mapping[str, Answer] | None = None,
    *,
    name: str = SOCKET_NAME,
) -> AsyncIterator[Path | None]:
    """Serves status (and each request named in `others`) on the socket while the context lasts;
    yields its path, or None when the directory is not safe (the bot plays on, and this is logged
    once)."""
    answers: dict[str, Answer] = {"status": lambda _: snapshot(), **(others or {})}
    path = socket_path(runtime_dir, name)
    problem = await asyncio.to_thread(_clear_the_way, path)
    if problem is not None:
        log.error(
            "not serving `musicbox status`: %s, so another local user could pose as the bot; "
            "set RUNTIME_DIRECTORY to a directory only this user can write (systemd's unit does)",
            problem,
        )
        yield None
        return

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = (await asyncio.wait_for(reader.readline(), timeout=5)).decode(errors="replace")
            name, _, rest = request.strip().partition(" ")
            known = answers.get(name)
            reply = known(rest) if known is not None else {"error": f"unknown request {request!r}"}
            if inspect.isawaitable(reply):
                reply = await reply
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


def _clear_the_way(path: Path) -> str | None:
    """Makes the socket's directory private if it is missing; what is unsafe about it, or None."""
    problem = unsafe(path.parent)
    if problem is not None:
        return problem
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    problem = unsafe(path.parent)  # made by someone else between the check and the mkdir
    owner = path.parent.stat().st_uid
    if problem is None and owner != os.geteuid():
        problem = f"{path.parent} is not this user's (uid {owner}), so its owner could replace the socket"
    if problem is None:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()  # left by a killed predecessor; nothing can be listening on it any more
    return problem


async def ask_status(
    runtime_dir: Path, *, timeout_s: float = ANSWER_WAIT_S, name: str = SOCKET_NAME
) -> dict[str, Any]:
    result: dict[str, Any] = await ask(runtime_dir, "status", timeout_s=timeout_s, name=name)
    return result


async def ask(
    runtime_dir: Path, request: str, *, timeout_s: float = ANSWER_WAIT_S, name: str = SOCKET_NAME
) -> Any:
    path = socket_path(runtime_dir, name)
    problem = unsafe(runtime_dir)
    if problem is not None:  # whoever made it could answer in the bot's name
        raise ControlUnavailable(f"not asking {path}: {problem}")
    try:
        async with asyncio.timeout(timeout_s):
            reader, writer = await asyncio.open_unix_connection(str(path), limit=16 * 1024 * 1024)
            writer.write(request.encode() + b"\n")
            await writer.drain()
            line = await reader.readline()
            writer.close()
    except (FileNotFoundError, ConnectionRefusedError) as absent:
        raise ControlUnavailable(f"no bot is listening on {path}") from absent
    except PermissionError as denied:
        raise ControlUnavailable(f"{path} is not ours to read: try `sudo musicbox status`") from denied
    except TimeoutError as slow:
        raise BotUnresponsive(f"it did not answer on {path} within {timeout_s:g} s") from slow
    return json.loads(line)
