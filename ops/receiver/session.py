"""One SSH connection to the receiver: who is let in, the password check, the account it logs in to."""

from __future__ import annotations

import logging
import time
from collections import deque
from typing import Any

import asyncssh

from ops.receiver.accounts import Accounts, AccountState, Limits

log = logging.getLogger(__name__)

# Bytes read from a client's socket at a time. asyncio reads up to 256 KiB, and asyncssh cuts
# each SSH packet (about 32 KiB from OpenSSH's client) off the front of what it has read by
# slicing a bytes object, which copies the rest: 256 KiB reads copy every byte about four times
# over, 64 KiB reads about once (bench/RESULTS.md, "Receiver tuning").
RECV_SIZE = 64 * 1024


class Gate:
    """The receiver's door: connections not logged in yet, every connection, failed logins by address."""

    def __init__(self, accounts: Accounts, limits: Limits) -> None:
        self.accounts = accounts
        self.limits = limits
        self.open = False  # whether new connections are taken (False once the receiver stops)
        self.sessions: set[SSHSession] = set()
        self.unauthenticated: set[SSHSession] = set()  # connections not logged in yet
        # The times of the latest failed logins per source address (no more than the limit).
        self._failures: dict[str, deque[float]] = {}

    def admit(self, session: SSHSession) -> str | None:
        """Take a new connection in, or say why it is refused (it is then closed at once)."""
        if not self.open:
            return "the receiver is stopping"
        if self._address_blocked(session.address):
            return "too many failed logins from this address"
        limit = self.limits.max_unauthenticated
        if limit is not None:
            # Never below the number of the run's accounts: every appliance of a run may log in at
            # once (a burst of connections all wait for their key exchange together). Finished hosts
            # count too (Accounts.admitted): their accounts are forgotten to keep memory bounded, and
            # the limit must not shrink under the hosts still to come (1,000 hosts at forks 200
            # were refused near the end when it did).
            limit = max(limit, self.accounts.admitted)
            if len(self.unauthenticated) >= limit:
                return f"{limit} connections are already waiting to log in"
        self.sessions.add(session)
        self.unauthenticated.add(session)
        return None

    def logged_in(self, session: SSHSession) -> None:
        self.unauthenticated.discard(session)

    def gone(self, session: SSHSession) -> None:
        self.sessions.discard(session)
        self.unauthenticated.discard(session)

    def _address_blocked(self, address: str) -> bool:
        times = self._failures.get(address)
        limit = self.limits.max_auth_failures_per_address
        if times is None or limit is None:
            return False
        # `times` keeps the latest `limit` failures: blocked while the oldest is within the window.
        return len(times) >= limit and time.monotonic() - times[0] <= self.limits.auth_failure_window

    def login_failed(self, address: str) -> None:
        limit = self.limits.max_auth_failures_per_address
        if limit is None:
            return
        blocked = self._address_blocked(address)
        self._failures.setdefault(address, deque(maxlen=limit)).append(time.monotonic())
        if not blocked and self._address_blocked(address):
            log.warning("SFTP receiver: %d failed logins from %s within %.0f s; refusing its connections "
                        "for a while", limit, address, self.limits.auth_failure_window)

    def forget_failures(self, now: float) -> None:
        """Drop the failed logins of addresses whose latest one is older than the window."""
        for address, times in list(self._failures.items()):
            if now - times[-1] > self.limits.auth_failure_window:
                del self._failures[address]


class SSHSession(asyncssh.SSHServer):
    """One SSH connection: password check, account binding, idle tracking."""

    def __init__(self, gate: Gate) -> None:
        self._gate = gate
        self.conn: asyncssh.SSHServerConnection | None = None
        self.state: AccountState | None = None
        self.last_activity = time.monotonic()
        self.lost = False
        self.address = ""
        self.failures = 0  # failed password attempts on this connection

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.conn = conn
        peer = conn.get_extra_info("peername")
        self.address = str(peer[0]) if peer else ""
        why = self._gate.admit(self)
        if why is not None:
            # Called before asyncssh sends its version string: nothing is sent, no key exchange
            # is started, and the socket is closed on the loop's next pass.
            log.debug("refused a connection from %s: %s", self.address, why)
            conn.abort()
            return
        # asyncssh has no public handle on its transport; without it reads stay at asyncio's
        # default size, slower but correct (tests/test_receiver.py checks this still applies).
        transport = getattr(conn, "_transport", None)
        if isinstance(getattr(transport, "max_size", None), int):
            transport.max_size = RECV_SIZE  # type: ignore[union-attr]
            _fit_reads_to_packets(conn, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        # Set before asyncssh tears the SFTP session down, so close() of an open upload during
        # that teardown is recognised as an abort, not as the client finishing the file.
        self.lost = True
        self._gate.gone(self)
        if self.state is not None:
            self.state.sessions.discard(self)

    def begin_auth(self, username: str) -> bool:
        return True  # always require authentication

    def password_auth_supported(self) -> bool:
        return True

    def public_key_auth_supported(self) -> bool:
        return False

    def host_based_auth_supported(self) -> bool:
        return False

    def validate_password(self, username: str, password: str) -> bool:
        gate = self._gate
        state = gate.accounts.login(username, password)
        if state is not None:
            limit = gate.limits.max_connections_per_account
            if limit is not None and len(state.sessions) >= limit:
                raise asyncssh.DisconnectError(
                    asyncssh.DISC_TOO_MANY_CONNECTIONS,
                    f"too many connections for this account (at most {limit})")
            self.state = state
            state.sessions.add(self)
            gate.logged_in(self)
            self.last_activity = time.monotonic()
            return True
        self.failures += 1
        gate.login_failed(self.address)
        attempts = gate.limits.max_auth_attempts
        if self.failures >= attempts:
            raise asyncssh.PermissionDenied(
                f"too many authentication failures (at most {attempts} a connection)")
        return False


_PACKET_STATE = ("_recv_packet", "_recv_handler", "_pktlen", "_recv_macsize", "_recv_blocksize", "_inpbuf")


def _fit_reads_to_packets(conn: Any, transport: Any) -> None:
    """Read the rest of a partly received SSH packet in one piece.

    asyncssh appends each read to a bytes buffer (`_inpbuf += data`, a copy of all that is
    buffered) until the packet is whole. With 64 KiB reads a 256 KiB packet is copied over and
    over as it grows (64 + 128 + 192 + 256 KiB); sized to what the packet still lacks, the next
    read takes it whole and the buffer is copied once. OpenSSH's client sends such packets when
    the receiver falls behind (32 KiB ones otherwise). Relies on asyncssh's private packet state;
    tests/test_receiver.py fails if that changes.
    """
    if not all(hasattr(conn, name) for name in _PACKET_STATE):
        return  # another asyncssh: reads stay at RECV_SIZE, slower but correct
    receive = conn.data_received
    waiting_for_rest = conn._recv_packet  # the handler asyncssh sets while a packet is incomplete

    def data_received(data: bytes, datatype: Any = None) -> None:
        receive(data, datatype)
        if conn._recv_handler == waiting_for_rest:
            missing = 4 + conn._pktlen + conn._recv_macsize - conn._recv_blocksize - len(conn._inpbuf)
            transport.max_size = missing if missing > RECV_SIZE else RECV_SIZE
        elif transport.max_size != RECV_SIZE:
            transport.max_size = RECV_SIZE

    conn.data_received = data_received
