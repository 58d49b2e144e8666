"""The owner's configuration: what is accepted, and the one sentence they read when it is not."""

from __future__ import annotations

import dataclasses

import pytest

from musicbox.core.config import Config, PathsConfig
from musicbox.core.config_rules import RULES, ConfigError, parse_config


def parse(document: dict[str, object], environment: dict[str, str] | None = None) -> Config:
    return parse_config(document, environment or {}, PathsConfig(), source="musicbox.toml")


def test_every_config_field_has_a_rule_and_every_rule_a_field() -> None:
    config = Config()
    for section, rules in RULES.items():
        fields = {field.name for field in dataclasses.fields(getattr(config, section))}
        assert set(rules) == fields, section


def test_an_empty_file_gives_the_defaults() -> None:
    assert parse({}) == Config()


def test_the_file_sets_values_and_the_environment_wins_over_it() -> None:
    config = parse(
        {"playback": {"default_volume": 80, "dj_role": "DJ"}},
        {"MUSICBOX_PLAYBACK_DEFAULT_VOLUME": "60", "MUSICBOX_TOKEN": "abc"},
    )
    assert config.playback.default_volume == 60
    assert config.playback.dj_role == "DJ"
    assert config.discord.token == "abc"


@pytest.mark.parametrize(
    ("variable", "section", "key", "value"),
    [
        ("MUSICBOX_MAX_PROCESSING", "resolver", "workers", 3),
        ("MUSICBOX_CACHE_TTL", "resolver", "metadata_ttl_s", 600),
        ("MUSICBOX_CLEANUP_INTERVAL", "limits", "cleanup_interval_s", 30),
        ("MUSICBOX_MAX_GUILDS", "limits", "max_guilds", 12),
        ("MUSICBOX_MAX_QUEUE", "playback", "max_queue", 100),
        ("MUSICBOX_MAX_PLAYLIST", "playback", "max_playlist", 50),
        ("MUSICBOX_HEALTH_INTERVAL", "observability", "health_interval_s", 15),
    ],
)
def test_the_first_musicboxs_variable_names_still_work(
    variable: str, section: str, key: str, value: int
) -> None:
    config = parse({}, {variable: str(value)})
    assert getattr(getattr(config, section), key) == value


def test_lists_and_switches_from_the_environment() -> None:
    config = parse(
        {},
        {
            "MUSICBOX_RESOLVER_ALLOWED_PRIVATE_HOSTS": "nas.lan, 10.0.0.5",
            "MUSICBOX_OBSERVABILITY_METRICS_ENABLED": "yes",
        },
    )
    assert config.resolver.allowed_private_hosts == ("nas.lan", "10.0.0.5")
    assert config.observability.metrics_enabled is True


@pytest.mark.parametrize(
    ("document", "environment", "message"),
    [
        (
            {"playback": {"default_volume": 300}},
            {},
            "musicbox.toml [playback] default_volume: 300 is out of range: use a whole number from 0 to 200",
        ),
        ({"playback": {"default_volume": "loud"}}, {}, "'loud' is not a whole number from 0 to 200"),
        ({"playback": {"volum": 3}}, {}, "unknown key 'volum'"),
        ({"playbak": {}}, {}, "unknown section [playbak] (did you mean 'playback'?)"),
        (
            {},
            {"MUSICBOX_MAX_QUEUE": "lots"},
            "MUSICBOX_MAX_QUEUE: 'lots' is not a whole number from 1 to 10000",
        ),
        (
            {},
            {"MUSICBOX_LIMITS_MAX_GUILDS": "-1"},
            "MUSICBOX_LIMITS_MAX_GUILDS: -1 is out of range: use a whole number from 0 to 10000",
        ),
        (  # a good value in the file, overridden by a bad one: the variable is to blame
            {"playback": {"default_volume": 80}},
            {"MUSICBOX_PLAYBACK_DEFAULT_VOLUME": "900"},
            "MUSICBOX_PLAYBACK_DEFAULT_VOLUME: 900 is out of range: use a whole number from 0 to 200",
        ),
        ({"observability": {"metrics_enabled": 1}}, {}, "1 is not true or false"),
        (
            {"library": {"folders": ["/srv/music", "Music"]}},
            {},
            "[library] folders: 'Music' is not an absolute path: use a list of absolute folder paths",
        ),
        ({"library": {"folders": "/srv/music"}}, {}, "'/srv/music' is not a list of absolute folder paths"),
    ],
)
def test_a_bad_value_is_named_with_what_is_allowed(
    document: dict[str, object], environment: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        parse(document, environment)
    assert message in str(raised.value)


def test_a_bad_secret_is_never_echoed() -> None:
    with pytest.raises(ConfigError) as raised:
        parse({"discord": {"token": 12345678}})
    assert "12345678" not in str(raised.value)
    assert "[discord] token" in str(raised.value)


@pytest.mark.parametrize(
    ("host", "problem"),
    [
        ("127.0.0.1", None),
        ("192.168.1.20", None),
        ("0.0.0.0", None),
        ("::1", None),
        ("8.8.8.8", "8.8.8.8 is a public address: the web page is for your own network"),
        ("musicbox.local", "'musicbox.local' is not an IP address"),
    ],
)
def test_the_web_page_listens_on_this_box_or_the_owners_network_only(host: str, problem: str | None) -> None:
    if problem is None:
        assert parse({"web": {"enabled": True, "host": host}}).web.host == host
        return
    with pytest.raises(ConfigError) as raised:
        parse({"web": {"host": host}})
    assert "[web] host" in str(raised.value) and problem in str(raised.value)


def test_a_web_password_hash_musicbox_did_not_write_is_refused_without_echoing_it() -> None:
    with pytest.raises(ConfigError) as raised:
        parse({}, {"MUSICBOX_WEB_PASSWORD_HASH": "hunter2hunter2"})
    assert "hunter2" not in str(raised.value)
    assert "MUSICBOX_WEB_PASSWORD_HASH: is not a password hash" in str(raised.value)
    assert "musicbox setup --web" in str(raised.value)


def test_the_web_page_is_off_and_on_this_box_only_until_the_owner_says_otherwise() -> None:
    web = parse({}).web
    assert (web.enabled, web.host, web.password_hash) == (False, "127.0.0.1", "")
