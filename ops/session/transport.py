"""SSH transport to a VOS appliance: connection, authentication, host key policy, PTY shell.

VOS releases differ: some accept password authentication, CUCM accepts only
keyboard-interactive, and none offers a usable `exec` channel, so everything runs in an
interactive shell with a PTY.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncssh

from ops.secrets import Secret
from ops.session.errors import AuthError, ConnectError, HostKeyError
from ops.session.hostkey import ACCEPT_NEW, STRICT, HostKeyPolicy
from ops.sshalgorithms import APPLIANCE_CIPHERS

__all__ = ["ACCEPT_NEW", "STRICT", "HostKeyPolicy", "Target", "connect", "open_shell"]

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


# Parsed known_hosts files by path, with the (mtime, size) they were parsed at: a run over many
# hosts parses the file once, not once a host (a 1000-line file takes about 9 ms), and an entry
# added meanwhile (accept-new, another program) changes the stamp and is read.
_KNOWN_HOSTS: dict[Path, tuple[tuple[int, int], asyncssh.SSHKnownHosts]] = {}


def _read_known_hosts(path: Path) -> asyncssh.SSHKnownHosts | None:
    try:
        st = path.stat()
        stamp = (st.st_mtime_ns, st.st_size)
        cached = _KNOWN_HOSTS.get(path)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        text = path.read_text()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise HostKeyError(f"cannot read known_hosts file {path}: {exc.strerror}") from None
    known = asyncssh.import_known_hosts(text)
    _KNOWN_HOSTS[path] = (stamp, known)
    return known


def _describe(exc: BaseException) -> str:
    if isinstance(exc, asyncio.TimeoutError):
        return "timed out"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


class _HostKeyCheck(asyncssh.SSHClient):
    """Applies the host key policy during key exchange, before any password is sent."""

    def __init__(self, target: Target, known: asyncssh.SSHKnownHosts | None) -> None:
        self.target = target
        self.known = known
        self.trusted: list[asyncssh.SSHKey] = []  # the known_hosts keys for this host, once checked
        self.offered: asyncssh.SSHKey | None = None

    def validate_host_public_key(self, host: str, addr: str, port: int, key: asyncssh.SSHKey) -> bool:
        self.offered = key
        policy = self.target.host_key
        if self.known is not None:  # matched by name and by the address asyncssh connected to
            self.trusted = list(self.known.match(self.target.address, addr, self.target.port)[0])
        if policy.mode == "fingerprint":
            return key.get_fingerprint("sha256") == policy.fingerprint
        if self.trusted:
            return any(key == known for known in self.trusted)
        return policy.mode == ACCEPT_NEW

    def failure(self) -> HostKeyError:
        target, policy = self.target, self.target.host_key
        where = f"{target.address}:{target.port}"
        got = self.offered.get_fingerprint("sha256") if self.offered is not None else "no key"
        if policy.mode == "fingerprint":
            return HostKeyError(f"{target.name}: HOST KEY CHANGED for {where}: expected the pinned "
                                f"{policy.fingerprint}, got {got}")
        if self.trusted:
            old = ", ".join(k.get_fingerprint("sha256") for k in self.trusted)
            return HostKeyError(f"{target.name}: HOST KEY CHANGED for {where}: expected {old}, got {got} "
                                f"(known_hosts: {policy.known_hosts_path()})")
        return HostKeyError(f"{target.name}: host key {got} of {where} is not in {policy.known_hosts_path()} "
                            "(use host_key: accept-new, or pin its fingerprint)")

    def remember(self) -> None:
        """accept-new: record a first-seen key in known_hosts."""
        policy = self.target.host_key
        if policy.mode != ACCEPT_NEW or self.trusted or self.offered is None:
            return
        path = policy.known_hosts_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        line = f"{_key_label(self.target.address, self.target.port)} " \
               f"{self.offered.export_public_key().decode().strip()}\n"
        with path.open("a") as handle:
            handle.write(line)


async def connect(target: Target) -> asyncssh.SSHClientConnection:
    """Open an authenticated SSH connection, enforcing the host key policy during key exchange."""
    known = None
    if target.host_key.mode != "fingerprint":
        known = _read_known_hosts(target.host_key.known_hosts_path())
    check = _HostKeyCheck(target, known)
    options: dict[str, Any] = dict(
        username=target.username,
        password=target.password.reveal(),
        # An empty trusted list makes asyncssh ask _HostKeyCheck about every key it is offered.
        known_hosts=([], [], []),
        server_host_key_algs="default",
        client_factory=lambda: check,
        client_keys=None,
        agent_path=None,
        preferred_auth="keyboard-interactive,password",
        connect_timeout=target.connect_timeout,
        config=None,
        gss_host=None,
        encryption_algs=APPLIANCE_CIPHERS,  # AES-GCM first, down to an old release's CBC
    )
    try:
        conn = await asyncssh.connect(target.address, target.port, **options)
    except asyncssh.HostKeyNotVerifiable:
        raise check.failure() from None
    except asyncssh.PermissionDenied:
        raise AuthError(f"{target.name}: authentication failed for user {target.username!r} "
                        f"at {target.address}:{target.port}") from None
    except (TimeoutError, OSError, asyncssh.Error) as exc:
        raise ConnectError(f"{target.name}: cannot connect to {target.address}:{target.port}: "
                           f"{_describe(exc)}") from None
    check.remember()
    return conn


async def open_shell(conn: asyncssh.SSHClientConnection) -> tuple[asyncssh.SSHReader[str],
                                                                   asyncssh.SSHWriter[str]]:
    """An interactive shell with a PTY wide enough that the appliance never wraps our commands."""
    writer, reader, _stderr = await conn.open_session(term_type="vt100", term_size=(511, 200),
                                                      encoding="utf-8", errors="replace")
    return reader, writer
