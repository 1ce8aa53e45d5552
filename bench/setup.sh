#!/usr/bin/env bash
# Installs what the benchmarks need; idempotent (a second run only checks).
#   .venv                 finesse-ops (editable), when README's first command has not made it
#   bench/.venvs/current  scrapli 2026.x (FFI build), netmiko, nornir + nornir-netmiko, sftpserver,
#                         finesse-ops (editable)
#   bench/.venvs/classic  scrapli 2025.1.30 (classic GenericDriver), finesse-ops (editable)
# plus Debian's openssh-server for OpenSSH's own sftp-server (sshd is never enabled as a service).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
venvs="$here/.venvs"
python="${PYTHON:-python3}"

if [ ! -x /usr/sbin/sshd ] || [ ! -x /usr/lib/openssh/sftp-server ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=300 update -qq
    apt-get -o DPkg::Lock::Timeout=300 install -y -qq openssh-server >/dev/null
fi
command -v sftp >/dev/null || { echo "setup: OpenSSH's sftp client is missing" >&2; exit 1; }

make_venv() {  # name, stamp contents, pip args...
    local name="$1" stamp="$2"; shift 2
    local dir="$venvs/$name"
    if [ -f "$dir/.stamp" ] && [ "$(cat "$dir/.stamp")" = "$stamp" ]; then
        return
    fi
    rm -rf "$dir"
    "$python" -m venv "$dir"
    "$dir/bin/pip" install -q --upgrade pip
    "$dir/bin/pip" install -q "$@" -e "$repo"
    echo "$stamp" > "$dir/.stamp"
}

# The project's own venv (README's first command makes it too): ops' peers run with its Python.
if [ ! -x "$repo/.venv/bin/python" ] || ! "$repo/.venv/bin/python" -c "import ops.cli" 2>/dev/null; then
    "$python" -m venv "$repo/.venv"
    "$repo/.venv/bin/pip" install -q -e "$repo"
fi
make_venv current "v2 scrapli>=2026 netmiko nornir nornir-netmiko sftpserver" "scrapli>=2026" netmiko nornir \
    nornir-netmiko sftpserver
make_venv classic "v1 scrapli==2025.1.30" "scrapli==2025.1.30"
echo "setup: ok ($venvs)"
