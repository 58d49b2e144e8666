#!/usr/bin/env bash
# Regenerate the lock files from pyproject.toml; run after changing a dependency, commit the result.
#   packaging/requirements.lock      what install.sh and the Containerfile install
#   packaging/requirements-dev.lock  the same plus the test tools, for tests/run.sh
# Every version pinned and every file's sha256 listed (pip install --require-hashes refuses any other
# file), for Python 3.11 and newer on every platform (--universal: x86_64 and aarch64 wheels both).
# setuptools is locked too: the checkout is built with it, offline (--no-build-isolation --no-index).
# Needs uv (https://docs.astral.sh/uv/; `pipx run uv` or `pip install uv` in a venv of its own).
set -euo pipefail
cd "$(dirname "$0")/.."
uv=${UV:-uv}
build_requires() {
    python3 -c 'import tomllib; print(*tomllib.load(open("pyproject.toml", "rb"))["build-system"]["requires"], sep="\n")'
}
common=(--universal --python-version 3.11 --generate-hashes --index-url https://pypi.org/simple
    --no-strip-extras --custom-compile-command packaging/lock.sh --quiet)
build_requires | "$uv" pip compile pyproject.toml - "${common[@]}" -o packaging/requirements.lock
build_requires | "$uv" pip compile pyproject.toml - --extra dev "${common[@]}" -o packaging/requirements-dev.lock
