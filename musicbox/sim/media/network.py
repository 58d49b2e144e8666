"""The simulated internet's names and addresses, for the egress gate in tests and the demo.

A story names hosts (`evil.test`) and says what each lookup answers, in turn, so a name can answer a
public address and then 127.0.0.1 (DNS rebinding); it routes a public address to a local server, so
the gate can really connect where it judged it may. Nothing here reaches the real internet: an
address neither routed nor on this machine is refused like an unplugged cable."""

from __future__ import annotations

import asyncio
import collections
import ipaddress
import threading
from collections.abc import Sequence

from musicbox.core.egress import IpAddress, literal


class SimNetwork:
    def __init__(self) -> None:
        self._answers: dict[str, list[list[IpAddress]]] = {}
        self._routes: dict[tuple[IpAddress, int], tuple[str, int]] = {}
        self._lock = threading.Lock()
        self.lookups: collections.Counter[str] = collections.Counter()
        self.dialled: list[tuple[IpAddress, int]] = []

    def name(self, host: str, *answers: Sequence[str]) -> None:
        """`host`'s lookups answer `answers` in turn, the last one from then on."""
        with self._lock:
            self._answers[host.lower()] = [[ipaddress.ip_address(a) for a in answer] for answer in answers]

    def route(self, address: str, port: int, to: str) -> None:
        """Connections to the public `address`:`port` reach the local server `to` (host:port)."""
        host, _, local_port = to.rpartition(":")
        with self._lock:
            self._routes[(ipaddress.ip_address(address), port)] = (host, int(local_port))

    async def resolve(self, host: str, port: int) -> Sequence[IpAddress]:
        address = literal(host)
        if address is not None:
            return [address]
        with self._lock:
            self.lookups[host.lower()] += 1
            answers = self._answers.get(host.lower())
            if not answers:
                return []
            return answers.pop(0) if len(answers) > 1 else answers[0]

    async def dial(self, address: IpAddress, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        with self._lock:
            self.dialled.append((address, port))
            routed = self._routes.get((address, port))
        if routed is not None:
            return await asyncio.open_connection(*routed)
        if not address.is_loopback:
            raise ConnectionRefusedError(f"{address} is not on the simulated internet")
        return await asyncio.open_connection(str(address), port)
