"""The SFTP receiver against other SFTP client implementations: OpenSSH `sftp` and paramiko.

These clients are blocking, so the receiver runs on an event loop in a background thread.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import stat
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import paramiko
import pytest

from ops.receiver import Account, ManifestEntry, Receiver


class ThreadedReceiver:
    """A `Receiver` running on its own event loop thread, for blocking clients."""

    def __init__(self, root: Path, **kwargs: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="receiver-loop", daemon=True)
        self.thread.start()
        self.receiver = self.call(lambda: Receiver(root, **kwargs))
        asyncio.run_coroutine_threadsafe(self.receiver.start(), self.loop).result(10)

    def call(self, fn: Callable[[], Any]) -> Any:
        """Run `fn` on the receiver's loop thread (its state belongs to that thread)."""
        future: Future[Any] = Future()

        def runner() -> None:
            try:
                future.set_result(fn())
            except BaseException as exc:  # handed back to the calling thread
                future.set_exception(exc)
        self.loop.call_soon_threadsafe(runner)
        return future.result(10)

    def close(self) -> None:
        try:
            asyncio.run_coroutine_threadsafe(self.receiver.stop(), self.loop).result(10)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
            self.loop.close()


@pytest.fixture
def threaded(tmp_path: Path) -> Iterator[ThreadedReceiver]:
    server = ThreadedReceiver(tmp_path / "recv")
    try:
        yield server
    finally:
        server.close()


# -- paramiko ----------------------------------------------------------------------------------


def paramiko_sftp(port: int, username: str, password: str) -> tuple[paramiko.Transport, paramiko.SFTPClient]:
    transport = paramiko.Transport(("127.0.0.1", port))
    try:
        transport.connect(username=username, password=password)
        sftp = paramiko.SFTPClient.from_transport(transport)
        assert sftp is not None
    except BaseException:
        transport.close()
        raise
    return transport, sftp


def test_paramiko_upload_and_jail(threaded: ThreadedReceiver, tmp_path: Path) -> None:
    account: Account = threaded.call(lambda: threaded.receiver.add_account("finesse-b"))
    port = threaded.receiver.port
    payload = os.urandom(150_000)
    local = tmp_path / "Desktop-webservices.log"
    local.write_bytes(payload)

    transport, sftp = paramiko_sftp(port, account.username, account.password.reveal())
    try:
        sftp.mkdir("desktop")
        sftp.mkdir("desktop/logs")
        sftp.put(str(local), "desktop/logs/Desktop-webservices.log")
        assert sftp.normalize(".") == "/"
        assert sftp.listdir("desktop/logs") == ["Desktop-webservices.log"]
        assert stat.S_ISDIR(sftp.stat("/").st_mode or 0)

        # Traversal out of the jail: refused.
        for path in ("../x", "/../etc/passwd", "desktop/../../x"):
            with pytest.raises(PermissionError):
                sftp.open(path, "w")
            with pytest.raises(PermissionError):
                sftp.stat(path)
        # Absolute paths are jail paths: /etc/passwd is inside the jail, and not there.
        with pytest.raises(FileNotFoundError):
            sftp.stat("/etc/passwd")
        with pytest.raises(FileNotFoundError):
            sftp.open("/etc/passwd", "r")
        # No links of either kind.
        with pytest.raises(PermissionError):
            sftp.symlink("/etc/passwd", "pw")
        with pytest.raises(PermissionError):
            sftp.symlink("../../../../etc/passwd", "pw")
        # Renames stay inside and never replace a finished file.
        with pytest.raises(PermissionError):
            sftp.rename("desktop/logs/Desktop-webservices.log", "../stolen.log")
        sftp.putfo(_bytes_io(b"other"), "other.log")
        with pytest.raises(OSError):
            sftp.rename("other.log", "desktop/logs/Desktop-webservices.log")
        with pytest.raises(OSError):
            sftp.posix_rename("other.log", "desktop/logs/Desktop-webservices.log")
        # Overwriting a finished file is refused, whatever the open mode.
        for mode in ("w", "a", "r+"):
            with pytest.raises(OSError):
                sftp.open("desktop/logs/Desktop-webservices.log", mode)
        # A NUL byte in a name is refused, and for that reason (SFTP v3 sends it as FX_FAILURE,
        # which paramiko raises as a bare OSError carrying the server's message).
        for refused in (lambda: sftp.open("bad\0name.log", "w"), lambda: sftp.mkdir("bad\0dir"),
                        lambda: sftp.stat("desktop/bad\0name")):
            with pytest.raises(OSError) as excinfo:
                refused()
            assert type(excinfo.value) is OSError and excinfo.value.args == ("file name contains a NUL byte",)
    finally:
        sftp.close()
        transport.close()

    manifest = threaded.call(lambda: threaded.receiver.manifest("finesse-b"))
    assert manifest == [
        ManifestEntry("desktop/logs/Desktop-webservices.log", len(payload), hashlib.sha256(payload).hexdigest()),
        ManifestEntry("other.log", 5, hashlib.sha256(b"other").hexdigest()),
    ]
    assert (account.directory / "desktop/logs/Desktop-webservices.log").read_bytes() == payload
    assert not (tmp_path / "recv" / "stolen.log").exists() and not (tmp_path / "stolen.log").exists()
    assert sorted(p.name for p in account.directory.iterdir()) == ["desktop", "other.log"]


def _bytes_io(data: bytes) -> Any:
    import io
    return io.BytesIO(data)


def test_paramiko_wrong_credentials_refused(threaded: ThreadedReceiver) -> None:
    account: Account = threaded.call(lambda: threaded.receiver.add_account("h"))
    port = threaded.receiver.port
    for username, password in ((account.username, "not-the-password"),
                               ("ops-00000000", account.password.reveal()),
                               (account.username, "")):
        with pytest.raises(paramiko.AuthenticationException):
            paramiko_sftp(port, username, password)


def until(check: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll `check` until true or `timeout` (the receiver's side of a client's action comes later)."""
    deadline = time.monotonic() + timeout
    while not check() and time.monotonic() < deadline:
        time.sleep(0.02)


def paramiko_half_upload(threaded: ThreadedReceiver, name: str,
                         size: int) -> tuple[Account, paramiko.Transport, paramiko.SFTPClient, paramiko.SFTPFile]:
    """A paramiko client of a new account of host "h" with `name` open and `size` bytes of it
    received. Keep the file object: paramiko closes the handle when it is garbage-collected."""
    account: Account = threaded.call(lambda: threaded.receiver.add_account("h"))
    transport, sftp = paramiko_sftp(threaded.receiver.port, account.username, account.password.reveal())
    fh = sftp.open(name, "w")
    fh.write(b"y" * size)
    fh.flush()
    until(lambda: threaded.call(lambda: threaded.receiver.stats("h"))[1] >= size)
    assert threaded.call(lambda: threaded.receiver.stats("h")) == (0, size)
    return account, transport, sftp, fh


def test_paramiko_abort_mid_upload_leaves_nothing(threaded: ThreadedReceiver) -> None:
    account, transport, _, _fh = paramiko_half_upload(threaded, "big.log", 100_000)
    # Drop the socket without closing the handle.
    transport.sock.close()  # type: ignore[union-attr]
    transport.close()
    until(lambda: not any(account.directory.iterdir()))
    assert list(account.directory.iterdir()) == []
    assert threaded.call(lambda: threaded.receiver.manifest("h")) == []


def test_paramiko_sftp_session_closed_with_a_file_open_commits_nothing(threaded: ThreadedReceiver) -> None:
    """The SFTP channel ends while a file is still open and the SSH connection stays up: asyncssh
    closes the handle in its teardown, which must abort the upload (the connection is not lost,
    so only recognising the teardown tells this apart from the client closing the file)."""
    account, transport, sftp, _fh = paramiko_half_upload(threaded, "half.log", 50_000)
    try:
        sftp.close()  # the channel only: the handle was never closed
        until(lambda: not any(account.directory.iterdir()))
        assert list(account.directory.iterdir()) == []
        assert threaded.call(lambda: threaded.receiver.manifest("h")) == []
        assert threaded.call(lambda: threaded.receiver.stats("h")) == (0, 0)
        # The connection is still there, and a new SFTP session on it sees no such file.
        assert transport.is_active()
        again = paramiko.SFTPClient.from_transport(transport)
        assert again is not None and again.listdir("/") == []
        again.close()
    finally:
        transport.close()


# -- OpenSSH sftp ------------------------------------------------------------------------------

SFTP = shutil.which("sftp")


def openssh_sftp(port: int, username: str, password: str, batch: str, tmp_path: Path,
                 *extra: str) -> subprocess.CompletedProcess[str]:
    """Run OpenSSH `sftp -b`, with the password fed through SSH_ASKPASS (never on a command line)."""
    askpass = tmp_path / "askpass.sh"
    askpass.write_text('#!/bin/sh\nprintf "%s\\n" "$RECEIVER_TEST_PASSWORD"\n')
    askpass.chmod(0o700)
    batchfile = tmp_path / "batch.txt"
    batchfile.write_text(batch)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path),
           "SSH_ASKPASS": str(askpass), "SSH_ASKPASS_REQUIRE": "force", "DISPLAY": ":0",
           "RECEIVER_TEST_PASSWORD": password}
    # sftp -b implies BatchMode=yes, which forbids asking for a password at all; ssh keeps the
    # first value it sees for an option, so BatchMode=no must come before -b.
    cmd = [SFTP or "sftp", "-o", "BatchMode=no", "-b", str(batchfile), "-P", str(port), "-F", "/dev/null",
           "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
           "-o", "GlobalKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
           "-o", "PreferredAuthentications=password", "-o", "PubkeyAuthentication=no",
           "-o", "NumberOfPasswordPrompts=1", "-o", "ConnectTimeout=5", *extra,
           f"{username}@127.0.0.1"]
    return subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=20, check=False)


@pytest.mark.skipif(SFTP is None, reason="OpenSSH sftp client not installed")
def test_openssh_sftp_batch_upload(threaded: ThreadedReceiver, tmp_path: Path) -> None:
    account: Account = threaded.call(lambda: threaded.receiver.add_account("finesse-a"))
    payload = os.urandom(1_000_000)
    local = tmp_path / "Desktop-webservices.2026-11-25T10-00-00.log"
    local.write_bytes(payload)
    batch = (
        "mkdir finesse-a\n"
        "mkdir finesse-a/20261125\n"
        "cd finesse-a/20261125\n"
        f"put {local}\n"
        "ls -l\n"
        "-put /etc/hostname ../../../escape\n"   # '-': allowed to fail, checked below
    )
    result = openssh_sftp(threaded.receiver.port, account.username, account.password.reveal(), batch,
                          tmp_path)
    assert result.returncode == 0, result.stderr
    assert local.name in result.stdout
    assert account.password.reveal() not in result.stdout + result.stderr
    rel = f"finesse-a/20261125/{local.name}"
    assert threaded.call(lambda: threaded.receiver.manifest("finesse-a")) == [
        ManifestEntry(rel, len(payload), hashlib.sha256(payload).hexdigest())]
    assert (account.directory / rel).read_bytes() == payload
    assert not (tmp_path / "escape").exists() and not (tmp_path / "recv" / "escape").exists()


@pytest.mark.skipif(SFTP is None, reason="OpenSSH sftp client not installed")
def test_openssh_sftp_wrong_password_refused(threaded: ThreadedReceiver, tmp_path: Path) -> None:
    account: Account = threaded.call(lambda: threaded.receiver.add_account("h"))
    result = openssh_sftp(threaded.receiver.port, account.username, "wrong-password-123", "ls\n", tmp_path)
    assert result.returncode != 0
    assert "Permission denied" in result.stderr


@pytest.mark.skipif(SFTP is None, reason="OpenSSH sftp client not installed")
@pytest.mark.filterwarnings("ignore:Diffie-Hellman over finite fields")
def test_openssh_sftp_legacy_algorithms(tmp_path: Path) -> None:
    server = ThreadedReceiver(tmp_path / "recv", legacy_algorithms=True)
    try:
        account: Account = server.call(lambda: server.receiver.add_account("h"))
        src = tmp_path / "f.log"
        src.write_bytes(b"old vos\n")
        result = openssh_sftp(server.receiver.port, account.username, account.password.reveal(),
                              f"put {src}\n", tmp_path,
                              "-o", "KexAlgorithms=diffie-hellman-group14-sha1",
                              "-o", "Ciphers=aes128-cbc", "-o", "MACs=hmac-sha1",
                              "-o", "HostKeyAlgorithms=ssh-rsa")
        assert result.returncode == 0, result.stderr
        assert [e.path for e in server.call(lambda: server.receiver.manifest("h"))] == ["f.log"]
    finally:
        server.close()
