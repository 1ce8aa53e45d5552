"""OpenSSH's sftp-server behind a throw-away sshd on a loopback port, with a password login: where
admins without ops point `file get activelog` (an account on a Linux box running sshd).

The account exists for this sshd alone: a private mount namespace puts a passwd/shadow pair naming
it over /etc/passwd and /etc/shadow (as `ops.lab.sshd` does for the sshd lab), so the machine's own
accounts are never touched. Needs root, util-linux's unshare and openssl.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SSHD = "/usr/sbin/sshd"
SFTP_SERVER = "/usr/lib/openssh/sftp-server"
USER = "opsbench"


@dataclass
class SftpAccount:
    host: str
    port: int
    username: str
    password: str
    pid: int

    def cpu_seconds(self) -> float:
        """sshd's CPU time so far, its children (every connection's sshd and sftp-server) included:
        waits until it has reaped them (a child's time counts in its parent's only then)."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(
                Path(f"/proc/{self.pid}/task/{tid}/children").read_text().split()
                for tid in os.listdir(f"/proc/{self.pid}/task")):
            time.sleep(0.02)
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _without(path: str, user: str, line: str) -> str:
    kept = [entry for entry in Path(path).read_text().splitlines() if entry.split(":", 1)[0] != user]
    return "\n".join([*kept, line]) + "\n"


@contextlib.contextmanager
def openssh_sftp(password: str, *, max_startups: int = 500) -> Iterator[SftpAccount]:
    """sshd serving sftp-server to `USER` (root's twin, so it may write anywhere) with `password`."""
    with tempfile.TemporaryDirectory(prefix="ops-bench-sshd-") as tmp:
        work = Path(tmp)
        work.chmod(0o711)
        key = work / "ssh_host_ed25519_key"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
        hashed = subprocess.run(["openssl", "passwd", "-6", "-stdin"], input=password + "\n", text=True,
                                capture_output=True, check=True).stdout.strip()
        (work / "passwd").write_text(_without("/etc/passwd", USER, f"{USER}:x:0:0:bench:{work}:/bin/sh"))
        (work / "shadow").write_text(_without("/etc/shadow", USER, f"{USER}:{hashed}:19000:0:99999:7:::"))
        (work / "shadow").chmod(0o600)
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        port = _free_port()
        # MaxStartups: sshd's default (10:30:100) drops most of 50 logins arriving at once; an admin
        # whose pulls fail that way raises it.
        (work / "sshd_config").write_text("\n".join([
            "ListenAddress 127.0.0.1", f"Port {port}", f"HostKey {key}", "PidFile none", "PermitRootLogin yes",
            "PasswordAuthentication yes", "KbdInteractiveAuthentication no", "PubkeyAuthentication no",
            "UsePAM no", "StrictModes no", f"Subsystem sftp {SFTP_SERVER}", f"MaxStartups {max_startups}",
            "AllowTcpForwarding no", "X11Forwarding no", "PrintMotd no", "PrintLastLog no", "UseDNS no",
            "LogLevel ERROR", "",
        ]))
        script = (f"mount --bind {work / 'passwd'} /etc/passwd && mount --bind {work / 'shadow'} /etc/shadow && "
                  f"exec {SSHD} -D -e -f {work / 'sshd_config'}")
        # `unshare` without --fork execs sh, which execs sshd: the pid below is sshd's.
        proc = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        try:
            deadline = time.monotonic() + 15
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"sshd exited with {proc.returncode}")
                with socket.socket() as probe:
                    if probe.connect_ex(("127.0.0.1", port)) == 0:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError("sshd does not listen")
                time.sleep(0.05)
            yield SftpAccount("127.0.0.1", port, USER, password, proc.pid)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
