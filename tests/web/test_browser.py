"""The web page in a real browser: Debian's headless Chromium (/usr/bin/chromium, driven by
Selenium through /usr/bin/chromedriver; nothing downloads a browser). The owner logs in and sees
the graphs and a server's queue; a member logs in through the simulator's Discord OAuth2, presses
Skip, and the simulator's listener hears the next song; a member without the DJ role is refused.
The screenshots in docs/ are taken here."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By

from musicbox.bot import text
from musicbox.bot.remote import RemoteControl
from musicbox.core.config import WebConfig
from musicbox.core.passwords import hash_password
from musicbox.service import health
from musicbox.service.vitals import Vitals, read_totals
from musicbox.sources.upstreams import Upstreams
from musicbox.store.api_tokens import ApiTokenStore
from musicbox.store.database import connect
from musicbox.store.vitals import VitalsStore
from musicbox.web.api import ApiAccess
from musicbox.web.discord_login import DiscordLogin
from musicbox.web.server import WebState, page_url, serving
from tests.world.fixture import ToneWorld
from tests.world.stage import stage

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
DOCS = Path(__file__).resolve().parents[2] / "docs"
PASSWORD = "correct horse battery"
SONG_S = 60  # long enough that the first song still plays when the member presses Skip, however slow the box


@contextlib.contextmanager
def chromium() -> Iterator[webdriver.Chrome]:
    # Named by path so Selenium never fetches a browser or a driver of its own.
    assert CHROMIUM.exists() and CHROMEDRIVER.exists(), (
        "apt-get install chromium chromium-driver (tests/run.sh does)"
    )
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=900,1200"):
        options.add_argument(flag)
    browser = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    try:
        yield browser
    finally:
        browser.quit()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def until(condition: Callable[[], object], within_s: float = 20.0) -> None:
    """Selenium blocks; each look runs in a thread so the bot and the simulator keep serving."""
    deadline = time.monotonic() + within_s
    while True:
        try:
            if await asyncio.to_thread(condition):
                return
        except WebDriverException:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError("the page never showed it")
        await asyncio.sleep(0.1)


def body(browser: webdriver.Chrome) -> str:
    return str(browser.find_element(By.TAG_NAME, "body").text)


def queue_titles(browser: webdriver.Chrome) -> list[str]:
    return [str(title.text) for title in browser.find_elements(By.CSS_SELECTOR, "ol.queue li .title")]


def drag(browser: webdriver.Chrome, title: str, onto: str) -> None:
    """Press the song's grip, move over the other song in a few steps, let go: what a mouse does."""
    items = {
        str(item.find_element(By.CLASS_NAME, "title").text): item
        for item in browser.find_elements(By.CSS_SELECTOR, "ol.queue li")
    }
    grip = items[title].find_element(By.CLASS_NAME, "grip")
    target = items[onto].find_element(By.CLASS_NAME, "grip")
    chain = ActionChains(browser).click_and_hold(grip).move_by_offset(0, 3)
    chain.move_to_element(target).move_by_offset(0, 1).release().perform()


async def test_the_owner_and_the_members_pages_in_chromium(tone_world: ToneWorld, tmp_path: Path) -> None:
    sim = tone_world.sim
    home = stage(sim)
    dave = home.guild.create_member("dave-home", roles=[home.guild.create_role("DJ")])
    database = connect(tmp_path / "state.sqlite3")
    async with tone_world.bot(dj_role="DJ") as bot:
        process = psutil.Process()
        vitals = Vitals(
            VitalsStore(database),
            lambda at: read_totals(bot.metrics, bot.audio, process, at),
            lambda: len(bot.sessions.guild_ids),
            every_s=0.3,
        )
        config = WebConfig(enabled=True, port=free_port(), password_hash=hash_password(PASSWORD))
        base = page_url(config, "127.0.0.1")
        errors = health.RecentErrors()

        def status() -> dict[str, object]:
            return health.snapshot(
                bot, upstreams=Upstreams(), started_at=time.time(), errors=errors, config_file="-", web=None
            )

        state = WebState(
            config,
            status,
            vitals=lambda: vitals.samples,
            api=ApiAccess(ApiTokenStore(database)),
            remote=RemoteControl(bot),
            discord_login=DiscordLogin(
                lambda: bot.application_id,
                sim.oauth.client_secret,
                sim.api_base,
                f"{base}login/discord/callback",
            ),
        )
        sampling = asyncio.get_running_loop().create_task(vitals.run())
        await dave.join_voice(home.voice)
        for rung in (1, 2, 3, 4):
            said = (
                await (await dave.run_command("play", home.text, query=f"tone:{rung}:{SONG_S}")).reply(
                    timeout=20
                )
            ).text()
            assert "Tone" in said
        await home.voice.heard().wait_for_rungs([1], timeout=20)
        try:
            async with serving(state):
                with chromium() as browser:
                    await asyncio.to_thread(browser.get, f"{base}login")
                    field = await asyncio.to_thread(browser.find_element, By.NAME, "password")
                    await asyncio.to_thread(field.send_keys, PASSWORD)
                    await asyncio.to_thread(field.submit)
                    await until(lambda: "online as" in body(browser))
                    await until(
                        lambda: browser.find_elements(
                            By.CSS_SELECTOR, 'figure[data-series="rss_mb"] polyline'
                        )
                    )
                    # Tone 1's start, from /play to its first packet, is in a sample by now.
                    first_audio = 'figure[data-series="first_audio_p95_ms"] figcaption b'
                    await until(
                        lambda: browser.find_element(By.CSS_SELECTOR, first_audio).text.endswith(" ms")
                    )
                    shown = body(browser)
                    assert "home" in shown and "Lounge" in shown and "Tone 1" in shown
                    assert "Last 24 hours" in shown and "memory:" in shown
                    await asyncio.to_thread(browser.save_screenshot, str(tmp_path / "web-dashboard.png"))

                with chromium() as browser:
                    await asyncio.to_thread(browser.get, f"{base}login")
                    await asyncio.to_thread(
                        lambda: browser.find_element(By.LINK_TEXT, "Members: log in with Discord").click()
                    )
                    await until(lambda: browser.find_element(By.ID, "authorize-dave-home"))
                    await asyncio.to_thread(
                        lambda: browser.find_element(By.ID, "authorize-dave-home").click()
                    )
                    await until(lambda: browser.find_element(By.LINK_TEXT, "home"))
                    await asyncio.to_thread(lambda: browser.find_element(By.LINK_TEXT, "home").click())
                    await until(lambda: "Tone 1" in body(browser) and "Tone 2" in body(browser))
                    await asyncio.to_thread(browser.save_screenshot, str(tmp_path / "web-member.png"))
                    skip = "form.skip button"
                    await asyncio.to_thread(lambda: browser.find_element(By.CSS_SELECTOR, skip).click())
                    await until(lambda: "Skipped" in body(browser))
                    await home.voice.heard().wait_for_rungs([1, 2], timeout=20)
                    told = "dave-home, from the web: Skipped **Tone 1**"  # in Discord, where /play was
                    await until(lambda: any(m.content.startswith(told) for m in home.text.messages))

                    # Up next: Tone 3, Tone 4. Dave drags Tone 4 by its grip onto Tone 3.
                    await until(lambda: len(browser.find_elements(By.CSS_SELECTOR, "ol.queue li")) == 2)
                    await asyncio.to_thread(drag, browser, "Tone 4", "Tone 3")
                    await until(
                        lambda: "Moved **Tone 4**" in body(browser) and "position 1." in body(browser)
                    )
                    await until(lambda: queue_titles(browser) == ["Tone 4", "Tone 3"])
                    assert [
                        entry.track.title for entry in bot.sessions.get(home.guild.id).queue.upcoming
                    ] == [
                        "Tone 4",
                        "Tone 3",
                    ]

                # Bob has no DJ role: with alice listening too, his Skip is a vote (two of three
                # needed), as /skip is in Discord; moving a song up is refused, as /move is.
                await home.bob.join_voice(home.voice)
                await home.alice.join_voice(home.voice)
                with chromium() as browser:
                    await asyncio.to_thread(browser.get, f"{base}login")
                    await asyncio.to_thread(
                        lambda: browser.find_element(By.LINK_TEXT, "Members: log in with Discord").click()
                    )
                    await until(lambda: browser.find_element(By.ID, "authorize-bob-home"))
                    await asyncio.to_thread(lambda: browser.find_element(By.ID, "authorize-bob-home").click())
                    await until(lambda: browser.find_element(By.LINK_TEXT, "home"))
                    await asyncio.to_thread(lambda: browser.find_element(By.LINK_TEXT, "home").click())
                    await until(lambda: browser.find_elements(By.CSS_SELECTOR, "form.skip button"))
                    await asyncio.to_thread(
                        lambda: browser.find_element(By.CSS_SELECTOR, "form.skip button").click()
                    )
                    await until(lambda: text.vote_counted(1, 2) in body(browser))
                    await asyncio.to_thread(
                        lambda: browser.find_element(By.CSS_SELECTOR, "form.move button").click()
                    )
                    await until(lambda: text.not_allowed("DJ") in body(browser))
                    assert "Tone 2" in body(browser)  # still playing: one vote of two
                    await asyncio.to_thread(browser.refresh)  # the refusal above, gone
                    await until(lambda: queue_titles(browser) == ["Tone 4", "Tone 3"])
                    await asyncio.to_thread(drag, browser, "Tone 3", "Tone 4")
                    await until(lambda: text.not_allowed("DJ") in body(browser))  # as /move says
                    assert queue_titles(browser) == ["Tone 4", "Tone 3"]
        finally:
            sampling.cancel()
            await asyncio.gather(sampling, return_exceptions=True)
    database.close()
    if os.environ.get("MUSICBOX_SCREENSHOTS"):  # refresh the ones in docs/ on purpose only
        for name in ("web-dashboard.png", "web-member.png"):
            shutil.copy(tmp_path / name, DOCS / name)
