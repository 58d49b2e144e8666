"""doctor's judgements: each problem found is named with the fix, and nothing healthy is flagged."""

from __future__ import annotations

from datetime import date

from musicbox.core import diagnosis
from musicbox.core.diagnosis import Verdict


def test_a_nearly_full_disk_warns_and_a_full_one_fails_with_a_way_out() -> None:
    assert diagnosis.disk("/var/cache/musicbox", 10_000).verdict is Verdict.OK
    assert diagnosis.disk("/var/cache/musicbox", 300).verdict is Verdict.WARN
    full = diagnosis.disk("/var/cache/musicbox", 10)
    assert full.verdict is Verdict.FAIL and "musicbox cache purge" in full.fix


def test_a_drifting_clock_says_how_to_sync_it() -> None:
    assert diagnosis.clock(1.5).verdict is Verdict.OK
    drifted = diagnosis.clock(-95.0)
    assert drifted.verdict is Verdict.WARN
    assert "95.0 s behind" in drifted.detail and "timedatectl" in drifted.fix


def test_an_old_ytdlp_is_flagged_by_its_release_date() -> None:
    assert diagnosis.ytdlp_age("2026.10.26", date(2026, 11, 24)).verdict is Verdict.OK
    old = diagnosis.ytdlp_age("2026.01.02", date(2026, 11, 24))
    assert old.verdict is Verdict.WARN and "326 days old" in old.detail and "musicbox update" in old.fix
    assert diagnosis.ytdlp_age("nightly", date(2026, 11, 24)).verdict is Verdict.WARN


def test_a_config_others_can_read_fails_because_it_holds_the_token() -> None:
    path = "/etc/musicbox/musicbox.toml"
    installed_fix = f"Run `sudo chown root:musicbox {path}` and `sudo chmod 640 {path}`"
    judged = {
        (mode, owner, group): diagnosis.config_mode(path, 0o100000 | mode, owner, group)
        for mode, owner, group in [
            (0o640, "root", "musicbox"),  # as install.sh and setup leave it
            (0o600, "root", "root"),
            (0o600, "alice", "alice"),  # a development box
            (0o644, "root", "musicbox"),  # everyone reads the token
            (0o600, "musicbox", "musicbox"),  # the first installs, or a container: the bot could rewrite it
            (0o660, "root", "musicbox"),
            (0o640, "root", "users"),
            (0o644, "alice", "alice"),
        ]
    }
    verdicts = [found.verdict for found in judged.values()]
    assert verdicts == [Verdict.OK] * 3 + [Verdict.FAIL, Verdict.WARN] + [Verdict.FAIL] * 3
    assert "readable by others" in judged[0o644, "root", "musicbox"].detail
    assert "the service's own" in judged[0o600, "musicbox", "musicbox"].detail
    assert "changed by the service's group" in judged[0o660, "root", "musicbox"].detail
    assert "readable by the group users" in judged[0o640, "root", "users"].detail
    assert all(found.fix.startswith(installed_fix) for found in list(judged.values())[3:7])
    assert judged[0o644, "alice", "alice"].fix == f"Run `chmod 600 {path}`"


def test_the_service_is_judged_by_what_systemd_says() -> None:
    assert diagnosis.unit({}).verdict is Verdict.OK  # no systemd: nothing to judge
    running = {
        "LoadState": "loaded",
        "ActiveState": "active",
        "SubState": "running",
        "UnitFileState": "enabled",
    }
    assert diagnosis.unit(running).verdict is Verdict.OK
    assert diagnosis.unit({**running, "UnitFileState": "disabled"}).verdict is Verdict.WARN
    failed = diagnosis.unit({**running, "ActiveState": "failed", "SubState": "failed"})
    assert failed.verdict is Verdict.FAIL and "musicbox logs" in failed.fix
    assert diagnosis.unit({"LoadState": "not-found"}).verdict is Verdict.WARN


def test_any_failure_makes_the_exit_code_one() -> None:
    assert diagnosis.exit_code([diagnosis.ok("a", "fine"), diagnosis.disk("/", 300)]) == 0
    assert diagnosis.exit_code([diagnosis.ok("a", "fine"), diagnosis.disk("/", 1)]) == 1


def test_a_dns_resolver_the_unit_denies_is_named_with_the_fix() -> None:
    denied = "100.64.0.0/10 169.254.0.0/16 fe80::/10"  # as `systemctl show -p IPAddressDeny` prints it
    magic = diagnosis.resolvers(["100.100.100.100"], denied)  # Tailscale's MagicDNS, without resolved
    assert magic is not None and magic.verdict is Verdict.FAIL
    assert "blocks the DNS resolver 100.100.100.100" in magic.detail and "systemctl edit" in magic.fix
    scoped = diagnosis.resolvers(["fe80::1%eth0", "192.168.1.1"], denied)  # a router's link-local address
    assert scoped is not None and scoped.verdict is Verdict.FAIL and "fe80::1%eth0" in scoped.detail
    for fine in (["127.0.0.53"], ["192.168.1.1", "2001:db8::53"], []):
        judged = diagnosis.resolvers(fine, denied)
        assert judged is not None and judged.verdict is Verdict.OK
    assert diagnosis.resolvers(["100.100.100.100"], "") is None  # no unit here: nothing to judge


def test_the_database_is_judged_by_what_the_next_start_will_do() -> None:
    assert diagnosis.database("/s/musicbox.sqlite3", False, None).verdict is Verdict.OK
    assert diagnosis.database("/s/musicbox.sqlite3", True, None).detail == "/s/musicbox.sqlite3 is healthy"
    damaged = diagnosis.database("/s/musicbox.sqlite3", True, "is not a SQLite database")
    assert damaged.verdict is Verdict.WARN and "moves it aside" in damaged.fix
    assert diagnosis.exit_code([damaged]) == 0  # the bot still plays


def test_the_web_page_is_shown_with_who_can_reach_it_and_warns_without_a_password() -> None:
    off = diagnosis.web_page(enabled=False, host="127.0.0.1", port=8080, password_set=False)
    assert off.verdict is Verdict.OK and off.detail.startswith("off")
    local = diagnosis.web_page(enabled=True, host="127.0.0.1", port=8080, password_set=True)
    assert (local.verdict, local.detail) == (Verdict.OK, "on 127.0.0.1:8080, reachable from this box only")
    lan = diagnosis.web_page(enabled=True, host="0.0.0.0", port=8081, password_set=False)
    assert lan.verdict is Verdict.WARN
    assert lan.detail == "on 0.0.0.0:8081, reachable from every device on your network; no password is set"
    assert "musicbox web link" in lan.fix
