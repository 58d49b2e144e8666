"""`musicbox setup` and `musicbox doctor` know where the bot keeps its things: a PostgreSQL URL is
checked (reached, at a schema version this musicbox can use) before setup writes it (the same
check, store_finding, that doctor reports), and doctor fails on a server it cannot reach; the
password never shows."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest

from musicbox.cli.store import store_finding
from musicbox.core import diagnosis
from musicbox.core.config import PathsConfig
from musicbox.core.config_rules import ConfigError, parse_config
from musicbox.core.diagnosis import Verdict
from musicbox.sim.discord import DiscordSim
from musicbox.store import schema
from musicbox.store.config_file import load_config
from musicbox.store.postgres import PostgresConnection
from tests.cli.test_setup import WRONG_TOKEN, box, setup
from tests.fixtures.postgres import Cluster


@pytest.mark.parametrize(
    ("version", "problem", "verdict", "said"),
    [
        (
            None,
            "cannot reach PostgreSQL at postgresql://bot:***@db/music: refused",
            Verdict.FAIL,
            "cannot reach",
        ),
        (0, None, Verdict.OK, "empty (the bot makes its tables at its first start)"),
        (1, None, Verdict.OK, "schema version 1 (the next start upgrades it to 2)"),
        (2, None, Verdict.OK, "reached, schema version 2"),
        (3, None, Verdict.FAIL, "newer than this musicbox knows (2)"),
    ],
)
def test_what_doctor_concludes_from_the_server(
    version: int | None, problem: str | None, verdict: Verdict, said: str
) -> None:
    finding = diagnosis.store("postgresql://bot:***@db/music", version, problem, current=2)
    assert finding.verdict is verdict and said in finding.detail
    assert (verdict is Verdict.FAIL) == bool(finding.fix)


def test_a_store_url_that_is_not_postgresql_is_refused_without_being_echoed() -> None:
    with pytest.raises(ConfigError) as refused:
        parse_config(
            {"store": {"url": "mysql://root:hunter2@db/music"}}, {}, PathsConfig(), source="musicbox.toml"
        )
    assert (
        refused.value.where == "musicbox.toml [store] url"
        and "is not a PostgreSQL URL" in refused.value.problem
    )
    assert "hunter2" not in str(refused.value)


def test_the_server_is_reached_and_its_schema_version_read(postgres: Cluster, tmp_path: Path) -> None:
    url = postgres.new_database()
    assert store_finding(url).detail.endswith("empty (the bot makes its tables at its first start)")
    schema.upgrade(PostgresConnection(url))
    assert store_finding(url).detail.endswith(f"reached, schema version {schema.CURRENT}")
    away = store_finding(f"postgresql://bot:hunter2@/music?host={tmp_path}")
    assert away.verdict is Verdict.FAIL and "postgresql://bot:***@" in away.detail
    assert "hunter2" not in away.detail + away.fix


async def test_doctor_fails_on_a_server_it_cannot_reach(tmp_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "musicbox", "doctor", "--json",
        env={**os.environ, "MUSICBOX_CONFIG": str(tmp_path / "none.toml"), "CACHE_DIRECTORY": str(tmp_path),
             "STATE_DIRECTORY": str(tmp_path), "MUSICBOX_STORE_URL": f"postgresql://bot:hunter2@/m?host={tmp_path}"},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, _ = await asyncio.wait_for(process.communicate(), timeout=90)
    assert process.returncode == 1
    found = {finding["check"]: finding for finding in json.loads(stdout)}
    assert found["store"]["verdict"] == "fail" and "cannot reach PostgreSQL" in found["store"]["detail"]
    assert b"hunter2" not in stdout


async def test_setup_writes_a_store_url_once_its_server_answered(
    discord_sim: DiscordSim, postgres: Cluster, tmp_path: Path
) -> None:
    environment = {**box(discord_sim, tmp_path), "MUSICBOX_TOKEN": discord_sim.bot_token}
    url_file = tmp_path / "store-url"
    url = postgres.new_database()
    url_file.write_text(url + "\n")
    code, stdout, stderr = await setup(environment, "--store-url-file", str(url_file))
    assert code == 0, stderr
    assert "reached; empty" in stdout
    assert load_config(environment).store.url == url


async def test_the_bot_does_not_start_on_a_server_it_cannot_reach_and_says_so_in_one_line(
    tmp_path: Path,
) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "musicbox", "run",
        env={**os.environ, "MUSICBOX_CONFIG": str(tmp_path / "none.toml"), "STATE_DIRECTORY": str(tmp_path),
             "CACHE_DIRECTORY": str(tmp_path), "RUNTIME_DIRECTORY": str(tmp_path),
             "MUSICBOX_TOKEN": WRONG_TOKEN, "MUSICBOX_STORE_URL": f"postgresql://bot:hunter2@/m?host={tmp_path}"},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=90)
    said = stderr.decode()
    assert process.returncode == 1
    assert "error: cannot reach PostgreSQL at postgresql://bot:***@" in said and "musicbox doctor" in said
    assert "Traceback" not in said and "hunter2" not in said
