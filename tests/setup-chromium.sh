#!/bin/sh
# Installs Debian's headless-capable Chromium for tests/test_report_html.py, which renders the
# HTML report with it (the tests skip, saying so, when /usr/bin/chromium is missing).
# Run as root, e.g. from CI before the test suite: sh tests/setup-chromium.sh
set -eu
if [ -x /usr/bin/chromium ]; then
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y chromium
/usr/bin/chromium --version
