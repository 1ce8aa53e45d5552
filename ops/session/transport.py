"""SSH transport to a VOS appliance: connection, authentication, host key policy, PTY shell.

VOS releases differ: some accept password authentication, CUCM accepts only
keyboard-interactive, and none offers a usable `exec` channel, so everything runs in an
interactive shell with a PTY.
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncssh

from ops.secrets import Secret
from ops.session.errors import AuthError, ConnectError, HostKeyError

STRICT = "strict"
ACCEPT_NEW = "accept-new"


@dataclass(frozen=True)
class HostKeyPolicy:
    """How to trust an appliance's host key.

    `strict` checks `known_hosts` (default `~/.ssh/known_hosts`); `accept-new` trusts a host
    seen for the first time and records its key there, but refuses a changed key;
    `fingerprint` pins one `SHA256:...` fingerprint.
    """

    mode: str = STRICT
    known_hosts: Path | None = None
    fingerprint: str | None = None

    def known_hosts_path(self) -> Path:
        return self.known_hosts or Path.home() / ".ssh" / "known_hosts"


@dataclass(frozen=True)
class Target:
    """Where and as whom to connect."""

    name: str
    address: str
    port: int
    username: str
    password: Secret
    host_key: HostKeyPolicy
    connect_timeout: float = 30.0


def _key_label(host: str, port: int) -> str:
    return host if port == 22 else f"[{host}]:{port}"


def _read_known_hosts(path: Path) -> asyncssh.SSHKnownHosts | None:
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise HostKeyError(f"cannot read known_hosts file {path}: {exc.strerror}") from None
    return asyncssh.import_known_hosts(text)


def _trusted_keys(known: asyncssh.SSHKnownHosts | None, target: Target) -> list[asyncssh.SSHKey]:
    if known is None:
        return []
    try:
        addr = socket.gethostbyname(target.address)
    except OSError:
        addr = target.address
    keys, _ca, _revoked, _x1, _x2, _x3, _x4 = known.match(target.address, addr, target.port)
    return list(keys)


async def _server_key(target: Target) -> asyncssh.SSHKey:
    try:
        key = await asyncio.wait_for(
            asyncssh.get_server_host_key(target.address, target.port), target.connect_timeout)
    except (TimeoutError, OSError, asyncssh.Error) as exc:
        raise ConnectError(f"{target.name}: cannot reach {target.address}:{target.port}: "
                           f"{_describe(exc)}") from None
    if key is None:
        raise ConnectError(f"{target.name}: {target.address}:{target.port} offered no host key")
    return key


def _describe(exc: BaseException) -> str:
    if isinstance(exc, asyncio.TimeoutError):
        return "timed out"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


async def _trusted_for(target: Target) -> list[asyncssh.SSHKey]:
    policy = target.host_key
    if policy.mode == "fingerprint":
        key = await _server_key(target)
        seen = key.get_fingerprint("sha256")
        if seen != policy.fingerprint:
            raise HostKeyError(f"{target.name}: HOST KEY CHANGED for {target.address}:{target.port}: "
                               f"expected the pinned {policy.fingerprint}, got {seen}")
        return [key]
    known = _read_known_hosts(policy.known_hosts_path())
    trusted = _trusted_keys(known, target)
    if trusted:
        return trusted
    if policy.mode == ACCEPT_NEW:
        key = await _server_key(target)
        path = policy.known_hosts_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        line = f"{_key_label(target.address, target.port)} {key.export_public_key().decode().strip()}\n"
        with path.open("a") as handle:
            handle.write(line)
        return [key]
    raise HostKeyError(f"{target.name}: host key of {target.address}:{target.port} is not in "
                       f"{policy.known_hosts_path()} (use host_key: accept-new, or pin its fingerprint)")


async def connect(target: Target) -> asyncssh.SSHClientConnection:
    """Open an authenticated SSH connection, enforcing the host key policy."""
    trusted = await _trusted_for(target)
    options: dict[str, Any] = dict(
        username=target.username,
        password=target.password.reveal(),
        known_hosts=(trusted, [], []),
        client_keys=None,
        agent_path=None,
        preferred_auth="keyboard-interactive,password",
        connect_timeout=target.connect_timeout,
        config=None,
        gss_host=None,
    )
    try:
        return await asyncssh.connect(target.address, target.port, **options)
    except asyncssh.HostKeyNotVerifiable:
        old = ", ".join(k.get_fingerprint("sha256") for k in trusted)
        new = (await _server_key(target)).get_fingerprint("sha256")
        raise HostKeyError(f"{target.name}: HOST KEY CHANGED for {target.address}:{target.port}: "
                           f"expected {old}, got {new}") from None
    except asyncssh.PermissionDenied:
        raise AuthError(f"{target.name}: authentication failed for user {target.username!r} "
                        f"at {target.address}:{target.port}") from None
    except (TimeoutError, OSError, asyncssh.Error) as exc:
        raise ConnectError(f"{target.name}: cannot connect to {target.address}:{target.port}: "
                           f"{_describe(exc)}") from None


async def open_shell(conn: asyncssh.SSHClientConnection) -> tuple[asyncssh.SSHReader[str],
                                                                   asyncssh.SSHWriter[str]]:
    """An interactive shell with a PTY wide enough that the appliance never wraps our commands."""
    writer, reader, _stderr = await conn.open_session(term_type="vt100", term_size=(511, 200),
                                                      encoding="utf-8", errors="replace")
    return reader, writer
