"""The yt-dlp source against the media world: what a member gets for each kind of link."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import psutil
import pytest

from musicbox.bot.sources import QueryFailed
from musicbox.core.config import Config, PlaybackConfig, ResolverConfig
from musicbox.core.track import TrackId
from musicbox.sim.media import MediaWorld, entry
from musicbox.sim.media.network import SimNetwork
from musicbox.sources import egress as egress_gate
from musicbox.sources import ytdlp
from musicbox.sources.egress import EgressGate
from musicbox.sources.workers import ExtractionWorkers
from musicbox.sources.ytdlp import YtDlpSource
from musicbox.store.database import connect


def _config(world: MediaWorld, *, max_playlist: int = 1000, max_track_s: int = 3 * 3600) -> Config:
    return Config(
        resolver=ResolverConfig(
            workers=2, search_template=world.search_template, allowed_private_hosts=(world.host,)
        ),
        playback=PlaybackConfig(max_playlist=max_playlist, max_track_s=max_track_s),
    )


@pytest.fixture
def egress(media_world: MediaWorld) -> Iterator[EgressGate]:
    gate = EgressGate((media_world.host,))
    yield gate
    gate.close()


@pytest.fixture
async def source(media_world: MediaWorld, tmp_path: Path, egress: EgressGate) -> AsyncIterator[YtDlpSource]:
    resolver = YtDlpSource(
        _config(media_world), connect(tmp_path / "state.db"), egress=egress, probe_timeout_s=2.0
    )
    yield resolver
    await resolver.aclose()


def _plays_for(url: str) -> float:
    """Seconds of audio ffmpeg decodes from the media URL, as the player would read it."""
    pcm = subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-loglevel",
            "error",
            "-i",
            url,
            "-f",
            "s16le",
            "-ac",
            "1",
            "-ar",
            "8000",
            "-",
        ],
        capture_output=True,
        check=True,
        timeout=30,
    ).stdout
    return len(pcm) / 2 / 8000


@pytest.mark.parametrize("fmt", ["ogg", "mp3"])
async def test_a_direct_media_link_becomes_a_named_playable_track(
    source: YtDlpSource, media_world: MediaWorld, fmt: str
) -> None:
    url = media_world.track_url(4, fmt=fmt, seconds=3)
    [track] = await source.resolve(url)
    song = entry(4)
    assert (track.title, track.artist) == (song.title, song.artist)
    assert track.duration_s is not None and abs(track.duration_s - 3) < 0.1
    assert track.id == TrackId("http", url)
    assert abs(_plays_for(await source.media_url(track)) - 3) < 0.2
    assert source.extractions == 0  # the probe told everything: no yt-dlp run (nor its request)


async def test_an_audio_address_that_serves_no_audio_is_read_by_yt_dlp_and_told_as_such(
    source: YtDlpSource, media_world: MediaWorld
) -> None:
    with pytest.raises(QueryFailed, match="not audio"):
        await source.resolve(media_world.track_url(23, fault="not_audio"))
    assert source.extractions == 1


async def test_a_page_with_an_audio_element_plays_its_audio(
    source: YtDlpSource, media_world: MediaWorld
) -> None:
    [track] = await source.resolve(media_world.page_url(9, seconds=2))
    assert track.title == entry(9).title and track.duration_s is not None
    media = await source.media_url(track)
    assert media == media_world.track_url(9, seconds=2)
    assert abs(_plays_for(media) - 2) < 0.2


@pytest.mark.parametrize("kind", ["xspf", "rss", "html"])
async def test_a_playlist_of_fifty_reports_progress_and_keeps_order(
    source: YtDlpSource, media_world: MediaWorld, kind: str
) -> None:
    seen: list[tuple[int, int]] = []

    async def progress(done: int, total: int) -> None:
        seen.append((done, total))

    tracks = await source.resolve(media_world.playlist_url(50, kind=kind, first_index=100), progress=progress)
    assert [t.page_url for t in tracks] == [media_world.track_url(100 + i) for i in range(50)]
    assert len({t.id for t in tracks}) == 50
    assert seen[-1] == (50, 50) and len(seen) >= 5
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    if kind == "xspf":
        assert tracks[0].title == entry(100).title and tracks[0].duration_s == 8.0


async def test_a_playlist_over_the_limit_is_cut_one_past_it(
    media_world: MediaWorld, tmp_path: Path, egress: EgressGate
) -> None:
    resolver = YtDlpSource(_config(media_world, max_playlist=20), connect(tmp_path / "s.db"), egress=egress)
    try:
        tracks = await resolver.resolve(media_world.playlist_url(60, kind="xspf"))
    finally:
        await resolver.aclose()
    # One more than the limit: enough for the bot to say "over the limit" without listing 60.
    assert len(tracks) == 21


async def test_search_words_find_catalog_songs(source: YtDlpSource) -> None:
    found = await source.search("lanterns blue", limit=3)
    assert len(found) == 3 and all(t.title.startswith("Blue") for t in found)
    [top] = await source.resolve("lanterns blue harbour")
    assert top.title == "Blue Harbour" and top.duration_s == entry(0).duration_s
    assert await source.search("words nobody sings", limit=5) == []


async def test_a_repeated_query_is_answered_from_the_metadata_cache(
    source: YtDlpSource, media_world: MediaWorld
) -> None:
    url = media_world.playlist_url(5, kind="rss", first_index=300)
    first = await source.resolve(url)
    runs, served = source.extractions, len(media_world.requests("/playlist/rss?count=5&first=300"))
    second = await source.resolve(url)
    assert second == first
    assert source.extractions == runs
    assert len(media_world.requests("/playlist/rss?count=5&first=300")) == served == 1


async def test_the_cache_survives_a_restart_of_the_resolver(
    media_world: MediaWorld, tmp_path: Path, egress: EgressGate
) -> None:
    url = media_world.track_url(301, seconds=2)
    first = YtDlpSource(_config(media_world), connect(tmp_path / "s.db"), egress=egress)
    await first.resolve(url)
    await first.aclose()
    second = YtDlpSource(_config(media_world), connect(tmp_path / "s.db"), egress=egress)
    try:
        assert (await second.resolve(url))[0].title == entry(301).title
        assert second.extractions == 0
    finally:
        await second.aclose()


async def test_a_track_longer_than_the_limit_is_refused_with_both_lengths(
    media_world: MediaWorld, tmp_path: Path, egress: EgressGate
) -> None:
    resolver = YtDlpSource(_config(media_world, max_track_s=5), connect(tmp_path / "s.db"), egress=egress)
    try:
        with pytest.raises(QueryFailed, match=r"it is 0:08 long and this server plays songs up to 0:05"):
            await resolver.resolve(media_world.track_url(12, fmt="mp3"))
    finally:
        await resolver.aclose()


FAULT_REASONS = {
    "not_found": "404 Not Found",
    "forbidden": "403 Forbidden",
    "server_error": "server error",
    "redirect_loop": "redirects in a loop",
    "not_audio": "not audio",
    "stall": "stopped sending",
}


@pytest.mark.parametrize(("fault", "reason"), FAULT_REASONS.items())
async def test_each_broken_link_gets_a_clear_reason(
    source: YtDlpSource, media_world: MediaWorld, fault: str, reason: str
) -> None:
    with pytest.raises(QueryFailed) as failure:
        await source.resolve(media_world.track_url(20, fault=fault))
    assert reason in failure.value.reason and "\n" not in failure.value.reason


async def test_faults_the_header_cannot_show_are_met_at_play_time(
    source: YtDlpSource, media_world: MediaWorld
) -> None:
    # The wrong Content-Type is ignored: the bytes are audio, and the track plays whole.
    [mislabelled] = await source.resolve(media_world.track_url(21, seconds=2, fault="wrong_type"))
    assert abs(_plays_for(await source.media_url(mislabelled)) - 2) < 0.2
    # A body cut short cannot be told from its headers: it resolves, and plays only what arrived.
    [cut] = await source.resolve(media_world.track_url(22, fmt="wav", seconds=3, fault="truncated"))
    assert _plays_for(await source.media_url(cut)) < 1.5


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("file:///etc/passwd", "file:// links are not played"),
        ("http://127.0.0.1:1/admin", "does not lead to a public website"),
        ("http://10.0.0.1/a.ogg", "does not lead to a public website"),
        ("http://[::1]:9464/metrics", "does not lead to a public website"),
        ("http://localhost:9464/metrics", "does not lead to a public website"),
        ("https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC", "set up Spotify"),
    ],
)
async def test_unsafe_or_foreign_links_are_refused_before_any_fetch(
    source: YtDlpSource, query: str, reason: str
) -> None:
    with pytest.raises(QueryFailed, match=reason):
        await source.resolve(query)
    assert source.extractions == 0


async def test_another_port_on_the_media_worlds_host_is_refused(
    source: YtDlpSource, media_world: MediaWorld
) -> None:
    port = int(media_world.host.rpartition(":")[2])
    with pytest.raises(QueryFailed, match="does not lead to a public website"):
        await source.resolve(f"http://127.0.0.1:{port + 1}/media/1/8/x.ogg")


async def test_a_stalled_link_does_not_hold_up_another_members_song(
    source: YtDlpSource, media_world: MediaWorld
) -> None:
    loop = asyncio.get_running_loop()
    finished: dict[str, float] = {}

    async def timed(name: str, query: str) -> None:
        with contextlib.suppress(QueryFailed):
            await source.resolve(query)
        finished[name] = loop.time()

    # Both workers started first: a new one's first answer (0.7 s of CPU, seconds on a loaded box) is
    # not what this story is about.
    await asyncio.gather(*(source.resolve(media_world.page_url(n, seconds=2)) for n in (21, 22)))
    assert source.workers.started == 2
    started = loop.time()
    async with asyncio.TaskGroup() as group:
        group.create_task(timed("stalled", media_world.track_url(23, fault="stall")))
        await asyncio.sleep(0.05)
        group.create_task(timed("healthy", media_world.track_url(24, seconds=2)))
    assert finished["healthy"] < finished["stalled"]
    assert finished["healthy"] - started < 1.5


async def _until(condition: Callable[[], bool], within_s: float, what: str) -> None:
    for _ in range(int(within_s / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"not within {within_s} s: {what}")


def _rss_with_children() -> int:
    """This process's RSS and its children's: yt-dlp runs in extraction workers, ffprobe beside."""
    process = psutil.Process()
    total = process.memory_info().rss
    for child in process.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            total += child.memory_info().rss
    return total


async def _peak_rss_growth_mb(work: Awaitable[object]) -> float:
    """How far this process's RSS, with its children's, rose above where it started while `work` ran."""
    start = peak = _rss_with_children()
    task = asyncio.ensure_future(work)
    while not task.done():
        peak = max(peak, _rss_with_children())
        await asyncio.sleep(0.02)
    with contextlib.suppress(QueryFailed):
        task.result()
    return (peak - start) / 2**20


async def test_a_huge_page_is_cut_at_the_cap_and_the_member_told(
    source: YtDlpSource, media_world: MediaWorld
) -> None:
    with pytest.raises(QueryFailed, match=r"the page is too large to read \(over 2 MB\)"):
        await source.resolve(media_world.huge_page_url("told"))
    # The page is 200 MB; read whole it cost 409 MB of RSS.
    assert await _peak_rss_growth_mb(source.resolve(media_world.huge_page_url("rss"))) < 60


async def test_an_extraction_past_its_deadline_is_cut_frees_its_worker_and_charges_the_slow_host(
    media_world: MediaWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ytdlp, "EXTRACTION_TIMEOUT_S", 2.0)
    network = SimNetwork()
    network.name("hop.test", ["93.184.216.34"])
    network.name("slow.test", ["93.184.216.35"])
    network.route("93.184.216.34", 80, media_world.host)
    network.route("93.184.216.35", 80, media_world.host)
    gate = EgressGate((media_world.host,), resolve=network.resolve, dial=network.dial)
    config = Config(resolver=ResolverConfig(workers=1))  # one resolver: a stuck one would block all
    source = YtDlpSource(config, connect(tmp_path / "s.db"), egress=gate)
    try:
        # The worker started first: on a loaded box its start alone could outlast this 2 s deadline.
        await source.resolve(media_world.page_url(39, seconds=2))  # a page: a link to a file needs no yt-dlp
        link = "http://hop.test/redirect?to=" + quote("http://slow.test/drip?tag=deadline")
        started = time.monotonic()
        resolving = asyncio.ensure_future(source.resolve(link))
        await _until(lambda: bool(source.workers.pids), 10, "a worker started")
        [overrunning] = [psutil.Process(pid) for pid in source.workers.pids]
        with pytest.raises(QueryFailed, match=ytdlp.TOO_SLOW):
            await resolving
        assert time.monotonic() - started < 2.0 + 5.0
        assert not overrunning.is_running()  # killed, whatever yt-dlp was doing in it
        # The drip goes on for two minutes; a fresh worker answers the next link at once.
        [track] = await asyncio.wait_for(source.resolve(media_world.page_url(40, seconds=2)), timeout=10)
        assert track.title == entry(40).title
        assert source.workers.started == 2
        # The host that dripped is charged, not the one the member's link named.
        assert {h.name: h.consecutive_failures for h in source.upstreams.health()} == {"slow.test": 1}
    finally:
        await source.aclose()
        gate.close()


async def test_a_page_sent_a_byte_at_a_time_is_cut_long_before_the_deadline(
    media_world: MediaWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(egress_gate, "PACE_AFTER_S", 1.0)  # 10 s in service
    network = SimNetwork()
    network.name("drip.test", ["93.184.216.35"])
    network.route("93.184.216.35", 80, media_world.host)
    gate = EgressGate((), resolve=network.resolve, dial=network.dial)
    source = YtDlpSource(Config(resolver=ResolverConfig(workers=1)), connect(tmp_path / "s.db"), egress=gate)
    try:
        started = time.monotonic()
        with pytest.raises(QueryFailed, match=ytdlp.TOO_SLOW):
            await source.resolve("http://drip.test/drip?tag=pace")
        assert time.monotonic() - started < 5.0  # not the 60 s deadline
        assert {h.name: h.consecutive_failures for h in source.upstreams.health()} == {"drip.test": 1}
    finally:
        await source.aclose()
        gate.close()


async def test_a_member_leaving_mid_lookup_ends_its_worker_and_idle_workers_retire(
    source: YtDlpSource, media_world: MediaWorld
) -> None:
    source.workers = ExtractionWorkers(2, idle_s=1.0)
    lookup = asyncio.ensure_future(source.resolve(media_world.drip_url("leave")))
    await _until(lambda: bool(source.workers.pids), 10, "a worker started")
    [worker] = [psutil.Process(pid) for pid in source.workers.pids]
    await asyncio.sleep(0.3)
    lookup.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await lookup
    assert not worker.is_running() and source.workers.pids == []
    # A worker that answered stays for the next lookup, then leaves once idle: memory is spent only in use.
    await source.resolve(media_world.page_url(41, seconds=2))
    await source.resolve(media_world.page_url(42, seconds=2))
    assert source.workers.started == 2 and len(source.workers.pids) == 1
    await _until(lambda: not source.workers.pids, 10, "the idle worker retired")
    [track] = await source.resolve(media_world.page_url(43, seconds=2))
    assert track.title == entry(43).title and source.workers.started == 3
