"""The appliance's outbound SFTP client: how `file get` delivers files to a receiver.

Kept apart from the CLI dialog so the transfer (algorithms, host-key lookup, directory
creation, tar.gz packing) can be reasoned about on its own.
"""

from __future__ import annotations

import asyncio
import os
import posixpath
import shlex
import tarfile
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncssh

from ops.lab.logtree import LogFile
from ops.sshalgorithms import CIPHERS, LEGACY_CIPHERS, LEGACY_HOST_KEYS, LEGACY_KEX, LEGACY_MACS, VOS_KEX

CONNECT_TIMEOUT = 15.0
QUESTION_TIMEOUT = 300.0


@dataclass(frozen=True)
class PushRecord:
    """One `file get` transfer the appliance made (never its password)."""

    host: str
    port: int
    username: str
    directory: str
    files: tuple[LogFile, ...]
    remote_paths: tuple[str, ...]
    compressed: bool = False
    ok: bool = True
    error: str = ""


class PushError(Exception):
    """A transfer failed; the message is what the appliance prints (never holds the password)."""


@dataclass(frozen=True)
class PushTarget:
    """Where the user asked the files to go."""

    host: str
    port: int
    username: str
    directory: str


def key_type_label(key: asyncssh.SSHKey) -> str:
    """OpenSSH's name for a key type in prompts: ED25519, RSA, ECDSA ..."""
    alg = key.get_algorithm()
    if "ed25519" in alg:
        return "ED25519"
    if "ed448" in alg:
        return "ED448"
    if alg.startswith("ecdsa"):
        return "ECDSA"
    if "rsa" in alg:
        return "RSA"
    return alg.upper()


def _alg_options(legacy: bool) -> dict[str, Any]:
    """What the appliance's SFTP client offers: an older VOS release's algorithms and nothing else,
    or a modern release's (OpenSSH 7+ with AES-NI negotiates AES-GCM, which also keeps the lab
    cheap when hundreds of labs push at once on a small machine)."""
    if legacy:
        return {"kex_algs": LEGACY_KEX, "encryption_algs": LEGACY_CIPHERS, "mac_algs": LEGACY_MACS,
                "server_host_key_algs": LEGACY_HOST_KEYS}
    return {"kex_algs": VOS_KEX, "encryption_algs": CIPHERS, "server_host_key_algs": "default"}


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "connection timed out"
    if isinstance(exc, asyncssh.Error):
        return exc.reason or type(exc).__name__
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def remote_layout(target: PushTarget, files: list[LogFile], *, nested: bool, hostname: str,
                  when: datetime) -> tuple[str, list[str]]:
    """The base directory and the remote path of each file (relpath kept below the base)."""
    base = target.directory.strip() or "."
    if nested:
        base = posixpath.join(base, hostname, when.strftime("%Y%m%d%H%M%S"), "activelog")
    return base, [posixpath.join(base, f.relpath) for f in files]


def build_archive(root: Path, files: list[LogFile], dest: Path) -> None:
    """Pack `files` into the tar.gz at `dest`, each as `activelog/<relpath>`."""
    with tarfile.open(dest, "w:gz") as tar:
        for f in files:
            tar.add(root / f.relpath, arcname=f"activelog/{f.relpath}", recursive=False)


async def _ensure_dir(sftp: asyncssh.SFTPClient, path: str, made: set[str]) -> None:
    if path in ("", ".", "/") or path in made:
        return
    await _ensure_dir(sftp, posixpath.dirname(path.rstrip("/")), made)
    try:
        await sftp.mkdir(path)
    except asyncssh.SFTPError:
        # Receivers answer mkdir of an existing directory with FAILURE rather than a clear code.
        if not await sftp.isdir(path):
            raise
    made.add(path)


HostKeyCheck = Callable[[asyncssh.SSHKey], Awaitable[None]]


async def push(
    target: PushTarget,
    password: str,
    check_host_key: HostKeyCheck,
    uploads: list[tuple[Path, str]],
    *,
    legacy: bool,
    transfer_delay: float = 0.0,
    rate: int = 0,
    on_file: Callable[[], Awaitable[None]] | None = None,
    drop_in_last_file: bool = False,
) -> None:
    """Log in to the receiver with a password and upload each (local, remote path) pair.

    As OpenSSH's client does, one connection: the server's host key is taken during key exchange
    and `check_host_key` (which may ask the user) runs before the password is sent; it raises
    PushError to refuse the key.
    """
    offered: list[asyncssh.SSHKey] = []
    refused: list[PushError] = []

    class _KeyTaker(asyncssh.SSHClient):
        def validate_host_public_key(self, host: str, addr: str, port: int, key: asyncssh.SSHKey) -> bool:
            offered.append(key)
            return True

    async def password_once_key_is_trusted() -> str | None:
        try:
            await check_host_key(offered[-1])
        except PushError as exc:
            refused.append(exc)
            return None
        return password

    try:
        conn = await asyncio.wait_for(
            asyncssh.connect(
                target.host, target.port, username=target.username, password=password_once_key_is_trusted,
                known_hosts=([], [], []), client_factory=_KeyTaker, client_keys=None, agent_path=None,
                config=None, preferred_auth=["password"], **_alg_options(legacy),
            ),
            # The host key question may wait for a person.
            CONNECT_TIMEOUT + QUESTION_TIMEOUT,
        )
    except asyncssh.PermissionDenied as exc:
        if refused:
            raise refused[0] from None
        raise PushError(f"Authentication failed for user {target.username} on {target.host}") from exc
    except (OSError, asyncssh.Error, TimeoutError) as exc:
        raise PushError(f"Could not connect to the SFTP server {target.host}:{target.port}: {_reason(exc)}") from exc
    try:
        async with conn, conn.start_sftp_client() as sftp:
            made: set[str] = set()
            for index, (local, remote) in enumerate(uploads):
                await _ensure_dir(sftp, posixpath.dirname(remote), made)
                if drop_in_last_file and index == len(uploads) - 1:
                    await _drop_midway(conn, sftp, local, remote)
                await _upload(sftp, local, remote, rate)
                if transfer_delay:
                    await asyncio.sleep(transfer_delay)
                if on_file is not None:
                    await on_file()
    except (OSError, asyncssh.Error) as exc:
        raise PushError(f"File transfer failed: {_reason(exc)}") from exc


BLOCK = 256 * 1024
SLOW_BLOCK = 16 * 1024  # the write size of a paced transfer (transfer_rate)
IN_FLIGHT = 16  # write requests outstanding at once, as OpenSSH's sftp keeps several in flight


async def _upload(sftp: asyncssh.SFTPClient, local: Path, remote: str, rate: int = 0) -> None:
    """OPEN, WRITE..., CLOSE: what OpenSSH's `sftp put` sends, without the per-file STAT that
    asyncssh's `put` adds to find out whether the target is a directory. With `rate`, one write
    at a time, paced to that many bytes a second."""
    with open(local, "rb") as src:
        async with sftp.open(remote, "wb") as dst:
            offset = 0
            pending: list[Awaitable[int]] = []
            if rate:
                while chunk := src.read(SLOW_BLOCK):
                    await dst.write(chunk, offset)
                    offset += len(chunk)
                    await asyncio.sleep(len(chunk) / rate)
                return
            while chunk := src.read(BLOCK):
                pending.append(dst.write(chunk, offset))
                offset += len(chunk)
                if len(pending) >= IN_FLIGHT:
                    await asyncio.gather(*pending)
                    pending = []
            if len(pending) == 1:  # most log files: one write, no task to gather it in
                await pending[0]
            elif pending:
                await asyncio.gather(*pending)


async def _drop_midway(conn: asyncssh.SSHClientConnection, sftp: asyncssh.SFTPClient, local: Path,
                       remote: str) -> None:
    """Write half of a file, then lose the connection, as a flaky WAN link does (a lab fault)."""
    data = local.read_bytes()
    handle = await sftp.open(remote, "wb")
    await handle.write(data[: max(1, len(data) // 2)])
    conn.abort()
    await asyncio.sleep(0)
    raise PushError("File transfer failed: connection lost")



def _sftp_quote(path: str | Path) -> str:
    return '"' + str(path).replace("\\", "\\\\").replace('"', '\\"') + '"'


async def _scan_host_key(target: PushTarget) -> asyncssh.SSHKey:
    """The receiver's host key as OpenSSH's client would meet it (ssh-keyscan)."""
    proc = await asyncio.create_subprocess_exec(
        "ssh-keyscan", "-T", "15", "-p", str(target.port), "-t", "ed25519,ecdsa,rsa", target.host,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    out, _ = await proc.communicate()
    for line in out.decode(errors="replace").splitlines():
        parts = line.split()
        if len(parts) >= 3 and not line.startswith("#"):
            return asyncssh.import_public_key(f"{parts[1]} {parts[2]}")
    raise PushError(f"Could not connect to the SFTP server {target.host}:{target.port}: no host key")


async def push_openssh(target: PushTarget, password: str, check_host_key: HostKeyCheck,
                       uploads: list[tuple[Path, str]], *, legacy: bool,
                       on_file: Callable[[], Awaitable[None]] | None = None) -> None:
    """`push`, with OpenSSH's own `sftp` as the client (the sshd lab's appliance)."""
    key = await _scan_host_key(target)
    await check_host_key(key)
    with tempfile.TemporaryDirectory(prefix="ops-lab-sftp-") as scratch:
        work = Path(scratch)
        where = target.host if target.port == 22 else f"[{target.host}]:{target.port}"
        (work / "known_hosts").write_text(f"{where} {key.export_public_key('openssh').decode().strip()}\n")
        secret = work / "password"
        secret.write_text(password + "\n")
        secret.chmod(0o600)
        askpass = work / "askpass"
        askpass.write_text(f"#!/bin/sh\nexec cat {shlex.quote(str(secret))}\n")
        askpass.chmod(0o700)
        lines: list[str] = []
        made: set[str] = set()
        for local, remote in uploads:
            parts = posixpath.dirname(remote).split("/")
            for i in range(1, len(parts) + 1):
                directory = "/".join(parts[:i])
                if directory and directory not in made:
                    made.add(directory)
                    lines.append(f"-mkdir {_sftp_quote(directory)}")
            lines.append(f"put {_sftp_quote(local)} {_sftp_quote(remote)}")
        (work / "batch").write_text("\n".join(lines) + "\n")
        options = ["-o", "BatchMode=no",  # before -b: ssh keeps the first value it is given
                   "-b", str(work / "batch"), "-P", str(target.port),
                   "-o", f"UserKnownHostsFile={work / 'known_hosts'}", "-o", "GlobalKnownHostsFile=/dev/null",
                   "-o", "StrictHostKeyChecking=yes", "-o", "PreferredAuthentications=password",
                   "-o", "PubkeyAuthentication=no", "-o", "NumberOfPasswordPrompts=1",
                   "-o", f"ConnectTimeout={int(CONNECT_TIMEOUT)}", "-o", "IdentityFile=/dev/null"]
        if legacy:
            options += ["-o", "KexAlgorithms=diffie-hellman-group14-sha1", "-o", "Ciphers=aes128-cbc,aes256-cbc",
                        "-o", "MACs=hmac-sha1", "-o", "HostKeyAlgorithms=ssh-rsa"]
        env = {**os.environ, "SSH_ASKPASS": str(askpass), "SSH_ASKPASS_REQUIRE": "force", "DISPLAY": ":0"}
        proc = await asyncio.create_subprocess_exec(
            "sftp", *options, f"{target.username}@{target.host}", stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env, start_new_session=True)
        assert proc.stdout is not None and proc.stderr is not None
        errors = asyncio.ensure_future(proc.stderr.read())
        async for raw in proc.stdout:
            if raw.startswith(b"sftp> put ") and on_file is not None:
                await on_file()
        code = await proc.wait()
        error = (await errors).decode(errors="replace").strip().splitlines()
    if code != 0:
        if any("Permission denied" in line for line in error):
            raise PushError(f"Authentication failed for user {target.username} on {target.host}")
        raise PushError(f"File transfer failed: {error[-1] if error else f'sftp exited with {code}'}")
