"""The extraction workers: yt-dlp runs in processes of its own (`extraction.py`), as many at once as
the tuner allows resolvers, started on first use and retired after a while idle.

Why processes: yt-dlp's extraction is pure Python that holds the GIL for stretches, which the bot's
event loop paid for in its acknowledgement tail under a burst; its import alone is about 20 MiB the
bot no longer holds while nobody asks for a song; and a worker whose request is cancelled or
overruns its deadline is killed, whatever a hostile page made yt-dlp do, so it can neither hang nor
bloat the bot. The next request starts a fresh one."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from musicbox.sources.failures import query_failed

log = logging.getLogger(__name__)

# A new worker's first answer costs about 0.7 s of CPU here (some 4 s on a Pi Zero 2 W by the
# tuner's core speeds): importing yt-dlp,
# then compiling the URL pattern of each of its 1,800 extractors to find the one that fits. A minute
# keeps one ready for a member's next /play and a queue's prefetch, and still lets a guild listening
# to songs already resolved (or a bot nobody uses) hold no yt-dlp at all.
IDLE_S = 60.0
# yt-dlp's answers are cut down in the worker to what the resolver reads; a 500-entry playlist is
# well under a megabyte. A longer line is a worker gone wrong.
REPLY_LIMIT_BYTES = 16 * 2**20
LOST = "the extraction worker stopped"  # error text: reason_for turns it into the general sentence

Info = Mapping[str, Any]


@dataclass(eq=False)
class _Worker:
    process: asyncio.subprocess.Process
    idle_since: float = 0.0


class ExtractionWorkers:
    def __init__(self, size: int, *, idle_s: float = IDLE_S) -> None:
        self._slots = asyncio.Semaphore(size)
        self._idle_s = idle_s
        self._idle: list[_Worker] = []  # most recently used last: it is taken first, the rest age out
        self._all: set[_Worker] = set()
        self._retiring: asyncio.Task[None] | None = None
        self.started = 0  # processes started so far: what idle retirement costs shows up here

    @property
    def pids(self) -> list[int]:
        """The workers running now, busy or idle (the bot's memory figures count them)."""
        return [worker.process.pid for worker in self._all]

    async def extract(self, request: Mapping[str, Any], progress: Callable[[int, int], None]) -> Info:
        """yt-dlp's answer from a worker. Raises QueryFailed with yt-dlp's error as a sentence. A
        cancelled call (the deadline, the member gone) kills the worker it was using."""
        async with self._slots:
            worker = self._idle.pop() if self._idle else await self._start()
            try:
                reply = await self._ask(worker, request, progress)
            except BaseException:
                await _kill(worker)
                self._all.discard(worker)
                raise
            worker.idle_since = time.monotonic()
            self._idle.append(worker)
            self._retire_later()
        if "error" in reply:
            raise query_failed(str(reply["error"]))
        info = reply.get("info")
        if not isinstance(info, Mapping):
            raise query_failed(LOST)
        return info

    async def aclose(self) -> None:
        if self._retiring is not None:
            self._retiring.cancel()
            await asyncio.gather(self._retiring, return_exceptions=True)
        for worker in list(self._all):  # a busy one's caller reads end of file: "it could not be read"
            await _kill(worker)
        self._all.clear()
        self._idle.clear()

    async def _start(self) -> _Worker:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "musicbox.sources.extraction",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, limit=REPLY_LIMIT_BYTES,
        )  # fmt: skip
        self.started += 1
        worker = _Worker(process)
        self._all.add(worker)
        return worker

    async def _ask(
        self, worker: _Worker, request: Mapping[str, Any], progress: Callable[[int, int], None]
    ) -> dict[str, Any]:
        stdin, stdout = worker.process.stdin, worker.process.stdout
        assert stdin is not None and stdout is not None
        stdin.write(json.dumps(request).encode() + b"\n")
        await stdin.drain()
        while True:
            try:
                line = await stdout.readline()
            except ValueError:  # over REPLY_LIMIT_BYTES
                raise query_failed(LOST) from None
            if not line:
                log.warning("an extraction worker exited with %s", await worker.process.wait())
                raise query_failed(LOST)
            message = json.loads(line)
            if "progress" not in message:
                return dict(message)
            progress(*message["progress"])

    def _retire_later(self) -> None:
        if self._retiring is None or self._retiring.done():
            self._retiring = asyncio.get_running_loop().create_task(
                self._retire_idle(), name="retire-workers"
            )

    async def _retire_idle(self) -> None:
        """Until none is idle: each worker idle for `idle_s` is told to exit (stdin closed)."""
        while self._idle:
            oldest = min(worker.idle_since for worker in self._idle)
            await asyncio.sleep(max(0.0, oldest + self._idle_s - time.monotonic()))
            now = time.monotonic()
            for worker in [w for w in self._idle if now - w.idle_since >= self._idle_s]:
                self._idle.remove(worker)
                self._all.discard(worker)
                await _retire(worker)


async def _retire(worker: _Worker) -> None:
    stdin = worker.process.stdin
    assert stdin is not None
    stdin.close()
    try:
        async with asyncio.timeout(5):
            await worker.process.wait()
    except TimeoutError:
        await _kill(worker)


async def _kill(worker: _Worker) -> None:
    with contextlib.suppress(ProcessLookupError):
        worker.process.kill()
    # Shielded: a second cancellation of the caller must not leave the process unreaped.
    await asyncio.shield(worker.process.wait())
