"""`musicbox update`: what it reports, and the smoke test it uses to decide on a rollback.

The upgrade itself reaches PyPI and changes the venv it runs in, so the suite does not run it; the
decision it rests on (is the upgraded tool chain healthy?) is checked here on the real tools."""

from __future__ import annotations

import json
from importlib.metadata import version

from musicbox.cli.update import smoke_test
from tests.fixtures.cli import run_musicbox


def test_check_lists_the_installed_yt_dlp_and_deno() -> None:
    ran = run_musicbox("update", "--check", "--json", check=True)
    assert json.loads(ran.stdout)["installed"] == {"yt-dlp": version("yt-dlp"), "deno": version("deno")}


def test_the_smoke_test_passes_on_a_healthy_tool_chain() -> None:
    assert smoke_test() == ""
