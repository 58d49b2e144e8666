"""What a valid configuration is: every key the owner may set, its type and allowed range, the
`MUSICBOX_*` environment names that override it, and `parse_config`, which turns a parsed TOML
document plus the environment into a `Config` or one `ConfigError` that names the key, the bad value
and what is allowed. Pure: the shell reads the file and the environment and hands them in."""

from __future__ import annotations

import dataclasses
import difflib
import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from musicbox.core.config import Config, PathsConfig
from musicbox.core.passwords import hash_problem


@dataclass(frozen=True, slots=True)
class Rule:
    kind: type  # int, str, bool or tuple (of strings)
    low: int | None = None
    high: int | None = None
    secret: bool = False  # never echoed back in an error message
    # A string's form: why the value will not do, or None.
    form: Callable[[str], str | None] | None = None
    absolute_paths: bool = False  # a tuple whose every item must be an absolute path

    def allowed(self) -> str:
        if self.kind is bool:
            return "true or false"
        if self.kind is tuple:
            return "a list of absolute folder paths" if self.absolute_paths else "a list of strings"
        if self.kind is str:
            return "a string"
        if self.high is None:
            return f"a whole number of at least {self.low}"
        return f"a whole number from {self.low} to {self.high}"


def listening_address_problem(host: str) -> str | None:
    """Where the web page may listen: this box, the owner's network, or every interface (0.0.0.0,
    ::) when the owner chooses it; never a public address, which would put the owner's login page
    on the internet."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return f"{host!r} is not an IP address: use 127.0.0.1 (this box), a LAN address or 0.0.0.0"
    if address.is_loopback or address.is_private or address.is_unspecified:
        return None
    return (
        f"{host} is a public address: the web page is for your own network "
        "(127.0.0.1, a LAN address or 0.0.0.0)"
    )


def store_url_problem(url: str) -> str | None:
    """`[store] url`: empty (SQLite in the state directory) or a PostgreSQL URL."""
    if url == "" or url.startswith(("postgresql://", "postgres://")):
        return None
    return (
        "is not a PostgreSQL URL: use postgresql://user:password@host/database, "
        "or leave it empty for the SQLite file in the state directory"
    )


RULES: dict[str, dict[str, Rule]] = {
    "discord": {
        "token": Rule(str, secret=True),
        "api_base": Rule(str),
        "gateway_url": Rule(str),
        "dev_guild_id": Rule(int, 0, None),
    },
    "playback": {
        "default_volume": Rule(int, 0, 200),
        "idle_timeout_s": Rule(int, 10, 86_400),
        "max_queue": Rule(int, 1, 10_000),
        "max_playlist": Rule(int, 1, 10_000),
        "max_track_s": Rule(int, 10, 86_400),
        "dj_role": Rule(str),
        "loudness_lufs": Rule(int, -40, 0),  # 0: off
    },
    "resolver": {
        "workers": Rule(int, 0, 64),
        "metadata_ttl_s": Rule(int, 0, 30 * 86_400),
        "search_template": Rule(str),
        "allowed_private_hosts": Rule(tuple),
        "radio_directory": Rule(str),
        "lyrics_api": Rule(str),
        "sponsorblock_api": Rule(str),
    },
    "cache": {
        "budget_mb": Rule(int, 0, 1_000_000),
        "max_transcodes": Rule(int, 0, 64),
        "prefetch_depth": Rule(int, -1, 5),
    },
    "limits": {
        "max_guilds": Rule(int, 0, 10_000),
        "max_filtered": Rule(int, -1, 10_000),
        "cleanup_interval_s": Rule(int, 5, 3600),
    },
    "spotify": {
        "client_id": Rule(str),
        "client_secret": Rule(str, secret=True),
        "api_base": Rule(str),
        "accounts_base": Rule(str),
    },
    "observability": {
        "health_interval_s": Rule(int, 5, 3600),
        "metrics_enabled": Rule(bool),
        "metrics_endpoint": Rule(str),
    },
    "web": {
        "enabled": Rule(bool),
        "host": Rule(str, form=listening_address_problem),
        "port": Rule(int, 1, 65_535),
        "password_hash": Rule(str, secret=True, form=hash_problem),
        "oauth_client_secret": Rule(str, secret=True),
    },
    "library": {
        "folders": Rule(tuple, absolute_paths=True),
        "rescan_interval_s": Rule(int, 1, 86_400),
    },
    # secret: the URL usually holds the password.
    "store": {"url": Rule(str, secret=True, form=store_url_problem)},
}

# The names the first musicbox used, kept so an old service environment still works.
LEGACY_ENVIRONMENT: dict[str, tuple[str, str]] = {
    "MUSICBOX_TOKEN": ("discord", "token"),
    "MUSICBOX_MAX_PROCESSING": ("resolver", "workers"),
    "MUSICBOX_CACHE_TTL": ("resolver", "metadata_ttl_s"),
    "MUSICBOX_CLEANUP_INTERVAL": ("limits", "cleanup_interval_s"),
    "MUSICBOX_MAX_GUILDS": ("limits", "max_guilds"),
    "MUSICBOX_MAX_QUEUE": ("playback", "max_queue"),
    "MUSICBOX_MAX_PLAYLIST": ("playback", "max_playlist"),
    "MUSICBOX_HEALTH_INTERVAL": ("observability", "health_interval_s"),
    "MUSICBOX_METRICS_ENDPOINT": ("observability", "metrics_endpoint"),
}


class ConfigError(ValueError):
    """One sentence the owner can act on; `where` is the file or variable that holds the bad value."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}")
        self.where = where
        self.problem = problem


def environment_name(section: str, key: str) -> str:
    return f"MUSICBOX_{section.upper()}_{key.upper()}"


def parse_config(
    document: Mapping[str, Any], environment: Mapping[str, str], paths: PathsConfig, *, source: str
) -> Config:
    """`document` is the TOML file's content (`source` names it in errors); variables win over it."""
    values = _from_document(document, source)
    # Where each value came from, so a bad one is blamed on the variable that set it, not the file.
    origins = {
        (section, key): f"{source} [{section}] {key}" for section, keys in values.items() for key in keys
    }
    for name, (section, key) in _environment_keys(environment).items():
        values.setdefault(section, {})[key] = _from_text(RULES[section][key], environment[name], name)
        origins[section, key] = name
    for section, keys in values.items():
        for key, value in keys.items():
            _check_value(RULES[section][key], value, origins[section, key])
    return _build(values, paths)


def _from_document(document: Mapping[str, Any], source: str) -> dict[str, dict[str, Any]]:
    values: dict[str, dict[str, Any]] = {}
    for section, table in document.items():
        if section not in RULES:
            raise ConfigError(source, f"unknown section [{section}]{_did_you_mean(section, RULES)}")
        if not isinstance(table, Mapping):
            raise ConfigError(source, f"[{section}] must be a table of keys")
        for key, value in table.items():
            where = f"{source} [{section}] {key}"
            if key not in RULES[section]:
                raise ConfigError(
                    f"{source} [{section}]", f"unknown key {key!r}{_did_you_mean(key, RULES[section])}"
                )
            values.setdefault(section, {})[key] = _typed(RULES[section][key], value, where)
    return values


def _environment_keys(environment: Mapping[str, str]) -> dict[str, tuple[str, str]]:
    found = {name: target for name, target in LEGACY_ENVIRONMENT.items() if name in environment}
    for section, rules in RULES.items():
        for key in rules:
            name = environment_name(section, key)
            if name in environment:
                found[name] = (section, key)
    return found


def _typed(rule: Rule, value: Any, where: str) -> Any:
    if rule.kind is tuple:
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return tuple(value)
    elif rule.kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif isinstance(value, rule.kind):
        return value
    raise ConfigError(where, f"{_shown(rule, value)} is not {rule.allowed()}")


def _from_text(rule: Rule, text: str, where: str) -> Any:
    if rule.kind is str:
        return text
    if rule.kind is tuple:
        return tuple(part.strip() for part in text.split(",") if part.strip())
    if rule.kind is bool:
        if text.strip().lower() in ("1", "true", "yes", "on"):
            return True
        if text.strip().lower() in ("0", "false", "no", "off"):
            return False
    else:
        try:
            return int(text.strip())
        except ValueError:
            pass
    raise ConfigError(where, f"{_shown(rule, text)} is not {rule.allowed()}")


def _check_value(rule: Rule, value: Any, where: str) -> None:
    if rule.form is not None and (problem := rule.form(value)) is not None:
        raise ConfigError(where, problem)
    if rule.absolute_paths:
        relative = [item for item in value if not item.startswith("/")]
        if relative:
            raise ConfigError(where, f"{relative[0]!r} is not an absolute path: use {rule.allowed()}")
        return
    if rule.kind is not int:
        return
    if (rule.low is not None and value < rule.low) or (rule.high is not None and value > rule.high):
        raise ConfigError(where, f"{value} is out of range: use {rule.allowed()}")


def _shown(rule: Rule, value: Any) -> str:
    return "the value given" if rule.secret else repr(value)


def _did_you_mean(word: str, known: Mapping[str, Any]) -> str:
    close = difflib.get_close_matches(word, list(known), n=1)
    if close:
        return f" (did you mean {close[0]!r}?)"
    return f"; known: {', '.join(known)}"


def _build(values: Mapping[str, Mapping[str, Any]], paths: PathsConfig) -> Config:
    config = Config(paths=paths)
    changes = {
        section: dataclasses.replace(getattr(config, section), **keys) for section, keys in values.items()
    }
    return dataclasses.replace(config, **changes)
