#!/usr/bin/env bash
# Install (or upgrade, or remove) musicbox on Debian 12/13, Raspberry Pi OS (64-bit) or Ubuntu 22.04+.
#
#   sudo ./install.sh                      install from this checkout, then `musicbox setup`
#                                          (no terminal and no token: `musicbox demo` instead)
#   sudo ./install.sh --unattended --token-file FILE [--volume N --dj-role R --idle-timeout S]
#                                          the token from FILE (- : standard input) or MUSICBOX_TOKEN,
#                                          never on the command line; Spotify: --spotify-id ID
#                                          --spotify-secret-file FILE or MUSICBOX_SPOTIFY_CLIENT_SECRET
#   sudo ./install.sh --uninstall          remove the program and its units; keep config, cache, queues
#   sudo ./install.sh --purge              remove everything, the musicbox user and its data too
#
# Runs on a 64-bit system only: x86_64 (amd64) or aarch64 with arm64 programs, which on a Raspberry
# Pi (3, 4, 5, Zero 2 W) is the 64-bit Raspberry Pi OS. Not the 32-bit one (armhf), not even where
# it boots a 64-bit kernel. It reads and changes nothing under /boot or /boot/firmware, and needs no
# `pi` user: the bot runs as its own `musicbox` user.
# Running it again upgrades in place and keeps the config, the cache and the saved queues.
# --root DIR installs into DIR instead of / (a throwaway root for tests); --skip-apt skips apt-get.
set -Eeuo pipefail  # -E: the ERR trap below also fires inside functions

SOURCE_DIR=$(cd "$(dirname "$0")" && pwd)
ROOT=""
ACTION=install
UNATTENDED=0
SKIP_APT=0
SETUP_ARGS=()
TOKEN_FILE=""
SPOTIFY_SECRET_FILE=""
# Taken out of the environment at once: apt-get, pip, useradd and the rest never see them.
TOKEN=${MUSICBOX_TOKEN:-}
SPOTIFY_SECRET=${MUSICBOX_SPOTIFY_CLIENT_SECRET:-}
unset MUSICBOX_TOKEN MUSICBOX_SPOTIFY_CLIENT_SECRET

PREFIX=/opt/musicbox
UNIT_DIR=/etc/systemd/system
BIN_LINK=/usr/local/bin/musicbox
SERVICE_USER=musicbox
DATA_DIRS=(/etc/musicbox /var/lib/musicbox /var/cache/musicbox /var/log/musicbox)
# The file the program reads (musicbox/store/config_file.py) and `musicbox setup` writes.
CONFIG_FILE=/etc/musicbox/config.toml
UNITS=(musicbox.service musicbox-update.service musicbox-update.timer)
PACKAGES=(ffmpeg libopus0 python3-venv)
# The system's Python, never whichever python3 comes first on PATH (a pyenv or conda one may lack
# venv, and the packages above pair with the system's). Ubuntu 22.04's is 3.10: it gets 3.11 from apt.
PYTHON=/usr/bin/python3

STEP=""
step() {
    STEP=$1
    printf '\033[1m==>\033[0m %s\n' "$1"
}
fail() {
    printf '\033[31merror:\033[0m %s\n' "$1" >&2
    [[ $# -gt 1 ]] && printf '  %s\n' "$2" >&2
    exit 1
}
on_error() {
    printf '\033[31merror:\033[0m the step "%s" failed (see the lines above).\n' "$STEP" >&2
    printf '  Fix what it says and run ./install.sh again: it picks up where it stopped.\n' >&2
}
trap on_error ERR

usage() {
    # The comment block at the top, without the shebang and without anything after it.
    awk 'NR > 1 && !/^#/ { exit } NR > 1' "$0" | sed 's/^# \{0,1\}//'
    exit "${1:-0}"
}

usage_error() {
    printf '\033[31merror:\033[0m %s\n' "$1" >&2
    [[ $# -gt 1 ]] && printf '  %s\n' "$2" >&2
    exit 2
}

# needs_value OPTION ARGUMENTS_LEFT: an option that takes a value must be followed by one.
needs_value() {
    [[ $2 -ge 2 ]] || usage_error "$1 needs a value" "See ./install.sh --help."
}

# Every user of the box can read a process's arguments (ps, /proc/PID/cmdline), and the shell keeps
# them in its history: a secret given there is no longer a secret.
refuse_secret_argument() {
    usage_error "$1 on the command line would show the secret to every user of this machine" \
        "Give it in a file ($1-file FILE), on standard input ($1-file -) or in $2 (sudo --preserve-env=$2 ./install.sh)."
}

parse_args() {
    while [[ $# -gt 0 ]]; do
        case $1 in
            --unattended) UNATTENDED=1 ;;
            --token) refuse_secret_argument --token MUSICBOX_TOKEN ;;
            --spotify-secret) refuse_secret_argument --spotify-secret MUSICBOX_SPOTIFY_CLIENT_SECRET ;;
            --token-file) needs_value "$1" $#; TOKEN_FILE=$2; shift ;;
            --spotify-secret-file) needs_value "$1" $#; SPOTIFY_SECRET_FILE=$2; shift ;;
            --volume | --dj-role | --idle-timeout | --spotify-id)
                needs_value "$1" $#; SETUP_ARGS+=("$1" "$2"); shift ;;
            --version)
                usage_error "install.sh installs the checkout it is in, never a package by name" \
                    "For a release, check out its tag (git checkout vX.Y.Z) and run that checkout's install.sh." ;;
            --uninstall) ACTION=uninstall ;;
            --purge) ACTION=purge ;;
            --root) needs_value "$1" $#; ROOT=$(cd "$2" && pwd); shift ;;
            --skip-apt) SKIP_APT=1 ;;
            -h | --help) usage 0 ;;
            *) printf 'unknown option: %s\n\n' "$1" >&2; usage 2 ;;
        esac
        shift
    done
}

# read_secret FILE: the secret in FILE (- : standard input), without its final line break.
read_secret() {
    if [[ $1 == - ]]; then cat; else cat -- "$1"; fi
}

read_secrets() {
    local file
    if [[ $TOKEN_FILE == - && $SPOTIFY_SECRET_FILE == - ]]; then
        usage_error "standard input can carry only one secret" "Give the other in a file or its variable."
    fi
    for file in "$TOKEN_FILE" "$SPOTIFY_SECRET_FILE"; do
        if [[ -n $file && $file != - && ! -r $file ]]; then
            usage_error "cannot read $file" "Give a readable file, or - to read standard input."
        fi
    done
    [[ -z $TOKEN_FILE ]] || TOKEN=$(read_secret "$TOKEN_FILE")
    [[ -z $SPOTIFY_SECRET_FILE ]] || SPOTIFY_SECRET=$(read_secret "$SPOTIFY_SECRET_FILE")
}

check_privileges() {
    if [[ -z $ROOT && $(id -u) -ne 0 ]]; then
        fail "installing musicbox needs root" "Run: sudo $0 $*"
    fi
}

# Read, not sourced: the file is data, and sourcing it would run whatever it holds as root.
os_field() {
    sed -n "s/^$1=//p" "$2" | tr -d '"' | head -n 1
}

check_platform() {
    step "checking this system"
    local os_release="$ROOT/etc/os-release" id="" version="" like=""
    [[ -r $os_release ]] || fail "cannot read $os_release: not a Debian-family system" \
        "musicbox supports Debian 12/13, Raspberry Pi OS and Ubuntu 22.04 or newer."
    id=$(os_field ID "$os_release")
    version=$(os_field VERSION_ID "$os_release")
    like=$(os_field ID_LIKE "$os_release")
    version=${version:-0}
    case $id in
        debian | raspbian) [[ ${version%%.*} -ge 12 ]] || fail "Debian $version is too old" "Upgrade to Debian 12 or newer." ;;
        ubuntu)
            [[ ${version%%.*} -ge 22 ]] || fail "Ubuntu $version is too old" "Upgrade to Ubuntu 22.04 or newer."
            if [[ ${version%%.*} -eq 22 ]]; then
                PACKAGES+=(python3.11 python3.11-venv)
                PYTHON=/usr/bin/python3.11
            fi
            ;;
        *) [[ $like == *debian* ]] || fail "$id is not supported" \
            "musicbox supports Debian 12/13, Raspberry Pi OS and Ubuntu 22.04 or newer." ;;
    esac
    local arch userland
    arch=${MUSICBOX_ARCH:-$(uname -m)}
    case $arch in
        x86_64 | aarch64) ;;
        armv7l | armv6l) fail "32-bit ARM ($arch) is not supported: Deno, which YouTube needs, has no build for it" \
            "Install the 64-bit Raspberry Pi OS (Pi 3, 4, 5 and Zero 2 W all run it)." ;;
        *) fail "the $arch processor is not supported" "musicbox runs on x86_64 and aarch64 (64-bit ARM)." ;;
    esac
    # The kernel's architecture is not the programs': the 32-bit Raspberry Pi OS boots a 64-bit
    # kernel on a Pi 3, 4 and 5 (uname says aarch64) under a 32-bit armhf userland, whose Python
    # would look for 32-bit ARM wheels and a Deno that does not exist. dpkg knows the userland's.
    userland=$(dpkg --print-architecture)
    case $userland in
        amd64 | arm64) ;;
        armhf | armel) fail "this is a 32-bit ARM system ($userland programs on a 64-bit $arch kernel): not supported" \
            "Install the 64-bit Raspberry Pi OS (Raspberry Pi OS (64-bit) in Raspberry Pi Imager); the 32-bit one cannot run Deno, which YouTube needs." ;;
        *) fail "$userland programs are not supported" "musicbox runs on a 64-bit userland: amd64 (x86_64) or arm64 (aarch64)." ;;
    esac
    echo "    $id $version on $arch ($userland programs)"
}

# The packages go onto the machine running this script, also with --root: the venv is made by its
# Python and the bot runs its ffmpeg. Only what is missing is fetched, so a re-run needs no network.
install_packages() {
    step "checking ${PACKAGES[*]}"
    local missing=() package
    for package in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' ||
            missing+=("$package")
    done
    if [[ ${#missing[@]} -eq 0 ]]; then
        echo "    already installed"
        return
    fi
    if [[ $SKIP_APT -eq 1 ]]; then
        fail "${missing[*]} missing and --skip-apt given" "Install them: sudo apt-get install ${missing[*]}"
    fi
    step "installing ${missing[*]} with apt-get"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

create_user() {
    step "creating the $SERVICE_USER system user"
    if grep -q "^$SERVICE_USER:" "$ROOT/etc/passwd"; then
        echo "    already there"
        return
    fi
    local prefix=()
    [[ -n $ROOT ]] && prefix=(--prefix "$ROOT")
    useradd "${prefix[@]}" --system --user-group --home-dir /var/lib/musicbox --no-create-home \
        --shell /usr/sbin/nologin --comment "musicbox Discord music bot" "$SERVICE_USER"
}

make_config_dir() {
    # `musicbox setup` (run by root) writes here; the service reads it as the musicbox user.
    local gid
    gid=$(awk -F: -v name="$SERVICE_USER" '$1 == name { print $3 }' "$ROOT/etc/group")
    install -d -m 0750 -o 0 -g "$gid" "$ROOT/etc/musicbox"
    # musicbox 0.1.0 read musicbox.toml while the docs said config.toml: an upgrade keeps the
    # config `musicbox setup` wrote then by moving it to the one name everything now uses.
    local old="$ROOT/etc/musicbox/musicbox.toml"
    if [[ -f $old && ! -e $ROOT$CONFIG_FILE ]]; then
        mv "$old" "$ROOT$CONFIG_FILE"
        echo "    moved /etc/musicbox/musicbox.toml to $CONFIG_FILE"
    fi
}

# Only artefacts this project controls: the dependencies at the versions and file hashes the lock
# names (pip refuses any other file), then this checkout itself, built with the lock's setuptools
# and no index at all. Never a package by bare name: "musicbox" on PyPI is another project.
install_program() {
    local venv="$ROOT$PREFIX/venv"
    local pip=("$venv/bin/python" -m pip install -q --disable-pip-version-check)
    if [[ ! -x $venv/bin/python ]]; then
        step "creating $PREFIX/venv"
        "$PYTHON" -m venv "$venv"
    fi
    step "installing the dependencies pinned in packaging/requirements.lock (hashes checked)"
    "${pip[@]}" --require-hashes -r "$SOURCE_DIR/packaging/requirements.lock"
    step "installing musicbox from $SOURCE_DIR"
    "${pip[@]}" --no-deps --no-build-isolation --no-index --force-reinstall "$SOURCE_DIR"
    "$venv/bin/musicbox" --version | tee "$ROOT$PREFIX/VERSION" | sed 's/^/    /'
}

install_units() {
    step "installing the systemd units and $BIN_LINK"
    mkdir -p "$ROOT$UNIT_DIR" "$(dirname "$ROOT$BIN_LINK")"
    for unit in "${UNITS[@]}"; do
        install -m 0644 "$SOURCE_DIR/systemd/$unit" "$ROOT$UNIT_DIR/$unit"
    done
    ln -sfn "$PREFIX/venv/bin/musicbox" "$ROOT$BIN_LINK"
    if systemd_running; then
        systemctl daemon-reload
        systemctl enable --now musicbox-update.timer >/dev/null
        # An upgrade: the running bot picks up the new program (it resumes its queues after a restart).
        systemctl try-restart musicbox.service
    fi
}

systemd_running() {
    [[ -z $ROOT && -d /run/systemd/system ]]
}

run_setup() {
    local musicbox="$ROOT$PREFIX/venv/bin/musicbox"
    # Under --root the config belongs in that root, not in this machine's /etc.
    if [[ -n $ROOT ]]; then
        export MUSICBOX_CONFIG="$ROOT$CONFIG_FILE"
    fi
    if [[ -n $TOKEN ]]; then
        step "setting up with the given token"
        # The secrets reach setup through pipes, never its arguments or its environment.
        if [[ -n $SPOTIFY_SECRET ]]; then
            printf '%s\n' "$TOKEN" | "$musicbox" setup --unattended --token-file - \
                --spotify-secret-file <(printf '%s\n' "$SPOTIFY_SECRET") "${SETUP_ARGS[@]}"
        else
            printf '%s\n' "$TOKEN" | "$musicbox" setup --unattended --token-file - "${SETUP_ARGS[@]}"
        fi
    elif [[ $UNATTENDED -eq 1 ]]; then
        echo
        echo "Installed. Give it a bot token with: sudo musicbox setup"
    elif [[ -t 0 ]]; then
        step "musicbox setup"
        if [[ -n $SPOTIFY_SECRET ]]; then
            "$musicbox" setup --spotify-secret-file <(printf '%s\n' "$SPOTIFY_SECRET") "${SETUP_ARGS[@]}"
        else
            "$musicbox" setup "${SETUP_ARGS[@]}"
        fi
    else
        step "no bot token yet: showing musicbox at work on the built-in simulator"
        "$musicbox" demo
        echo
        echo "That was the real bot on a simulated Discord. Connect it to yours with: sudo musicbox setup"
    fi
}

# setup hands the config to the service's group by name, which under --root is this machine's group,
# not the root's; this gives it to the root's own musicbox group (the same one on a real install).
own_config() {
    local config="$ROOT$CONFIG_FILE" ids
    [[ -f $config ]] || return 0
    # root's, readable by the service's group: the bot must not be able to rewrite its own config.
    ids=$(awk -F: -v name="$SERVICE_USER" '$1 == name { print "0:" $4 }' "$ROOT/etc/passwd")
    chown "$ids" "$config"
    chmod 0640 "$config"
}

remove_program() {
    step "removing the musicbox program and its units (config, cache and queues stay)"
    if systemd_running; then
        systemctl disable --now "${UNITS[@]}" >/dev/null 2>&1 || true
    fi
    for unit in "${UNITS[@]}"; do
        rm -f "$ROOT$UNIT_DIR/$unit"
    done
    rm -f "$ROOT$BIN_LINK"
    rm -rf "$ROOT$PREFIX"
    if systemd_running; then
        systemctl daemon-reload
    fi
}

remove_data() {
    step "removing musicbox's config, cache, queues and the $SERVICE_USER user"
    for directory in "${DATA_DIRS[@]}"; do
        rm -rf "$ROOT$directory"
    done
    if grep -q "^$SERVICE_USER:" "$ROOT/etc/passwd"; then
        local prefix=()
        [[ -n $ROOT ]] && prefix=(--prefix "$ROOT")
        userdel "${prefix[@]}" "$SERVICE_USER"
    fi
}

main() {
    parse_args "$@"
    read_secrets
    check_privileges "$@"
    case $ACTION in
        uninstall) remove_program ;;
        purge) remove_program; remove_data ;;
        install)
            check_platform
            install_packages
            create_user
            make_config_dir
            install_program
            install_units
            run_setup
            own_config
            ;;
    esac
    STEP="done"
    printf '\033[32m✓\033[0m %s finished\n' "$ACTION"
}

main "$@"
