"""The egress gate as a proxy: what it serves, what it refuses, and what it cuts."""

from __future__ import annotations

import asyncio
import base64
import os
import subprocess
from collections.abc import Iterator

import pytest
import requests

from musicbox.playback.direct import through_gate
from musicbox.sim.media import MediaWorld
from musicbox.sim.media.network import SimNetwork
from musicbox.sources.egress import REFUSED, EgressGate

PUBLIC = "93.184.216.34"


@pytest.fixture
def network(media_world: MediaWorld) -> SimNetwork:
    network = SimNetwork()
    network.name("music.test", [PUBLIC])
    network.route(PUBLIC, 80, media_world.host)
    return network


@pytest.fixture
def gate(network: SimNetwork) -> Iterator[EgressGate]:
    gate = EgressGate((), resolve=network.resolve, dial=network.dial, page_bytes=2**20)
    yield gate
    gate.close()


def fetch(url: str, proxy: str, **options: object) -> requests.Response:
    session = requests.Session()
    session.trust_env = False
    return session.get(url, proxies={"http": proxy, "https": proxy}, timeout=10, **options)  # type: ignore[arg-type]


def test_a_request_is_looked_up_once_and_sent_to_the_address_judged(
    gate: EgressGate, network: SimNetwork, media_world: MediaWorld
) -> None:
    with gate.job(document=True) as job:
        answer = fetch("http://music.test/media/3/2/song.ogg", job.proxy_url)
    assert answer.status_code == 200 and answer.content.startswith(b"OggS")
    assert network.lookups["music.test"] == 1
    assert [str(address) for address, _ in network.dialled] == [PUBLIC]
    assert job.failure is None


def test_a_request_without_a_job_token_is_not_relayed(gate: EgressGate, media_world: MediaWorld) -> None:
    port = gate.proxy_url.rpartition(":")[2]
    served = len(media_world.requests())
    anonymous = fetch("http://music.test/media/3/2/song.ogg", f"http://127.0.0.1:{port}")
    forged = fetch("http://music.test/media/3/2/song.ogg", f"http://musicbox:guess@127.0.0.1:{port}")
    assert anonymous.status_code == forged.status_code == 407
    assert len(media_world.requests()) == served


def test_a_private_destination_is_refused_by_plain_request_and_by_connect(
    gate: EgressGate, internal_host: MediaWorld
) -> None:
    with gate.job(document=True) as job:
        plain = fetch(internal_host.track_url(3), job.proxy_url)
        assert plain.status_code == 403 and REFUSED in plain.text
        with pytest.raises(requests.exceptions.ProxyError):
            fetch(f"https://{internal_host.host}/media/3/2/song.ogg", job.proxy_url)
    assert job.failure == REFUSED
    assert internal_host.requests() == []


def test_a_document_over_the_cap_is_cut_not_ended(gate: EgressGate, media_world: MediaWorld) -> None:
    with gate.job(document=True) as job, pytest.raises(requests.exceptions.RequestException):
        fetch("http://music.test/huge?tag=cap", job.proxy_url).raise_for_status()
    assert job.too_large and job.failure is not None and "over 1 MB" in job.failure


async def test_a_cancelled_job_has_its_connections_cut_and_names_the_host_it_waited_on(
    gate: EgressGate, network: SimNetwork, media_world: MediaWorld
) -> None:
    network.name("slow.test", ["93.184.216.35"])
    network.route("93.184.216.35", 80, media_world.host)
    with gate.job(document=True) as job:
        reading = asyncio.create_task(_read_all(job.proxy_url, "http://slow.test/drip?tag=cancel"))
        await asyncio.sleep(1.0)
        assert gate.cancel(job) == ["slow.test"]
        await asyncio.wait_for(reading, timeout=3)  # ends at once, not after the drip's 120 s
        late = await asyncio.to_thread(fetch, "http://music.test/media/3/2/song.ogg", job.proxy_url)
    assert late.status_code == 403  # nothing more for a cancelled job


async def _read_all(proxy: str, url: str) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", int(proxy.rpartition(":")[2]))
    token = proxy.split("@")[0].removeprefix("http://")
    auth = base64.b64encode(token.encode()).decode()
    writer.write(
        f"GET {url} HTTP/1.1\r\nHost: slow.test\r\nProxy-Authorization: Basic {auth}\r\n\r\n".encode()
    )
    await writer.drain()
    while await reader.read(1024):
        pass
    writer.close()


def test_an_owners_no_proxy_cannot_route_ffmpeg_around_the_gate(
    gate: EgressGate, internal_host: MediaWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ffmpeg honours no_proxy even when told -http_proxy; the owner's shell may well set one.
    monkeypatch.setenv("no_proxy", "*")
    with gate.job(document=False) as job:
        probe = subprocess.run(
            [
                "ffmpeg",
                "-nostdin",
                "-loglevel",
                "error",
                *through_gate(internal_host.track_url(3), job.proxy_url).split(),
                "-i",
                internal_host.track_url(3),
                "-f",
                "null",
                "-",
            ],
            capture_output=True,
            timeout=30,
            check=False,
        )
    assert probe.returncode != 0
    assert "no_proxy" not in os.environ
    assert internal_host.requests() == []
