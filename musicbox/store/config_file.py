"""Where the configuration lives and how it is read and written.

Under systemd the unit's *Directory= settings name the directories (`$CONFIGURATION_DIRECTORY`,
`$STATE_DIRECTORY`, ...). Outside it, on a box where install.sh set up the service, the service's
own directories (so `musicbox status` or `cache` from the owner's shell see what the bot sees);
elsewhere platformdirs' per-user places. `MUSICBOX_CONFIG` names another
file. Writing goes through tomlkit so the owner's comments survive `musicbox setup`, and through a
temporary file and a rename so a full disk or a crash never leaves half a config behind."""

from __future__ import annotations

import contextlib
import os
import tempfile
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import platformdirs
import tomlkit
from tomlkit.exceptions import TOMLKitError

from musicbox.core.config import Config, PathsConfig
from musicbox.core.config_rules import RULES, ConfigError, parse_config

APP = "musicbox"
FILE_NAME = "config.toml"  # install.sh, the Containerfile and docs/operations.md name it too
# What musicbox 0.1.0 read (and its setup wrote) while its docs said config.toml.
OLD_FILE_NAME = "musicbox.toml"
# Where systemd puts the directories the unit asks for (see systemd/musicbox.service).
SERVICE_DIRECTORIES = {
    "CONFIGURATION_DIRECTORY": Path("/etc/musicbox"),
    "STATE_DIRECTORY": Path("/var/lib/musicbox"),
    "CACHE_DIRECTORY": Path("/var/cache/musicbox"),
    "RUNTIME_DIRECTORY": Path("/run/musicbox"),
}


def config_path(environment: Mapping[str, str]) -> Path:
    if environment.get("MUSICBOX_CONFIG"):
        return Path(environment["MUSICBOX_CONFIG"])
    return _directory(environment, "CONFIGURATION_DIRECTORY", platformdirs.user_config_dir) / FILE_NAME


def left_behind(path: Path) -> Path | None:
    """A 0.1.0 config beside `path` that nothing reads any more: install.sh moves it on an upgrade,
    but a box set up by hand (`musicbox setup` as a user) keeps it where it was."""
    old = path.with_name(OLD_FILE_NAME)
    return old if path.name == FILE_NAME and old.is_file() else None


def paths_for(environment: Mapping[str, str]) -> PathsConfig:
    return PathsConfig(
        state_dir=_directory(environment, "STATE_DIRECTORY", platformdirs.user_state_dir),
        cache_dir=_directory(environment, "CACHE_DIRECTORY", platformdirs.user_cache_dir),
        runtime_dir=_directory(environment, "RUNTIME_DIRECTORY", platformdirs.user_runtime_dir),
    )


def load_config(environment: Mapping[str, str]) -> Config:
    """The file (if any) with the environment over it. Raises ConfigError naming what is wrong."""
    path = config_path(environment)
    return parse_config(read_document(path), environment, paths_for(environment), source=str(path))


def read_document(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except PermissionError as denied:
        raise ConfigError(str(path), "cannot be read: run as the service user or with sudo") from denied
    except UnicodeDecodeError as garbled:
        raise ConfigError(
            str(path), "is not UTF-8 text; fix or remove it and run `musicbox setup`"
        ) from garbled
    try:
        return tomlkit.parse(text).unwrap()
    except TOMLKitError as broken:
        raise ConfigError(
            str(path), f"is not valid TOML ({broken}); fix it or run `musicbox setup`"
        ) from broken


def write_config(path: Path, changes: Mapping[str, Mapping[str, Any]], *, group: int | None = None) -> None:
    """Set `changes` ({section: {key: value}}) in the file at `path`, keeping everything else.

    The result is validated before it replaces the old file, so a bad change loses nothing. With a
    `group` (the service's, when root writes), the file is `root:group 0640`: the service reads it
    and cannot change it; without, only its owner may read it (0600)."""
    document = _editable(path)
    for section, keys in changes.items():
        table = document.get(section)
        if table is None:
            table = tomlkit.table()
            document[section] = table
        for key, value in keys.items():
            table[key] = list(value) if isinstance(value, tuple) else value
    text = tomlkit.dumps(document)
    parse_config(tomlkit.parse(text).unwrap(), {}, PathsConfig(), source=str(path))
    _replace_atomically(path, text, group)


def _editable(path: Path) -> tomlkit.TOMLDocument:
    try:
        return tomlkit.parse(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return _new_document()


def _new_document() -> tomlkit.TOMLDocument:
    document = tomlkit.document()
    document.add(tomlkit.comment("musicbox configuration, written by `musicbox setup`; edit freely."))
    document.add(tomlkit.comment("Every key can also be set as MUSICBOX_<SECTION>_<KEY> in the environment."))
    for section in RULES:
        document[section] = tomlkit.table()
    return document


def _replace_atomically(path: Path, text: str, group: int | None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        # The file holds the bot token: only its owner may read it, from the first byte written.
        os.fchmod(descriptor, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            if group is not None:  # the group is let in only once the whole file is there
                os.fchown(handle.fileno(), -1, group)
                os.fchmod(handle.fileno(), 0o640)
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def _directory(environment: Mapping[str, str], variable: str, per_user: Callable[[str], str]) -> Path:
    # systemd may list several directories separated by colons; the first is ours.
    value = environment.get(variable, "").split(":")[0]
    if value:
        return Path(value)
    service = SERVICE_DIRECTORIES[variable]
    if service.is_dir():
        return service
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (root over ssh) and falls back to /tmp.
        warnings.simplefilter("ignore")
        return Path(per_user(APP))
