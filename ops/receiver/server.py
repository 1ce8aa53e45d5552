"""`Receiver`: the listener, its limits and accounts, and what the appliances delivered."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import re
import time
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

import asyncssh

from ops.receiver.accounts import Account, Accounts
from ops.receiver.jail import JailedSFTPServer
from ops.receiver.manifest import ManifestEntry, write_manifest
from ops.receiver.session import Gate, SSHSession
from ops.receiver.uploads import UploadEngine
from ops.sshalgorithms import receiver_algorithms

log = logging.getLogger(__name__)

# Large channel window and packets: an appliance pushes hundreds of MB of logs, and asyncssh's
# defaults (2 MiB window, 32 KiB packets) cap throughput on a high-latency WAN link.
_WINDOW = 8 * 1024 * 1024
_MAX_PKTSIZE = 256 * 1024
# A host name used as a directory name (root/<host>): no separators, no dot-names.
_HOST_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@+-]*$")
_WILDCARD_HOSTS = {"", "0.0.0.0", "::", "*"}
# stop() waits at most this long for connections to go and for the listener to close.
_STOP_WAIT = 5.0

# The limits' defaults (see ops.receiver's docstring), by Receiver argument. The inventory's
# `receiver:` section (ops.inventory.ReceiverFields) repeats them without importing this package;
# tests/test_receiver_limits.py checks the two agree.
DEFAULT_LIMITS: dict[str, int | float | None] = {
    "max_unauthenticated": 128,
    "login_grace_time": 30.0,
    "max_auth_attempts": 3,
    "max_auth_failures_per_address": 20,
    "auth_failure_window": 60.0,
    "max_connections_per_account": 8,
    "max_handles_per_account": 32,
    "max_files_per_account": None,
    "max_bytes_per_account": None,
    "max_write_gap": 64 * 1024 * 1024,
}


class ReceiverError(Exception):
    """A receiver that cannot be started or used as asked (bad host name, unknown account...)."""


class Receiver:
    """The built-in SFTP receiver: an asyncssh SFTP server with per-appliance jailed accounts."""

    def __init__(self, root: Path, *, listen_host: str = "127.0.0.1", listen_port: int = 0,
                 advertised_host: str | None = None, legacy_algorithms: bool = False,
                 idle_timeout: float = 300.0, max_bytes_per_account: int | None = None,
                 max_files_per_account: int | None = None,
                 max_unauthenticated: int | None = 128, login_grace_time: float = 30.0,
                 max_auth_attempts: int = 3, max_auth_failures_per_address: int | None = 20,
                 auth_failure_window: float = 60.0, max_connections_per_account: int | None = 8,
                 max_handles_per_account: int | None = 32,
                 max_write_gap: int | None = 64 * 1024 * 1024) -> None:
        """See ops.receiver's docstring for the limits; DEFAULT_LIMITS holds their defaults."""
        self.root = Path(root)
        self.listen_host = listen_host
        self.listen_port = listen_port
        self._advertised_host = advertised_host
        self.legacy_algorithms = legacy_algorithms
        self.idle_timeout = idle_timeout
        self.max_bytes_per_account = max_bytes_per_account
        self.max_files_per_account = max_files_per_account
        self.max_unauthenticated = max_unauthenticated
        self.login_grace_time = login_grace_time
        self.max_auth_attempts = max_auth_attempts
        self.max_auth_failures_per_address = max_auth_failures_per_address
        self.auth_failure_window = auth_failure_window
        self.max_connections_per_account = max_connections_per_account
        self.max_handles_per_account = max_handles_per_account
        self.max_write_gap = max_write_gap
        # The limits are read from this object each time one applies.
        self._accounts = Accounts()
        self._gate = Gate(self._accounts, self)
        self._uploads = UploadEngine(self._accounts, self)
        self._acceptor: asyncssh.SSHAcceptor | None = None
        self._watchdog: asyncio.Task[None] | None = None
        self._port: int | None = None
        self._host_keys: list[asyncssh.SSHKey] = []
        self._fingerprints: dict[str, str] = {}
        # (files, bytes) of the accounts `release()` forgot, by host: what stats() still says.
        self._released: dict[str, tuple[int, int]] = {}

    def __repr__(self) -> str:
        state = f"port {self._port}" if self._port is not None else "stopped"
        return f"Receiver({str(self.root)!r}, {state}, {len(self._accounts)} accounts)"

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The port the receiver listens on (only known after `start()`)."""
        if self._port is None:
            raise ReceiverError("the receiver is not started")
        return self._port

    @property
    def advertised_host(self) -> str:
        """The address an appliance is told to connect to."""
        if self._advertised_host:
            return self._advertised_host
        if _is_wildcard(self.listen_host):
            raise ReceiverError(
                f"the receiver listens on {self.listen_host or 'all addresses'!s}; set advertised_host "
                "to the address appliances should connect to")
        return self.listen_host

    @property
    def host_key_fingerprint(self) -> str:
        """SHA256 fingerprint of the receiver's primary (ed25519) host key."""
        if not self._host_keys:
            raise ReceiverError("the receiver is not started")
        return self._host_keys[0].get_fingerprint("sha256")

    @property
    def host_key_fingerprints(self) -> dict[str, str]:
        """Every host key's fingerprints by algorithm, SHA256 and MD5 (old VOS clients show MD5)."""
        return dict(self._fingerprints)

    async def start(self) -> None:
        """Generate host keys and start listening."""
        if self._acceptor is not None:
            return
        self.advertised_host  # noqa: B018 -- fail before binding if nobody could be told where
        keys = [asyncssh.generate_private_key("ssh-ed25519")]
        if self.legacy_algorithms:
            # RSA generation is slow-ish; run it off the loop.
            keys.append(await asyncio.to_thread(asyncssh.generate_private_key, "ssh-rsa", key_size=2048))
        self._host_keys = keys
        for key in keys:
            alg = key.get_algorithm()
            self._fingerprints[f"{alg} sha256"] = key.get_fingerprint("sha256")
            self._fingerprints[f"{alg} md5"] = key.get_fingerprint("md5")
        self.root.mkdir(parents=True, exist_ok=True)
        self._gate.open = True
        try:
            self._acceptor = await asyncssh.listen(
                self.listen_host, self.listen_port,
                server_factory=lambda: SSHSession(self._gate),
                server_host_keys=keys,
                sftp_factory=lambda chan: JailedSFTPServer(chan, self._accounts, self._uploads, self),
                sftp_version=3,
                allow_scp=False, allow_pty=False, x11_forwarding=False, agent_forwarding=False,
                line_editor=False,  # SFTP only: no shell to edit lines for, one layer less per write
                **receiver_algorithms(legacy=self.legacy_algorithms),
                gss_host=None, gss_kex=False, gss_auth=False, host_based_auth=False,
                public_key_auth=False, rdns_lookup=False,
                login_timeout=self.login_grace_time,  # counted from the TCP accept
                keepalive_interval=0,
                window=_WINDOW, max_pktsize=_MAX_PKTSIZE,
                config=None,
            )
        except OSError as exc:
            self._gate.open = False
            raise ReceiverError(f"cannot listen on {self.listen_host}:{self.listen_port}: "
                                f"{exc.strerror or exc}") from None
        self._port = self._acceptor.get_port()
        self._watchdog = asyncio.create_task(self._idle_watchdog(), name="receiver-idle-watchdog")
        log.info("SFTP receiver listening on %s:%d (host key %s)", self.listen_host, self._port,
                 self.host_key_fingerprint)

    async def stop(self) -> None:
        """Stop listening, drop every connection, delete partial uploads. Safe to call twice.

        Connections are dropped before waiting for the listener: from Python 3.12 on,
        `asyncio.Server.wait_closed()` waits until every connection it accepted has gone
        (CPython #79033, #104344), so waiting first would never return while a client is connected.
        """
        acceptor, self._acceptor = self._acceptor, None
        watchdog, self._watchdog = self._watchdog, None
        self._gate.open = False  # a connection accepted just before the listener closes is refused
        if watchdog is not None:
            watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watchdog
        if acceptor is not None:
            acceptor.close()  # no new connections
        sessions = list(self._gate.sessions)
        for session in sessions:
            if session.conn is not None:
                session.conn.abort()
        # Partial files go now, not whenever asyncssh's teardown gets round to them; wait for
        # writes still running in worker threads so their temp files are gone when we return.
        await self._uploads.abort_all()
        closing = [s.conn.wait_closed() for s in sessions if s.conn is not None]
        if acceptor is not None:
            abort_clients = getattr(acceptor, "abort_clients", None)  # asyncio.Server's, Python 3.13+
            if abort_clients is not None:
                abort_clients()  # whatever socket is still attached to the listener
            closing.append(acceptor.wait_closed())
        if closing:
            waiting = asyncio.gather(*closing, return_exceptions=True)
            try:
                await asyncio.wait_for(waiting, _STOP_WAIT)
            except TimeoutError:
                log.warning("SFTP receiver: connections still closing after %.0f s; not waiting longer",
                            _STOP_WAIT)
        self._port = None

    async def __aenter__(self) -> Receiver:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.stop()

    async def _idle_watchdog(self) -> None:
        """Close connections with no SFTP activity for `idle_timeout` seconds; forget old failures."""
        interval = max(0.05, min(self.idle_timeout / 4, 5.0))
        while True:
            await asyncio.sleep(interval)
            now = time.monotonic()
            for session in list(self._gate.sessions):
                if now - session.last_activity > self.idle_timeout and session.conn is not None:
                    log.info("closing idle SFTP connection from %s",
                             session.conn.get_extra_info("peername"))
                    session.conn.close()
            self._gate.forget_failures(now)

    # -- accounts --------------------------------------------------------------------------

    def add_account(self, host: str, directory: Path | None = None) -> Account:
        """Create a fresh login for `host`, jailed in `directory` (default root/<host>)."""
        if not host:
            raise ReceiverError("an account needs a host name")
        if directory is None and not _HOST_RE.fullmatch(host):
            raise ReceiverError(f"host name {host!r} cannot be a directory name; pass directory=")
        target = Path(directory) if directory is not None else self.root / host
        target.mkdir(parents=True, exist_ok=True)
        return self._accounts.create(host, Path(os.path.realpath(target))).account

    def remove_account(self, username: str) -> None:
        """Revoke a login: no new logins, its connections are closed (partial uploads dropped).

        What it already delivered stays in the host's manifest.
        """
        state = self._accounts.remove(username)
        if state is None:
            raise ReceiverError(f"no such receiver account: {username!r}")
        for session in list(state.sessions):
            if session.conn is not None:
                session.conn.abort()
        for upload in list(state.uploads):
            self._uploads.abort(upload)

    def connections(self) -> tuple[int, int]:
        """(connections waiting to log in, connections logged in): what the connection limits count."""
        waiting = len(self._gate.unauthenticated)
        return waiting, len(self._gate.sessions) - waiting

    # -- results ---------------------------------------------------------------------------

    def manifest(self, host: str) -> list[ManifestEntry]:
        """Files completed for `host`'s account(s), sorted by path."""
        return self._accounts.entries(host)

    def discard(self, host: str, path: str) -> bool:
        """Forget a finished file of `host` and delete it: a copy of one already held elsewhere.

        Returns False when no finished file has that path.
        """
        return self._accounts.discard(host, path)

    def stats(self, host: str) -> tuple[int, int]:
        """(files completed, bytes received including uploads in progress) for progress display."""
        files, size = self._accounts.stats(host)
        released = self._released.get(host)
        if released is not None:
            files, size = files + released[0], size + released[1]
        return files, size

    def release(self, host: str) -> None:
        """`host` is done (its manifest written): its logins are revoked (no new ones; a connection
        still open ends as it would have) and what its accounts hold is forgotten: the file list,
        the jail's book-keeping. `stats()` keeps its totals; `manifest()` no longer lists its files.
        A run of 1,000 hosts holds only the accounts of the hosts in progress."""
        files, size = self.stats(host)
        self._accounts.forget(host)
        self._released[host] = (files, size)

    def write_manifest(self, host: str, path: Path, also: Iterable[ManifestEntry] = ()) -> list[dict[str, Any]]:
        """Write `host`'s manifest as a JSON list of {path, size, sha256}, atomically; returns the list.

        `also` adds entries held from before (a resumed run); this receiver's own win on equal paths.
        """
        return write_manifest(path, self.manifest(host), also)


def _is_wildcard(host: str) -> bool:
    """Whether `host` is an any-address a client could not connect to."""
    if host in _WILDCARD_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False
