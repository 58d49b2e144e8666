"""The config file on disk: found where systemd or the owner's home says, written without losing the
owner's comments, and never left half-written or replaced by an invalid one."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from musicbox.core.config_rules import ConfigError
from musicbox.store.config_file import config_path, load_config, paths_for, write_config


def systemd_environment(root: Path) -> dict[str, str]:
    return {
        "CONFIGURATION_DIRECTORY": str(root / "etc"),
        "STATE_DIRECTORY": str(root / "lib"),
        "CACHE_DIRECTORY": str(root / "cache"),
        "RUNTIME_DIRECTORY": str(root / "run"),
    }


def test_under_systemd_the_units_directories_are_used(tmp_path: Path) -> None:
    environment = systemd_environment(tmp_path)
    assert config_path(environment) == tmp_path / "etc" / "config.toml"
    paths = paths_for(environment)
    assert (paths.state_dir, paths.cache_dir, paths.runtime_dir) == (
        tmp_path / "lib",
        tmp_path / "cache",
        tmp_path / "run",
    )


def test_setup_writes_a_private_file_that_loads_back(tmp_path: Path) -> None:
    environment = systemd_environment(tmp_path)
    path = config_path(environment)
    write_config(path, {"discord": {"token": "t0k"}, "playback": {"default_volume": 70}})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    config = load_config(environment)
    assert config.discord.token == "t0k"
    assert config.playback.default_volume == 70
    assert config.paths.state_dir == tmp_path / "lib"


def test_rewriting_keeps_the_owners_comments_and_other_keys(tmp_path: Path) -> None:
    path = tmp_path / "musicbox.toml"
    path.write_text('# my box\n[playback]\ndj_role = "DJ" # the role we use\n')
    write_config(path, {"playback": {"default_volume": 50}})
    text = path.read_text()
    assert "# my box" in text and "# the role we use" in text
    assert 'dj_role = "DJ"' in text and "default_volume = 50" in text


def test_an_invalid_change_leaves_the_old_file_untouched(tmp_path: Path) -> None:
    path = tmp_path / "musicbox.toml"
    write_config(path, {"playback": {"default_volume": 50}})
    before = path.read_bytes()
    with pytest.raises(ConfigError, match="default_volume: 999 is out of range"):
        write_config(path, {"playback": {"default_volume": 999}})
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["musicbox.toml"]


def test_a_broken_file_is_named_with_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "musicbox.toml"
    path.write_text("[playback\ndefault_volume = 3\n")
    with pytest.raises(ConfigError) as raised:
        load_config({"MUSICBOX_CONFIG": str(path)})
    assert str(path) in str(raised.value) and "not valid TOML" in str(raised.value)
    assert "musicbox setup" in str(raised.value)


def test_no_file_means_the_defaults_with_the_environment(tmp_path: Path) -> None:
    config = load_config({"MUSICBOX_CONFIG": str(tmp_path / "absent.toml"), "MUSICBOX_TOKEN": "x"})
    assert config.discord.token == "x"


def test_written_for_a_service_group_the_file_is_readable_by_it_and_writable_by_its_owner_only(
    tmp_path: Path,
) -> None:
    path = tmp_path / "musicbox.toml"
    # root may hand it to any group (as setup does); anyone else to their own
    group = 65534 if os.geteuid() == 0 else os.getegid()
    write_config(path, {"discord": {"token": "t"}}, group=group)
    written = path.stat()
    assert (written.st_uid, written.st_gid) == (os.geteuid(), group)
    assert stat.S_IMODE(written.st_mode) == 0o640
    write_config(path, {"playback": {"default_volume": 70}}, group=group)  # a re-run keeps it so
    assert stat.S_IMODE(path.stat().st_mode) == 0o640 and path.stat().st_gid == group
