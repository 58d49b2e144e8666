"""The container image keeps the systemd service's layout: with the Containerfile's environment the
bot, `setup` and `status` resolve the same config file and directories systemd gives the unit, and
compose.yaml keeps exactly those on volumes (the socket's on a tmpfs), for the one-process service
and for each shard service of the scaled-out bot, whose stores are in compose's PostgreSQL. The image
itself is not built here (no container daemon or image registry); these read the files as the tools
would (compose.yaml as YAML, its ${VARIABLES} put in as compose does, each shard's command read by
`musicbox run`'s own parser, each store URL by libpq's)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import psycopg
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from musicbox.core.config import PathsConfig
from musicbox.core.config_rules import parse_config
from musicbox.core.shards import RunRequest, parse_run_arguments
from musicbox.store.config_file import config_path, paths_for

CHECKOUT = Path(__file__).resolve().parents[2]
CONTAINERFILE = (CHECKOUT / "packaging/Containerfile").read_text()
COMPOSE = (CHECKOUT / "packaging/compose.yaml").read_text()
UNIT = (CHECKOUT / "systemd/musicbox.service").read_text()
INSTALLER = (CHECKOUT / "install.sh").read_text()
OPERATIONS = (CHECKOUT / "docs/operations.md").read_text()


def containerfile_environment() -> dict[str, str]:
    joined = CONTAINERFILE.replace("\\\n", " ")
    found: dict[str, str] = {}
    for line in joined.splitlines():
        if line.startswith("ENV "):
            found.update(re.findall(r"(\w+)=(\S+)", line[4:]))
    return found


def unit_directories() -> dict[str, Path]:
    """Where systemd puts the unit's directories (system units: /etc, /var/lib, /var/cache, /run)."""
    roots = {
        "ConfigurationDirectory": "/etc",
        "StateDirectory": "/var/lib",
        "CacheDirectory": "/var/cache",
        "RuntimeDirectory": "/run",
    }
    found = {
        setting: Path(roots[setting]) / name
        for setting, name in re.findall(r"^(\w+Directory)=(\S+)$", UNIT, re.MULTILINE)
        if setting in roots
    }
    # The config directory is named, not managed (systemd would make a managed one writable).
    named = re.search(r"^Environment=CONFIGURATION_DIRECTORY=(\S+)$", UNIT, re.MULTILINE)
    if named:
        found["ConfigurationDirectory"] = Path(named[1])
    return found


def compose(environment: dict[str, str] | None = None) -> dict[str, Any]:
    """compose.yaml as compose reads it: `${NAME:-default}` put in from `environment` (none: the
    defaults), YAML's anchors and merge keys followed."""
    given = environment or {}

    def put_in(found: re.Match[str]) -> str:
        return given.get(found["name"]) or found["default"] or ""

    return dict(yaml.safe_load(re.sub(r"\$\{(?P<name>\w+)(?::-(?P<default>[^}]*))?\}", put_in, COMPOSE)))


def compose_mounts(service: dict[str, Any], kind: str) -> set[str]:
    """Container paths under a service's `volumes:` or `tmpfs:` list."""
    entries = service[kind]
    return {entry.split(":")[1] if kind == "volumes" else entry.split(":")[0] for entry in entries}


def shard_services(services: dict[str, Any]) -> dict[str, RunRequest]:
    """The services that run `musicbox run --shards`, and what `musicbox run` reads of each."""
    found = {}
    for name, service in services.items():
        command = service.get("command") or []
        if command[:1] == ["run"] and "--shards" in command:
            request = parse_run_arguments(command[1:])
            assert isinstance(request, RunRequest), f"{name}: {request}"
            found[name] = request
    return found


def unit_environment() -> dict[str, str]:
    """What systemd hands the service: its *Directory= settings as variables, and Environment=."""
    names = {"ConfigurationDirectory": "CONFIGURATION_DIRECTORY", "StateDirectory": "STATE_DIRECTORY",
             "CacheDirectory": "CACHE_DIRECTORY", "RuntimeDirectory": "RUNTIME_DIRECTORY"}  # fmt: skip
    given = dict(re.findall(r"^Environment=(\w+)=(\S+)$", UNIT, re.MULTILINE))
    return {**given, **{names[setting]: str(path) for setting, path in unit_directories().items()}}


def test_the_service_the_image_the_installer_and_the_docs_name_one_config_file() -> None:
    """The file the unit's bot reads is the one the container's reads, the one install.sh hands to
    the service user after `musicbox setup` wrote it (tests/appliance/test_install.py checks that
    on a real install), and the one docs/operations.md tells the owner to edit."""
    for_the_unit = config_path(unit_environment())
    assert for_the_unit == Path("/etc/musicbox/config.toml")
    assert config_path(containerfile_environment()) == for_the_unit
    [installer] = re.findall(r"^CONFIG_FILE=(\S+)$", INSTALLER, re.MULTILINE)
    assert Path(installer) == for_the_unit
    documented = re.search(r"^\| config \| `([^`]+)`", OPERATIONS, re.MULTILINE)
    assert documented is not None and documented[1] == str(for_the_unit)


def test_the_image_resolves_the_service_s_directories() -> None:
    environment = containerfile_environment()
    unit = unit_directories()
    paths = paths_for(environment)
    assert paths.state_dir == unit["StateDirectory"]
    assert paths.cache_dir == unit["CacheDirectory"]
    assert paths.runtime_dir == unit["RuntimeDirectory"]


def test_compose_keeps_config_state_and_cache_and_nothing_else_writable() -> None:
    unit = unit_directories()
    services = compose()["services"]
    musicbox_processes = {"musicbox", *shard_services(services)}
    assert len(musicbox_processes) > 2
    for name in musicbox_processes:
        service = services[name]
        assert compose_mounts(service, "volumes") == {
            str(unit["ConfigurationDirectory"]),
            str(unit["StateDirectory"]),
            str(unit["CacheDirectory"]),
        }, name
        assert compose_mounts(service, "tmpfs") == {str(unit["RuntimeDirectory"]), "/tmp"}, name
        assert service["read_only"] is True and service["cap_drop"] == ["ALL"], name
        assert service["image"] == "musicbox:latest", name


def test_compose_scales_out_over_one_postgresql() -> None:
    """The shard services cover every shard of one count once, each process reaches compose's
    PostgreSQL (a healthy one: they wait for its health check) with the database, user and password
    the server was made with, the server keeps its data on a named volume, and none of it starts
    beside the one-process service unless named (a profile)."""
    environment = {"MUSICBOX_DB_PASSWORD": "s3cretpassw0rd", "MUSICBOX_TOKEN": "a-token"}
    document = compose(environment)
    services = document["services"]
    shards = shard_services(services)
    plans = [request.shards for request in shards.values()]
    assert len(plans) >= 2 and all(plan is not None and plan.count is not None for plan in plans)
    counts = {plan.count for plan in plans if plan is not None}
    assert len(counts) == 1, f"every process must be given the same --shard-count, not {counts}"
    ids = sorted(shard for plan in plans if plan is not None for shard in plan.ids)
    assert ids == list(range(counts.pop() or 0)), f"each shard once: {ids}"

    postgres = services["postgres"]
    assert postgres["image"].startswith("postgres:") and postgres["image"].endswith("-bookworm")
    made_with = postgres["environment"]
    assert made_with["POSTGRES_PASSWORD"] == environment["MUSICBOX_DB_PASSWORD"]
    [data] = [v for v in postgres["volumes"] if v.split(":")[1] == "/var/lib/postgresql/data"]
    assert data.split(":")[0] in document["volumes"], "the database on a named volume"
    check = postgres["healthcheck"]["test"]
    assert check[:2] == ["CMD", "pg_isready"] and f"--dbname={made_with['POSTGRES_DB']}" in check

    for name in shards:
        service = services[name]
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy", name
        assert service["profiles"] == postgres["profiles"], name
        config = parse_config({}, service["environment"], PathsConfig(), source=f"compose {name}")
        assert config.discord.token == environment["MUSICBOX_TOKEN"]
        reached = psycopg.conninfo.conninfo_to_dict(config.store.url)
        assert reached["host"] == "postgres" and reached["dbname"] == made_with["POSTGRES_DB"], name
        assert (reached["user"], reached["password"]) == (
            made_with["POSTGRES_USER"],
            made_with["POSTGRES_PASSWORD"],
        ), name
    # The one-process service keeps SQLite and starts on a plain `up`; the others only when named.
    assert (
        "profiles" not in services["musicbox"]
        and "MUSICBOX_STORE_URL" not in services["musicbox"]["environment"]
    )


def test_the_image_builds_from_files_the_checkout_has() -> None:
    copied = [
        source
        for line in CONTAINERFILE.splitlines()
        if line.startswith("COPY ")
        for source in line.split()[1:-1]
    ]
    assert copied and all((CHECKOUT / source).exists() for source in copied), copied
    assert "FROM python:3.11-slim-bookworm" in CONTAINERFILE


def locked(path: Path) -> dict[str, Version]:
    """Each pinned name (normalised) to its version; a name pinned twice (per Python) to the lowest."""
    pins: dict[str, Version] = {}
    for name, version in re.findall(r"^([\w.-]+)(?:\[[\w,.-]*\])?==(\S+)", path.read_text(), re.MULTILINE):
        key = canonicalize_name(name)
        pins[key] = min(pins.get(key, Version(version)), Version(version))
    return pins


def test_the_locks_satisfy_every_dependency_pyproject_declares() -> None:
    # A dependency added to pyproject.toml without running packaging/lock.sh would be missing from
    # every install (install.sh, the image, tests/run.sh all install the lock and then --no-deps).
    project = tomllib.loads((CHECKOUT / "pyproject.toml").read_text())
    runtime = [Requirement(text) for text in project["project"]["dependencies"]]
    build = [Requirement(text) for text in project["build-system"]["requires"]]
    dev = [Requirement(text) for text in project["project"]["optional-dependencies"]["dev"]]
    for lock, wanted in (
        ("requirements.lock", runtime + build),
        ("requirements-dev.lock", runtime + build + dev),
    ):
        pins = locked(CHECKOUT / "packaging" / lock)
        for requirement in wanted:
            pinned = pins.get(canonicalize_name(requirement.name))
            assert pinned is not None and requirement.specifier.contains(pinned, prereleases=True), (
                f"packaging/{lock} has {requirement.name} {pinned}, pyproject.toml wants {requirement}: "
                "run packaging/lock.sh"
            )
