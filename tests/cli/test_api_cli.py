"""`musicbox api token create|list|revoke` as the owner runs them: the token is printed once and
kept only as a hash by the running bot; a revoked one no longer works; bad input is one sentence."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from musicbox.service.control import serving
from musicbox.store.api_tokens import ApiTokenStore
from musicbox.store.database import connect
from musicbox.web.api import ApiAccess


async def musicbox(runtime: Path, *arguments: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "musicbox",
        *arguments,
        env={**os.environ, "RUNTIME_DIRECTORY": str(runtime), "COLUMNS": "200"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


def database_bytes(directory: Path) -> bytes:
    return b"".join(path.read_bytes() for path in directory.glob("musicbox.sqlite3*"))


async def test_a_token_is_shown_once_listed_without_itself_and_revoked(tmp_path: Path) -> None:
    database = connect(tmp_path / "musicbox.sqlite3")
    access = ApiAccess(ApiTokenStore(database))
    runtime = tmp_path / "run"
    async with serving(runtime, dict, others={"api-token": access.answer}):
        code, shown, errors = await musicbox(
            runtime, "api", "token", "create", "kitchen tablet", "--user", "42"
        )
        assert code == 0, errors
        [token] = [line.strip() for line in shown.splitlines() if line.strip().startswith("mbx_")]
        assert access.holder(token) is not None
        code, listed, _ = await musicbox(runtime, "api", "token", "list")
        assert code == 0 and "kitchen tablet" in listed and "42" in listed and token not in listed
        code, _, errors = await musicbox(runtime, "api", "token", "revoke", "99")
        assert code == 2 and "there is no token 99" in errors and "Traceback" not in errors
        code, said, _ = await musicbox(runtime, "api", "token", "revoke", "1")
        assert code == 0 and "token 1 no longer works" in said
    assert access.holder(token) is None
    assert token.encode() not in database_bytes(tmp_path)  # only its hash was ever written
    database.close()
