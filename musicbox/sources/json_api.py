"""A public web API that answers a GET with a small JSON document: the radio directory, LRCLIB, SponsorBlock.

Each call goes through the egress gate as a document job (the answer capped, as any page a member's
words can make the box read), and its failures are sorted for `Upstreams`: a server error, a 429,
a refused connection or a timeout is the upstream failing (worth another try, counted against its
circuit); any other answer is a bad answer, not tried again."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import aiohttp

from musicbox.bot.sources import QueryFailed, UpstreamFault
from musicbox.sources.egress import EgressGate

# Public APIs of volunteer projects (LRCLIB, Radio Browser) ask every client to name itself.
USER_AGENT = "musicbox/1 (self-hosted Discord music bot)"


@dataclass(frozen=True)
class JsonApi:
    failing: str  # what a member reads when it does not answer: "the lyrics site is not answering…"
    answer_bytes: int  # a larger answer is not the API's
    timeout_s: float = 10.0

    async def get(self, egress: EgressGate, url: str, *, missing_ok: bool = False) -> Any:
        """The answer's JSON; None for a 404 when `missing_ok` (an API that says "no such record"
        that way). Raises QueryFailed."""
        with egress.job(document=True) as job:
            try:
                async with (
                    aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout_s)) as http,
                    http.get(url, proxy=job.proxy_url, headers={"User-Agent": USER_AGENT}) as response,
                ):
                    body = await response.content.read(self.answer_bytes + 1)
                    status = response.status
            except (aiohttp.ClientError, TimeoutError):
                raise QueryFailed(job.failure or self.failing, UpstreamFault.FAILING) from None
        if status == 404 and missing_ok:
            return None
        if status >= 500 or status == 429:
            raise QueryFailed(self.failing, UpstreamFault.FAILING)
        if status != 200 or len(body) > self.answer_bytes:
            raise QueryFailed(self.failing)
        try:
            return json.loads(body)
        except ValueError:
            raise QueryFailed(self.failing) from None
