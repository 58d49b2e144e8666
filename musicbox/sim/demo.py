"""`musicbox demo`: the real bot against the built-in simulator, shown live in the terminal.

Nothing leaves the machine: a simulated Discord (gateway, REST, voice), the local media world and the
bot itself, built by the same composition root `musicbox run` uses, all on 127.0.0.1. A scripted
scene plays out; what members saw is what the simulator's Discord would show them, and what they
heard is decoded from the packets the bot really sent."""

from __future__ import annotations

import asyncio
import contextlib
import math
import re
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from musicbox.sim.discord import DiscordSim, Member, SimTextChannel, SimVoiceChannel
from musicbox.sim.media import MediaWorld, entry
from musicbox.sim.rig import rig_config, running_bot
from musicbox.sim.signature import LADDER_SIZE, ladder_index

SCENE_LIMIT_S = 120.0  # the whole scene, bounded even if something hangs
FIRST_SONG, PLAYLIST_FIRST, PLAYLIST_LENGTH = 7, 20, 3
# Bold markers, and a backslash before punctuation (discord.utils.escape_markdown's escapes).
_MARKDOWN = re.compile(r"(\*\*|\\[^A-Za-z0-9\s])")
_USER_MENTION = re.compile(r"<@!?(\d+)>")


@dataclass(frozen=True, slots=True)
class Line:
    at_s: float
    member: str
    typed: str
    saw: str
    private: bool
    ack_ms: float | None


@dataclass(slots=True)
class DemoOutcome:
    lines: list[Line] = field(default_factory=list)
    heard: list[str] = field(default_factory=list)  # titles, in the order the channel heard them
    failed_interactions: int = 0
    violations: list[str] = field(default_factory=list)

    @property
    def slowest_ack_ms(self) -> float:
        return max((line.ack_ms for line in self.lines if line.ack_ms is not None), default=0.0)

    @property
    def succeeded(self) -> bool:
        return not self.failed_interactions and not self.violations and len(self.heard) >= 3


class Scene:
    """Speaks as the members and keeps what they saw, for the live view and the summary."""

    def __init__(
        self, text: SimTextChannel, voice: SimVoiceChannel, *, song_s: float, names: Mapping[int, str]
    ) -> None:
        self.text = text
        self.voice = voice
        self.names = names
        self.song_s = song_s
        self.outcome = DemoOutcome()
        self._started = time.monotonic()

    async def command(self, member: Member, name: str, **options: object) -> None:
        interaction = await member.run_command(name, self.text, **options)
        try:
            reply = await interaction.reply(timeout=30)
            # All of it, as Discord shows it: /queue's list, a refusal's whole sentence.
            saw, private = with_names(reply.text().strip(), self.names), reply.ephemeral
        except AssertionError:
            saw, private = "The application did not respond", True
        if interaction.failed:
            self.outcome.failed_interactions += 1
        latency = interaction.ack_latency_s
        typed = " ".join([f"/{name}", *(f"{key}:{value}" for key, value in options.items())])
        self.outcome.lines.append(
            Line(
                at_s=time.monotonic() - self._started,
                member=member.name,
                typed=_shorten(typed, 60),
                saw=saw,
                private=private,
                ack_ms=None if latency is None else latency * 1000,
            )
        )

    async def listen(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    async def listen_until_heard(self, title: str, *, within_s: float) -> None:
        deadline = time.monotonic() + within_s
        while title not in self.heard_titles() and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        await self.listen(1.0)

    def heard_titles(self) -> list[str]:
        return [_title(rung) for rung in self.voice.heard().heard_rungs()]

    def now_playing(self) -> tuple[str, float]:
        """The song the channel hears now and its loudness in dBFS, from the decoded audio."""
        frames = self.voice.heard().frames[-10:]
        if not frames or all(frame.silent for frame in frames):
            return "silence", -90.0
        rms = math.sqrt(sum(frame.rms**2 for frame in frames) / len(frames))
        rung = ladder_index(frames[-1].freq_hz)
        return (_title(rung) if rung is not None else "…"), 20 * math.log10(max(rms, 1e-5))

    def render(self) -> Group:
        title, dbfs = self.now_playing()
        playing = Text.assemble(("♪ ", "bold magenta"), (title, "bold"), "\n", _meter(dbfs))
        return Group(
            Panel(
                conversation(self.outcome.lines[-12:]),
                title="#music: what members typed and saw (dim: only they saw it)",
            ),
            Panel(playing, title=f"{self.voice.name}: what listeners hear", border_style="magenta"),
        )


def conversation(lines: list[Line]) -> Table:
    """The channel as members saw it; a long reply wraps in its column rather than being cut."""
    table = Table(expand=True, show_edge=False)
    table.add_column("t", justify="right", width=6)
    table.add_column("member", width=6)
    table.add_column("typed", ratio=2)
    table.add_column("saw", ratio=3)
    table.add_column("ack", justify="right", width=7)
    for line in lines:
        ack = "-" if line.ack_ms is None else f"{line.ack_ms:.0f} ms"
        saw = discord_markdown(line.saw, style="italic dim" if line.private else "")
        table.add_row(f"{line.at_s:.1f}s", line.member, line.typed, saw, ack)
    return table


def with_names(text: str, names: Mapping[int, str]) -> str:
    """A member's mention as Discord's client shows it (`<@123>` reads "@alice"), not as sent."""
    return _USER_MENTION.sub(lambda found: "@" + names.get(int(found.group(1)), "unknown-user"), text)


def discord_markdown(text: str, *, style: str = "") -> Text:
    """A reply as Discord renders the markdown the bot uses: **bold**, and a backslash showing the
    character after it as typed (how the bot escapes titles). Built as Text, never parsed as rich
    markup, so a title's brackets stay brackets."""
    shown, bold = Text(style=style), False
    for piece in _MARKDOWN.split(text):
        if piece == "**":
            bold = not bold
        elif piece:
            shown.append(piece[1:] if _MARKDOWN.fullmatch(piece) else piece, style="bold" if bold else "")
    return shown


async def play_scene(scene: Scene, members: list[Member], media: MediaWorld) -> None:
    alice, bob, carol = members
    song_s = scene.song_s
    await alice.join_voice(scene.voice)
    await scene.command(alice, "play", query=entry(FIRST_SONG).full_title)
    await scene.listen(1.5)
    await bob.join_voice(scene.voice)
    playlist = media.playlist_url(PLAYLIST_LENGTH, kind="xspf", first_index=PLAYLIST_FIRST, seconds=song_s)
    await scene.command(bob, "play", query=playlist)
    await scene.command(carol, "play", query="file:///etc/passwd")  # not in voice: told to join first
    await carol.join_voice(scene.voice)
    await scene.command(carol, "play", query="file:///etc/passwd")  # in voice: the link is refused
    await scene.command(bob, "queue")
    await scene.listen(song_s - 1.0)
    await scene.command(alice, "now")
    await scene.command(alice, "pause")
    await scene.listen(1.0)
    await scene.command(alice, "resume")
    await scene.listen(1.5)
    await scene.command(bob, "skip")
    await scene.listen(song_s)
    await scene.command(alice, "queue")
    await scene.listen_until_heard(
        entry(PLAYLIST_FIRST + PLAYLIST_LENGTH - 1).full_title, within_s=3 * song_s
    )
    await scene.command(alice, "leave")


async def run_demo(console: Console, *, song_s: float = 5.0, state_dir: Path | None = None) -> DemoOutcome:
    with contextlib.ExitStack() as stack:
        directory = state_dir or Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix="musicbox-demo-"))
        )
        async with (
            DiscordSim.start() as sim,
            MediaWorld.start() as media,
            running_bot(sim, rig_config(sim, directory, media=media)),
        ):
            guild = sim.create_guild("Demo Server")
            text = guild.create_text_channel("music")
            voice = guild.create_voice_channel("Lounge")
            members = [guild.create_member(name) for name in ("alice", "bob", "carol")]
            scene = Scene(text, voice, song_s=song_s, names={member.id: member.name for member in members})
            with Live(scene.render(), console=console, refresh_per_second=8, get_renderable=scene.render):
                async with asyncio.timeout(SCENE_LIMIT_S):
                    await play_scene(scene, members, media)
            scene.outcome.heard = scene.heard_titles()
            scene.outcome.violations = [f"{v.code}: {v.detail}" for v in sim.unexpected_violations()]
            return scene.outcome
    raise AssertionError("unreachable")  # pragma: no cover - ExitStack does not swallow


def _title(rung: int) -> str:
    # The demo's songs all sit below LADDER_SIZE, so a rung names exactly one of them.
    return entry(rung % LADDER_SIZE).full_title


def _meter(dbfs: float, width: int = 40) -> Text:
    filled = max(0, min(width, round((dbfs + 60) / 60 * width)))
    return Text.assemble(("█" * filled, "green"), ("░" * (width - filled), "dim"), f" {dbfs:5.1f} dBFS")


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
