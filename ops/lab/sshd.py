"""A lab appliance behind Debian's OpenSSH sshd, its CLI the login program on a real pty.

`LabConfig(sshd=True)` (inventory: `lab: {sshd: true}`) makes `LabAppliance.start()` run a
throw-away sshd on a loopback port instead of the in-process asyncssh server:

- sshd authenticates the lab's user with its password (a private mount namespace puts a
  passwd/shadow pair naming that user over /etc/passwd and /etc/shadow for sshd alone: the
  machine's own accounts are never touched), on the lab's host key;
- every session runs `ptylogin.py` (ForceCommand) on the pty sshd allocates; it bridges the pty
  to this process, where the same command handlers as the asyncssh lab answer, so REST, the
  admin UI account, services and pushes share one state;
- the pty's line discipline echoes and edits input and turns LF into CRLF, and sshd adds its
  own packet timing: what a session meets on a real VOS box, and what the asyncssh lab can only
  model.

Needs root (sshd, the mount namespace) and /usr/sbin/sshd (`apt-get install openssh-server`,
which tests/setup-system.sh does). `file get activelog` pushes with OpenSSH's own `sftp` here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from ops.lab import ptylogin
from ops.lab.terminal import SessionClosed
from ops.sshalgorithms import VOS_KEX

if TYPE_CHECKING:
    from ops.lab.server import LabAppliance

__all__ = ["SSHD", "SshdFront", "available"]

log = logging.getLogger(__name__)
SSHD = Path("/usr/sbin/sshd")
_HEADER = ptylogin.HEADER
# OpenSSH 9.2 knows these of the appliance's key exchange list.
_KEX = [k for k in VOS_KEX if k != "diffie-hellman-group-exchange-sha256"] + ["diffie-hellman-group-exchange-sha256"]


def available() -> str | None:
    """None when the sshd lab can run here; otherwise why not."""
    if not SSHD.exists():
        return f"{SSHD} is missing (apt-get install openssh-server)"
    if os.geteuid() != 0:
        return "the sshd lab needs root (sshd and a private mount namespace)"
    if shutil.which("unshare") is None or shutil.which("openssl") is None:
        return "the sshd lab needs util-linux's unshare and openssl"
    return None


class _FrameReader:
    """The terminal input the login program forwards, as the Terminal reads it."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self._reader = reader

    async def read(self, n: int = -1) -> bytes:
        while True:
            try:
                head = await self._reader.readexactly(_HEADER.size)
                kind, size = _HEADER.unpack(head)
                payload = await self._reader.readexactly(size)
            except (asyncio.IncompleteReadError, ConnectionError):
                return b""
            if kind == b"D" and payload:
                return payload


class _FrameWriter:
    """Output and terminal modes towards the login program, in order."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer

    def write(self, data: bytes) -> None:
        if self._writer.is_closing():
            raise BrokenPipeError("the login program is gone")
        self._writer.write(ptylogin.frame(b"D", data))

    async def drain(self) -> None:
        await self._writer.drain()

    async def set_modes(self, *, echo: bool, canonical: bool) -> None:
        if self._writer.is_closing():
            raise SessionClosed("the login program is gone")
        self._writer.write(ptylogin.frame(b"M", f"echo={int(echo)},canonical={int(canonical)}".encode()))
        await self._writer.drain()


def _free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def _password_hash(password: str) -> str:
    done = subprocess.run(["openssl", "passwd", "-6", "-stdin"], input=password + "\n", capture_output=True,
                          text=True, check=True)
    return done.stdout.strip()


def _replace_entry(path: Path, user: str, line: str) -> str:
    kept = [entry for entry in path.read_text().splitlines() if entry.split(":", 1)[0] != user]
    return "\n".join([*kept, line]) + "\n"


class SshdFront:
    """The sshd, the fake account files and the bridge of one lab appliance."""

    def __init__(self, lab: LabAppliance) -> None:
        self.lab = lab
        self.dir: Path | None = None
        self._bridge: asyncio.Server | None = None
        self._proc: asyncio.subprocess.Process | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, host: str, port: int) -> int:
        why = available()
        if why is not None:
            raise RuntimeError(f"cannot start the sshd lab: {why}")
        cfg = self.lab.config
        work = self.dir = Path(tempfile.mkdtemp(prefix="ops-lab-sshd-"))
        work.chmod(0o711)
        sock = work / "cli.sock"
        self._bridge = await asyncio.start_unix_server(self._session, path=str(sock))
        sock.chmod(0o666)
        key = work / "ssh_host_ed25519_key"
        key.write_bytes(self.lab.host_key.export_private_key("openssh"))
        key.chmod(0o600)
        # The lab's user as root's twin (uid 0): sshd runs the login program as that user, and the
        # interpreter may sit below root's home.
        passwd, shadow = work / "passwd", work / "shadow"
        passwd.write_text(_replace_entry(Path("/etc/passwd"), cfg.username,
                                         f"{cfg.username}:x:0:0:VOS admin:{work}:/bin/sh"))
        hashed = await asyncio.to_thread(_password_hash, cfg.password)
        shadow.write_text(_replace_entry(Path("/etc/shadow"), cfg.username,
                                         f"{cfg.username}:{hashed}:19000:0:99999:7:::"))
        shadow.chmod(0o600)
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation directory
        for _attempt in range(5):
            listen_port = port or _free_port(host)
            config = work / "sshd_config"
            config.write_text("\n".join([
                f"ListenAddress {host}", f"Port {listen_port}", f"HostKey {key}", "PidFile none",
                "PermitRootLogin yes", "PasswordAuthentication yes", "KbdInteractiveAuthentication no",
                "PubkeyAuthentication no", "UsePAM no", "StrictModes no", "PermitEmptyPasswords no",
                f"ForceCommand exec {sys.executable} {Path(ptylogin.__file__).resolve()} {sock}",
                f"KexAlgorithms {','.join(_KEX)}", "MaxStartups 500", "MaxSessions 10", "LoginGraceTime 60",
                "AllowTcpForwarding no", "X11Forwarding no", "PrintMotd no", "PrintLastLog no", "UseDNS no",
                "LogLevel ERROR", "",
            ]))
            script = (f"mount --bind {passwd} /etc/passwd && mount --bind {shadow} /etc/shadow && "
                      f"exec {SSHD} -D -e -f {config}")
            self._proc = await asyncio.create_subprocess_exec(
                "unshare", "--mount", "--propagation", "private", "sh", "-c", script,
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                start_new_session=True)
            if await self._listening(host, listen_port):
                return listen_port
            error = b""
            if self._proc.stderr is not None:
                with contextlib.suppress(Exception):
                    error = await asyncio.wait_for(self._proc.stderr.read(), 2)
            await self._kill()
            if port or b"Address already in use" not in error:
                raise RuntimeError(f"the lab's sshd did not start: {error.decode(errors='replace').strip()}")
        raise RuntimeError("the lab's sshd found no free port")

    async def _listening(self, host: str, port: int) -> bool:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            assert self._proc is not None
            if self._proc.returncode is not None:
                return False
            try:
                _, writer = await asyncio.open_connection(host, port)
            except OSError:
                await asyncio.sleep(0.02)
                continue
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            return True
        return False

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        self._writers.add(writer)
        frames = _FrameWriter(writer)
        term = self.lab.new_terminal(_FrameReader(reader), frames, tty=frames)
        try:
            await self.lab.shell(term)
            await term.flush()
        except (asyncio.CancelledError, SessionClosed, ConnectionError, BrokenPipeError):
            pass
        except Exception:  # a session's bug must never take the appliance down
            log.exception("lab session (sshd) failed")
        finally:
            term.close()
            self._writers.discard(writer)
            writer.close()
            if task is not None:
                self._tasks.discard(task)

    async def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 5)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                await proc.wait()

    async def stop(self) -> None:
        """Stop sshd and every session (their login programs end with the bridge), remove the files."""
        bridge, self._bridge = self._bridge, None
        if bridge is not None:
            bridge.close()
        for task in list(self._tasks):
            task.cancel()
        for writer in list(self._writers):
            writer.close()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._kill()
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
