#!/usr/bin/env bash
# The whole test suite, from a fresh clone on Debian 12 / Raspberry Pi OS with nothing but python3.
# Installs what the tests need (ffmpeg, libopus, a venv with musicbox and its dev tools), then runs
# ruff, mypy --strict and pytest. Extra arguments go to pytest.
# MUSICBOX_TEST_FULL=1 also runs the long load/soak tests (marked slow).
# A green run on an idle box hides what load breaks (a listener losing packets, a status call timing
# out): the suite must also pass with a busy process taking one core, as on a Pi that also serves files:
#   sh -c 'while :; do :; done' & hog=$!; bash tests/run.sh; kill "$hog"
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

missing=()
command -v ffmpeg >/dev/null || missing+=(ffmpeg)
ldconfig -p | grep -q 'libopus\.so\.0' || missing+=(libopus0)
python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
# The appliance tests judge install.sh and the units with the tools Debian ships for that.
command -v shellcheck >/dev/null || missing+=(shellcheck)
command -v systemd-analyze >/dev/null || missing+=(systemd)
# The web page's browser test drives Debian's own Chromium (tests/web/test_browser.py).
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
[[ -x /usr/bin/chromedriver ]] || missing+=(chromium-driver)
# `musicbox bench pi` weighs this box's CPU against a Pi's with 7-Zip's benchmark (slow tests).
command -v 7z >/dev/null || missing+=(p7zip-full)
# The stores' tests run against a throwaway PostgreSQL server (tests/fixtures/postgres.py).
[[ -x /usr/lib/postgresql/15/bin/initdb ]] || missing+=(postgresql)
if ((${#missing[@]})); then
    step "installing system packages: ${missing[*]}"
    if [[ $(id -u) -ne 0 ]]; then
        echo "error: ${missing[*]} missing; run as root or: sudo apt-get install ${missing[*]}" >&2
        exit 1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

venv=${MUSICBOX_VENV:-.venv}
if [[ ! -x $venv/bin/python ]]; then
    step "creating $venv"
    python3 -m venv "$venv"
fi
# The versions and file hashes in the dev lock (packaging/lock.sh writes it), then this checkout
# itself, editable, built with the lock's setuptools and no index: what runs is what was locked.
step "installing packaging/requirements-dev.lock and musicbox into $venv"
pip=("$venv/bin/python" -m pip install -q --disable-pip-version-check)
"${pip[@]}" --require-hashes -r packaging/requirements-dev.lock
"${pip[@]}" --no-deps --no-build-isolation --no-index -e .

step "ruff"
"$venv/bin/ruff" check musicbox tests
step "mypy --strict"
"$venv/bin/mypy"

step "pytest"
markers=()
[[ ${MUSICBOX_TEST_FULL:-0} == 1 ]] || markers=(-m "not slow")
# The slowest tests named at the end: the suite's time budget (15 minutes on 2 cores) is kept by them.
exec "$venv/bin/python" -m pytest "${markers[@]}" --durations=15 "$@"
