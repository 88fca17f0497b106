#!/usr/bin/env bash
# Prepare the Python side of aie's integration tests: a venv holding pinned
# aiosmtpd (the SMTP server in tests/support/smtp_server.py), cryptography
# (tests/support/make_cert.py), mcp, the official MCP SDK (tests/support/mcp_client.py),
# and pyrage, an independent age implementation (tests/cli/backup_encrypt.rs).
#
#   tests/setup.sh        -> last line on stdout: AIE_TEST_PYTHON=<venv python>
#
# The venv lives at ${AIE_TEST_VENV:-<repo>/target/test-venv}.  Idempotent and
# non-interactive (fine with CI=true and no stdin): when the venv already has
# the pinned versions nothing is installed.  Any failure exits non-zero.
# Progress notes go to stderr so stdout carries only the AIE_TEST_PYTHON line.
set -euo pipefail

# Pinned versions (PyPI).  Bump both here; the check below notices the change.
AIOSMTPD_VERSION=1.4.6
CRYPTOGRAPHY_VERSION=50.0.2
# 1.x: its client negotiates with `initialize` (2025-11-25); 2.x speaks the 2026 revision.
MCP_VERSION=1.30.0
PYRAGE_VERSION=1.4.0

die() { echo "tests/setup.sh: error: $*" >&2; exit 1; }
note() { echo "tests/setup.sh: $*" >&2; }

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(git -C "$script_dir" rev-parse --show-toplevel 2>/dev/null) \
    || repo=$(cd "$script_dir/.." && pwd)
venv=${AIE_TEST_VENV:-$repo/target/test-venv}
case $venv in /*) ;; *) venv=$PWD/$venv ;; esac  # the printed path must be absolute
host_python=${PYTHON:-python3}
py=$venv/bin/python

# The two-agent tests sign commits with an SSH key (git's `gpg.format ssh`).
if ! command -v ssh-keygen >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        note "installing openssh-client (ssh-keygen)"
        apt-get install -y -qq openssh-client >&2 || die "cannot install openssh-client"
    else
        die "ssh-keygen not found: install openssh-client"
    fi
fi

command -v "$host_python" >/dev/null 2>&1 \
    || die "'$host_python' not found (need Python >= 3.9; set PYTHON=... to choose one)"

# Serialise concurrent runs (e.g. parallel test binaries) when flock exists.
mkdir -p "$(dirname "$venv")"
if command -v flock >/dev/null 2>&1; then
    exec 9>"$venv.lock"
    flock 9
fi

# True when the venv's python imports both packages at the pinned versions.
have_pins() {
    [ -x "$py" ] || return 1
    "$py" - "$AIOSMTPD_VERSION" "$CRYPTOGRAPHY_VERSION" "$MCP_VERSION" "$PYRAGE_VERSION" >/dev/null 2>&1 <<'EOF'
import sys
from importlib.metadata import version
import aiosmtpd.smtp, cryptography.x509, mcp.client.stdio, pyrage  # noqa: F401  (really importable?)
sys.exit(0 if [version(p) for p in ("aiosmtpd", "cryptography", "mcp", "pyrage")] == sys.argv[1:] else 1)
EOF
}

if ! have_pins; then
    # A venv whose python is missing or broken (moved dir, removed host
    # python) is rebuilt from scratch; a healthy one is reused.
    if [ ! -x "$py" ] || ! "$py" -c 'import pip' >/dev/null 2>&1; then
        note "creating venv at $venv"
        "$host_python" -m venv --clear "$venv" </dev/null \
            || die "'$host_python -m venv' failed (on Debian/Ubuntu: apt-get install python3-venv)"
    fi
    note "installing aiosmtpd==$AIOSMTPD_VERSION cryptography==$CRYPTOGRAPHY_VERSION mcp==$MCP_VERSION pyrage==$PYRAGE_VERSION"
    PIP_NO_INPUT=1 "$py" -m pip install --quiet --disable-pip-version-check \
        --no-input "aiosmtpd==$AIOSMTPD_VERSION" "cryptography==$CRYPTOGRAPHY_VERSION" \
        "mcp==$MCP_VERSION" "pyrage==$PYRAGE_VERSION" \
        </dev/null >&2 \
        || die "pip install failed"
    have_pins || die "packages installed but the import check still fails in $venv"
fi

echo "AIE_TEST_PYTHON=$py"
