#!/bin/sh
# Installs Debian's Chromium for tests/test_report_html.py, which renders the HTML report with it
# headless. Called by the README's test command (and so by .ci/run) before the suite. Without root
# or without the Debian mirror it says so and carries on: the browser tests then skip, naming why.
set -u
if [ -x /usr/bin/chromium ]; then
    exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "setup-chromium: not root or no apt-get; the HTML rendering tests will skip" >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
# Wait for another apt (an unattended upgrade, a bench setup) instead of skipping the browser tests.
if apt-get -o DPkg::Lock::Timeout=300 update -qq && apt-get -o DPkg::Lock::Timeout=300 install -y -qq chromium >/dev/null; then
    /usr/bin/chromium --version
else
    echo "setup-chromium: apt-get could not install chromium; the HTML rendering tests will skip" >&2
fi
exit 0
