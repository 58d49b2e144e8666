"""`musicbox update`: upgrade yt-dlp and Deno inside musicbox's own venv (YouTube changes often; an old
yt-dlp is the usual reason a song stops resolving), smoke-test the result, and roll back to the
versions that worked if the test fails. musicbox-update.timer runs it weekly.

The versions in place before each upgrade are recorded in the venv itself (they describe it, and
uninstalling removes both), so `musicbox update --rollback` can also undo an upgrade that passed the
smoke test but misbehaves later."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import threading
import wave
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import typer
from rich.markup import escape

from musicbox.cli.console import FAILURE, err, fail, out, print_json
from musicbox.service.unit import has_systemd, is_installed, systemctl
from musicbox.service.update_state import remember

# What YouTube breaks and upstream fixes: only these are upgraded, everything else stays pinned.
UPDATED = ("yt-dlp", "deno")
PIP_TIMEOUT_S = 600
CHECK_TIMEOUT_S = 60
RECORD = Path(sys.prefix) / "musicbox-update.json"
VENV_BIN = Path(sys.executable).parent
# No user config, no cache, no proxy: the smoke test judges yt-dlp itself, not the box's settings.
YTDLP_OFFLINE = ("--ignore-config", "--no-cache-dir", "--proxy", "")

Versions = dict[str, str]


def update(
    check: bool = typer.Option(False, "--check", help="Only show the installed and recorded versions."),
    rollback: bool = typer.Option(
        False, "--rollback", help="Go back to the versions in place before the last upgrade."
    ),
    restart: bool = typer.Option(False, "--restart", help="Restart the service if anything changed."),
    json_output: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Upgrade yt-dlp and Deno, smoke-test, roll back if the test fails."""
    before = installed()
    if check:
        _report(before, {"previous": recorded()}, json_output)
        return
    if rollback:
        _roll_back(before, restart, json_output)
        return
    if not json_output:
        out.print(f"upgrading {', '.join(UPDATED)} (now {escape(_versions(before))})…")
    record(before)
    problem = _pip("install", "--upgrade", "yt-dlp[default]", "deno") or smoke_test()
    if problem:
        undone = _pip("install", *pins(before))
        remember(installed(), "failed" if undone else "rolled back", problem)
        _report(installed(), {"rolled_back": True, "problem": problem}, json_output)
        if undone:
            err.print(
                f"[red]error:[/] the upgrade failed ({escape(problem)}), "
                f"and so did going back ({escape(undone)})"
            )
            err.print("  Run `sudo ./install.sh` again to reinstall musicbox.")
        else:
            err.print(
                f"[red]error:[/] the upgrade failed ({escape(problem)}); "
                f"went back to {escape(_versions(before))}"
            )
        raise typer.Exit(FAILURE)
    after = installed()
    changed = after != before
    remember(after, "upgraded" if changed else "unchanged")
    _restart_if(changed and restart)
    _report(after, {"changed": changed, "restarted": changed and restart}, json_output)


def _roll_back(current: Versions, restart: bool, json_output: bool) -> None:
    previous = recorded()
    if not any(previous.values()):
        fail("no earlier versions are recorded", "`musicbox update` records them before it upgrades.")
    if not json_output:
        out.print(f"going back to {escape(_versions(previous))} (now {escape(_versions(current))})…")
    problem = _pip("install", *pins(previous)) or smoke_test()
    if problem:
        remember(installed(), "failed", problem)
        fail(f"going back failed ({problem})", "Run `sudo ./install.sh` again to reinstall musicbox.")
    after = installed()
    remember(after, "went back")
    _restart_if(after != current and restart)
    _report(after, {"rolled_back": True, "changed": after != current}, json_output)


def installed() -> Versions:
    found = {}
    for name in UPDATED:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = ""
    return found


def pins(versions: Versions) -> list[str]:
    """pip requirements that put exactly these versions back; a package that was missing stays as is."""
    return [f"{name}=={number}" for name, number in versions.items() if number]


def record(versions: Versions) -> None:
    RECORD.write_text(json.dumps(versions) + "\n")


def recorded() -> Versions:
    try:
        document = json.loads(RECORD.read_text())
    except (OSError, json.JSONDecodeError):
        return {}
    return {name: str(document.get(name, "")) for name in UPDATED}


def smoke_test() -> str:
    """ "" when the upgraded tool chain works as the bot uses it; else the first thing that broke.

    Each check runs the freshly installed code in a new process: this one still has the old modules."""
    for check in (_imports, _ytdlp_runs, _ytdlp_extracts, _deno_runs, _ffmpeg_present):
        problem = check()
        if problem:
            return problem
    return ""


def _imports() -> str:
    return _run("importing yt_dlp", sys.executable, "-c", "import yt_dlp, deno")


def _ytdlp_runs() -> str:
    return _run("yt-dlp --version", str(VENV_BIN / "yt-dlp"), "--version")


def _ytdlp_extracts() -> str:
    # A direct media link on 127.0.0.1 goes through yt-dlp's generic extractor, network stack and
    # format handling with no upstream site involved, so the check runs offline and cannot flake.
    try:
        with _media_server() as url:
            ran = _completed(str(VENV_BIN / "yt-dlp"), *YTDLP_OFFLINE, "--dump-json", "--no-playlist", url)
    except OSError as error:  # no loopback to serve the file on: the box could not stream either
        return f"yt-dlp extraction: cannot serve a test file on 127.0.0.1 ({error})"
    if isinstance(ran, str):
        return f"yt-dlp extraction: {ran}"
    try:
        found = json.loads(ran.stdout).get("url")
    except json.JSONDecodeError:
        found = None
    return "" if found == url else f"yt-dlp extraction: {_last_line(ran.stderr) or 'no media URL'}"


def _deno_runs() -> str:
    ran = _completed(sys.executable, "-c", "import deno; print(deno.find_deno_bin())")
    if isinstance(ran, str):
        return f"finding deno: {ran}"
    return _run("deno --version", ran.stdout.strip(), "--version")


def _ffmpeg_present() -> str:
    binary = shutil.which("ffmpeg")
    return _run("ffmpeg -version", binary, "-version") if binary else "ffmpeg is not installed"


def _run(what: str, *command: str) -> str:
    ran = _completed(*command)
    return f"{what}: {ran}" if isinstance(ran, str) else ""


def _completed(*command: str) -> subprocess.CompletedProcess[str] | str:
    """The finished process, or why it failed as one line."""
    try:
        ran = subprocess.run(command, capture_output=True, text=True, timeout=CHECK_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        return str(error)
    if ran.returncode != 0:
        return _last_line(ran.stderr) or f"exit status {ran.returncode}"
    return ran


def _last_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[-1][-300:] if lines else ""


@contextmanager
def _media_server() -> Iterator[str]:
    body = _silence_wav()
    handler = _handler_for(body)
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/smoke.wav"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _handler_for(body: bytes) -> Callable[..., BaseHTTPRequestHandler]:
    class Media(BaseHTTPRequestHandler):
        def do_HEAD(self) -> None:
            self._headers()

        def do_GET(self) -> None:
            self._headers()
            self.wfile.write(body)

        def _headers(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "audio/wav")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Media


def _silence_wav() -> bytes:
    """A quarter second of 48 kHz mono silence: the smallest file that is unmistakably audio."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(48_000)
        writer.writeframes(b"\0\0" * 12_000)
    return buffer.getvalue()


def _restart_if(wanted: bool) -> None:
    if wanted and has_systemd() and is_installed():
        systemctl("restart")


def _pip(*arguments: str) -> str:
    ran = subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", *arguments],
        capture_output=True,
        text=True,
        timeout=PIP_TIMEOUT_S,
        check=False,
    )
    return "" if ran.returncode == 0 else (_last_line(ran.stderr) or "pip failed")


def _versions(found: Versions) -> str:
    return ", ".join(f"{name} {number or 'missing'}" for name, number in found.items())


def _report(found: Versions, outcome: dict[str, object], json_output: bool) -> None:
    if json_output:
        print_json({"installed": found, **outcome})
        return
    verb = "unchanged" if outcome.get("changed") is False else "installed"
    out.print(f"[green]✓[/] {verb}: {escape(_versions(found))}")
    previous = outcome.get("previous")
    if isinstance(previous, dict) and any(previous.values()):
        out.print(f"  before the last upgrade: {escape(_versions(previous))} (`musicbox update --rollback`)")
