#!/bin/sh
# Installs the Debian packages the suite needs, called by the README's test command (and so by
# .ci/run) before the suite:
#   chromium        tests/test_report_html.py renders the HTML report with it, headless
#   openssh-server  the sshd lab (ops/lab/sshd.py): the CLI behind a real sshd on a real pty
#   openssh-client  OpenSSH's ssh/sftp/ssh-keyscan, real peers of the receiver and the sshd lab
#   systemd         systemd-analyze verifies the units `ops schedule` writes
#   openssl         decrypts what `ops bundle --encrypt` wrote
# A tool that cannot be installed fails this script, and a skipped test fails the suite
# (tests/conftest.py), so CI never skips a test silently. Set
# OPS_ALLOW_SKIPS=1 (a machine without root) to carry on; those tests then skip, naming why.
set -u
missing=""
[ -x /usr/bin/chromium ] || missing="$missing chromium"
[ -x /usr/sbin/sshd ] || missing="$missing openssh-server"
command -v sftp >/dev/null 2>&1 && command -v ssh-keyscan >/dev/null 2>&1 || missing="$missing openssh-client"
command -v systemd-analyze >/dev/null 2>&1 || missing="$missing systemd"
command -v openssl >/dev/null 2>&1 || missing="$missing openssl"
[ -z "$missing" ] && exit 0
fail() {
    echo "setup-system: $1" >&2
    if [ "${OPS_ALLOW_SKIPS:-}" = 1 ]; then
        echo "setup-system: OPS_ALLOW_SKIPS=1: the tests that need$missing will skip" >&2
        exit 0
    fi
    exit 1
}
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    fail "not root or no apt-get; install$missing by hand"
fi
export DEBIAN_FRONTEND=noninteractive
# Wait for another apt (an unattended upgrade, a bench setup) rather than fail.
apt-get -o DPkg::Lock::Timeout=300 update -qq || fail "apt-get update failed"
# shellcheck disable=SC2086
apt-get -o DPkg::Lock::Timeout=300 install -y -qq $missing >/dev/null || fail "apt-get could not install$missing"
# Debian's package starts sshd as a service; the tests start their own on free ports only.
if command -v systemctl >/dev/null 2>&1; then systemctl disable --now ssh >/dev/null 2>&1 || true; fi
exit 0
