"""The built-in SFTP receiver: where appliances push their files.

Cisco VOS appliances cannot serve files; they can only *push* them with their built-in SFTP
client (`file get activelog ...` asks for an SFTP server, user, password and directory). This
module is that SFTP server, run inside the toolkit for the duration of a run:

* one `Receiver` listens on one port with a host key generated for it alone;
* `add_account()` makes a throw-away user (random name and password) per appliance, jailed in
  its own directory: SFTP "/" is that directory, like OpenSSH's ChrootDirectory, and nothing
  outside it can be read, written, listed, stat'ed or linked to;
* an upload is written to a hidden temporary name and only renamed to its real name when the
  client closes the handle, so a half-transferred file never looks finished; every finished
  file is recorded in a manifest with its size and sha256, computed while the bytes arrive.

The server is asyncssh's SFTP server with every file-system call overridden (`_JailedSFTPServer`);
asyncssh's own `chroot` is not used because it follows pre-existing symlinks out of the jail.

Limits keep a hostile neighbour on the network, or one account, from starving the others (each is
a `Receiver` argument and a key of the inventory's `receiver:` section; `None` lifts it):

* `max_unauthenticated` (128, and never fewer than the accounts): connections not yet logged
  in; more are closed as they arrive, before the version exchange, so no key-exchange work is
  done for them;
* `login_grace_time` (30 s): a connection not logged in by then is closed;
* `max_auth_attempts` (3): password attempts per connection, then it is disconnected;
* `max_auth_failures_per_address` (20) within `auth_failure_window` (60 s): once an address has
  failed that often, its new connections are closed as they arrive until the window slides past;
* `max_connections_per_account` (8): logins of one account at once (one per push is the norm);
* `max_handles_per_account` (32): open file and directory handles of one account (each file
  handle holds a descriptor of this process), so one account cannot exhaust the descriptors;
* `max_files_per_account` (none): files *and directories* an account may create;
* `max_bytes_per_account` (none): bytes an account may store; a write's reach counts, so a write
  at an offset beyond what is left of the quota is refused;
* `max_write_gap` (64 MiB): a file's size may run at most this far ahead of the bytes written to
  it, so a write far beyond the end of a file cannot make a giant sparse file.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import hashlib
import hmac
import ipaddress
import json
import logging
import os
import re
import secrets
import stat
import sys
import threading
import time
import weakref
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, TypeVar

import asyncssh
from asyncssh import (
    FXF_APPEND,
    FXF_CREAT,
    FXF_READ,
    FXF_TRUNC,
    FXF_WRITE,
    SFTPAttrs,
    SFTPFailure,
    SFTPFileAlreadyExists,
    SFTPInvalidFilename,
    SFTPName,
    SFTPOpUnsupported,
    SFTPPermissionDenied,
)

from ops.report import write_atomic
from ops.secrets import Secret

__all__ = ["Account", "ManifestEntry", "Receiver", "ReceiverError", "DEFAULT_LIMITS"]

log = logging.getLogger(__name__)
T = TypeVar("T")

# Large channel window and packets: an appliance pushes hundreds of MB of logs, and asyncssh's
# defaults (2 MiB window, 32 KiB packets) cap throughput on a high-latency WAN link.
_WINDOW = 8 * 1024 * 1024
_MAX_PKTSIZE = 256 * 1024
# Writes at least this big go to a worker thread (see Receiver._write); smaller ones are not
# worth the hand-off.
_THREAD_WRITE_MIN = 32 * 1024
# In-order writes are gathered up to this much, then written and hashed by a worker thread while
# the next batch gathers: one thread hop per MiB instead of one per SFTP write. (A/B puts of 512 MiB
# from OpenSSH's sftp, in both orders: 4 MiB about 8% slower, 2 MiB alike, 512 KiB slower. The loop
# waits for the previous batch before handing on the next, so smaller batches overlap better.)
_FLUSH_BYTES = 1024 * 1024
# What is still gathered when a client closes a file is written and hashed on the event loop when
# it is at most this much: for the small files of a log pull (most are a few KiB) that costs less
# CPU than a hop to a worker thread and back, which is what bounds a pull from hundreds of hosts.
_INLINE_FLUSH_MAX = 256 * 1024
_IOV_BATCH = 512  # buffers per pwritev, under every system's IOV_MAX (1024 on Linux)
# Bytes read from a client's socket at a time. asyncio reads up to 256 KiB, and asyncssh cuts
# each SSH packet (about 32 KiB from OpenSSH's client) off the front of what it has read by
# slicing a bytes object, which copies the rest: 256 KiB reads copy every byte about four times
# over. 64 KiB reads keep that to about once: about +6% receive throughput (A/B puts in both
# orders), and less idle CPU.
_RECV_SIZE = 64 * 1024

# Modern algorithm sets: asyncssh's defaults minus GSS kex (no Kerberos here) and SHA-1.
_MODERN_KEX = [
    "mlkem768x25519-sha256", "curve25519-sha256", "curve25519-sha256@libssh.org", "curve448-sha512",
    "ecdh-sha2-nistp521", "ecdh-sha2-nistp384", "ecdh-sha2-nistp256",
    "diffie-hellman-group-exchange-sha256", "diffie-hellman-group14-sha256",
    "diffie-hellman-group16-sha512", "diffie-hellman-group18-sha512",
]
# AES-GCM first: with AES-NI it is the cheapest per byte, and the receiver decrypts every byte of
# every host's logs; chacha20 stays for clients without AES-NI.
_MODERN_CIPHERS = [
    "aes128-gcm@openssh.com", "aes256-gcm@openssh.com", "chacha20-poly1305@openssh.com",
    "aes256-ctr", "aes192-ctr", "aes128-ctr",
]
_MODERN_MACS = [
    "umac-128-etm@openssh.com", "hmac-sha2-256-etm@openssh.com", "hmac-sha2-512-etm@openssh.com",
    "umac-128@openssh.com", "hmac-sha2-256", "hmac-sha2-512",
]
# Cisco bug CSCux74884: the SFTP client of older VOS releases speaks only these.
_LEGACY_KEX = ["diffie-hellman-group14-sha1"]
_LEGACY_CIPHERS = ["aes128-cbc", "aes256-cbc"]
_LEGACY_MACS = ["hmac-sha1"]

# Temporary upload names: ".<name>.part-<12 hex>". Clients may not touch names of this shape,
# and listings hide them, so one upload can never read or clobber another's partial file.
_PART_RE = re.compile(r"^\..*\.part-[0-9a-f]{12}$", re.S)
# A host name used as a directory name (root/<host>): no separators, no dot-names.
_HOST_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@+-]*$")
_WILDCARD_HOSTS = {"", "0.0.0.0", "::", "*"}

# The limits' defaults (see the module's docstring), by Receiver argument. The inventory's
# `receiver:` section (ops.inventory.ReceiverFields) repeats them without importing this module;
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
# stop() waits at most this long for connections to go and for the listener to close.
_STOP_WAIT = 5.0


class ReceiverError(Exception):
    """A receiver that cannot be started or used as asked (bad host name, unknown account...)."""


@dataclass(frozen=True)
class ManifestEntry:
    """One completed upload: where it landed (relative to the account directory) and its digest."""

    path: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Account:
    """A throw-away SFTP login for one appliance, confined to `directory`."""

    host: str
    username: str
    password: Secret
    directory: Path


@dataclass(eq=False)
class _AccountState:
    """Book-keeping for one account: its jail, quotas usage and open uploads."""

    account: Account
    root: str                                   # realpath of the jail, as str for fast joins
    bytes_used: int = 0                         # completed bytes + bytes of uploads in progress
    files_completed: int = 0
    entries: list[ManifestEntry] = field(default_factory=list)
    uploads: set[_Upload] = field(default_factory=set)
    reserved: set[str] = field(default_factory=set)   # final paths of uploads in progress
    readers: set[_ReadHandle] = field(default_factory=set)  # finished files open for reading
    # Open directory handles: asyncssh drops one on CLOSE without telling the server, and it
    # leaves this set when freed.
    listings: weakref.WeakSet[_DirListing] = field(default_factory=weakref.WeakSet)
    dirs: int = 0                               # directories the account made (file quota)
    sessions: set[_SSHSession] = field(default_factory=set)
    # Directories this receiver made itself: no client can turn one into a symlink, so path
    # resolution need not lstat them again (a pull resolves each of them for every file).
    own_dirs: set[str] = field(default_factory=set)


@dataclass(eq=False)
class _Upload:
    """A file being written: lives under a temporary name until the client closes it."""

    state: _AccountState
    rel: str              # final path relative to the jail, posix
    final: str            # final local path
    temp: str             # temporary local path
    fd: int
    append: bool
    hasher: Any = field(default_factory=hashlib.sha256)
    written: int = 0      # bytes the client sent for the file (rewrites included)
    hashed: int = 0       # bytes hashed so far (a prefix of the file)
    in_order: bool = True  # False once a write did not continue the hashed prefix
    size: int = 0         # highest offset written
    done: bool = False
    inflight: asyncio.Future[None] | None = None  # a write running in a worker thread
    buffer: list[bytes] = field(default_factory=list)  # in-order data not yet handed to a thread
    buffer_offset: int = 0  # where the gathered data starts; it runs up to `hashed`
    failed: str | None = None  # why a write was refused: such a file is never completed


@dataclass(eq=False)
class _ReadHandle:
    """A finished file opened for reading (clients may check what they sent)."""

    fd: int


class _DirListing(AsyncIterator[SFTPName]):
    """An open directory handle: the names are read at OPENDIR, so no descriptor stays open."""

    def __init__(self, names: list[SFTPName]) -> None:
        names.reverse()
        self._names = names

    def __aiter__(self) -> _DirListing:
        return self

    async def __anext__(self) -> SFTPName:
        if not self._names:
            raise StopAsyncIteration
        return self._names.pop()


def _write_failed(exc: BaseException) -> str:
    """Why an upload is refused after a write to its file failed."""
    return f"write failed: {getattr(exc, 'strerror', None) or exc}"


def _settle(upload: _Upload, batch: asyncio.Future[None]) -> None:
    """Record why a finished batch write failed, if it did (the upload is then never completed)."""
    exc = None if batch.cancelled() else batch.exception()
    if exc is not None:
        upload.failed = _write_failed(exc)


def _store(upload: _Upload, offset: int, data: bytes) -> None:
    """Write `data` at `offset` (may run in a worker thread); in-order data is hashed by the caller."""
    view = memoryview(data)
    written = 0
    while written < len(data):
        written += os.pwrite(upload.fd, view[written:], offset + written)


def _store_chunks(upload: _Upload, offset: int, chunks: list[bytes]) -> None:
    """Write consecutive chunks starting at `offset` and extend the running hash (in a worker thread)."""
    for start in range(0, len(chunks), _IOV_BATCH):
        batch = chunks[start:start + _IOV_BATCH]
        total = sum(len(c) for c in batch)
        done = os.pwritev(upload.fd, batch, offset)
        if done < total:  # a short write: finish the rest in plain writes
            _store(upload, offset + done, b"".join(batch)[done:])
        offset += total
    for chunk in chunks:
        upload.hasher.update(chunk)


class _SSHSession(asyncssh.SSHServer):
    """One SSH connection: password check, account binding, idle tracking."""

    def __init__(self, receiver: Receiver) -> None:
        self._receiver = receiver
        self.conn: asyncssh.SSHServerConnection | None = None
        self.state: _AccountState | None = None
        self.last_activity = time.monotonic()
        self.lost = False
        self.address = ""
        self.failures = 0  # failed password attempts on this connection

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.conn = conn
        peer = conn.get_extra_info("peername")
        self.address = str(peer[0]) if peer else ""
        why = self._receiver._admit(self)
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
            transport.max_size = _RECV_SIZE  # type: ignore[union-attr]
            _fit_reads_to_packets(conn, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        # Set before asyncssh tears the SFTP session down, so close() of an open upload during
        # that teardown is recognised as an abort, not as the client finishing the file.
        self.lost = True
        self._receiver._sessions.discard(self)
        self._receiver._unauthenticated.discard(self)
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
        state = self._receiver._accounts.get(username)
        # Compare against a dummy when the user is unknown so both paths cost the same.
        expected = state.account.password.reveal() if state is not None else self._receiver._dummy
        ok = hmac.compare_digest(password.encode("utf-8", "surrogateescape"),
                                 expected.encode("utf-8"))
        receiver = self._receiver
        if ok and state is not None:
            limit = receiver.max_connections_per_account
            if limit is not None and len(state.sessions) >= limit:
                raise asyncssh.DisconnectError(
                    asyncssh.DISC_TOO_MANY_CONNECTIONS,
                    f"too many connections for this account (at most {limit})")
            self.state = state
            state.sessions.add(self)
            receiver._unauthenticated.discard(self)
            self.last_activity = time.monotonic()
            return True
        self.failures += 1
        receiver._login_failed(self.address)
        if self.failures >= receiver.max_auth_attempts:
            raise asyncssh.PermissionDenied(
                f"too many authentication failures (at most {receiver.max_auth_attempts} a connection)")
        return False


_PACKET_STATE = ("_recv_packet", "_recv_handler", "_pktlen", "_recv_macsize", "_recv_blocksize", "_inpbuf")


def _fit_reads_to_packets(conn: Any, transport: Any) -> None:
    """Read the rest of a partly received SSH packet in one piece.

    asyncssh appends each read to a bytes buffer (`_inpbuf += data`, a copy of all that is
    buffered) until the packet is whole. With 64 KiB reads a 256 KiB packet is copied over and
    over as it grows (64 + 128 + 192 + 256 KiB); sized to what the packet still lacks, the next
    read takes it whole and the buffer is copied once. OpenSSH's client sends such packets when
    the receiver falls behind (32 KiB ones otherwise): A/B puts of 256 MiB, +10% throughput.
    Relies on asyncssh's private packet state; tests/test_receiver.py fails if that changes.
    """
    if not all(hasattr(conn, name) for name in _PACKET_STATE):
        return  # another asyncssh: reads stay at _RECV_SIZE, slower but correct
    receive = conn.data_received
    waiting_for_rest = conn._recv_packet  # the handler asyncssh sets while a packet is incomplete

    def data_received(data: bytes, datatype: Any = None) -> None:
        receive(data, datatype)
        if conn._recv_handler == waiting_for_rest:
            missing = 4 + conn._pktlen + conn._recv_macsize - conn._recv_blocksize - len(conn._inpbuf)
            transport.max_size = missing if missing > _RECV_SIZE else _RECV_SIZE
        elif transport.max_size != _RECV_SIZE:
            transport.max_size = _RECV_SIZE

    conn.data_received = data_received


def _closing_during_teardown() -> bool:
    """Whether `SFTPServer.close()` was called by asyncssh tearing a session down.

    asyncssh closes every still-open handle through the same `close()` when a session ends, so a
    connection dropped mid-upload would otherwise look like a finished file. Its teardown runs in
    `SFTPServerHandler._cleanup`; a client's FXP_CLOSE comes through `_process_close`. (If a
    future asyncssh renames these, the test of an SFTP session closed mid-upload fails; a dropped
    connection is still caught through `_SSHSession.lost`.)
    """
    frame: FrameType | None = sys._getframe(2)
    for _ in range(6):
        if frame is None:
            break
        name = frame.f_code.co_name
        if name == "_cleanup":
            return True
        if name == "_process_close":
            return False
        frame = frame.f_back
    return False


class _JailedSFTPServer(asyncssh.SFTPServer):
    """SFTP server confined to one account's directory; every file-system call goes through here."""

    def __init__(self, chan: asyncssh.SSHServerChannel, receiver: Receiver) -> None:
        super().__init__(chan)
        self._receiver = receiver
        conn = chan.get_connection()
        owner = conn.get_owner()
        self._session = owner if isinstance(owner, _SSHSession) else None
        state = self._session.state if self._session is not None else None
        if state is None or state.account.username not in receiver._accounts:
            # The account was removed between authentication and the SFTP request.
            conn.close()
            raise SFTPPermissionDenied("account no longer exists")
        self._state: _AccountState = state
        self._root = state.root
        self._uploads: set[_Upload] = set()

    # -- path handling ---------------------------------------------------------------------

    def _touch(self) -> None:
        if self._session is not None:
            self._session.last_activity = time.monotonic()

    def _resolve(self, path: bytes) -> tuple[str, str]:
        """Map a client path to (jail-relative posix path, local path), refusing escapes.

        `..` above the jail root is refused rather than clamped, and every existing component
        is lstat'ed so a symlink (which no client can create, but might pre-exist) is never
        followed. Returns ("", root) for the jail root itself.
        """
        self._touch()
        if b"\0" in path:
            raise SFTPInvalidFilename("file name contains a NUL byte")
        parts: list[str] = []
        for raw in path.split(b"/"):
            if raw in (b"", b"."):
                continue
            if raw == b"..":
                if not parts:
                    raise SFTPPermissionDenied("path leads outside the receiver directory")
                parts.pop()
                continue
            name = os.fsdecode(raw)
            if _PART_RE.match(name):
                raise SFTPPermissionDenied("name reserved for uploads in progress")
            parts.append(name)
        local = self._root
        own = self._state.own_dirs
        for name in parts:
            local = local + "/" + name
            if local in own:
                continue
            try:
                st = os.lstat(local)
            except FileNotFoundError:
                break  # the rest cannot exist either; the operation itself reports it
            except NotADirectoryError:
                break
            if stat.S_ISLNK(st.st_mode):
                raise SFTPPermissionDenied("symbolic links are not followed")
        return "/".join(parts), local

    def _resolve_nonroot(self, path: bytes) -> tuple[str, str]:
        rel, local = self._resolve(path)
        if not rel:
            raise SFTPPermissionDenied("operation not allowed on the root directory")
        return rel, local

    # -- metadata --------------------------------------------------------------------------

    def realpath(self, path: bytes) -> bytes:
        rel, _ = self._resolve(path)
        return os.fsencode("/" + rel)

    def stat(self, path: bytes) -> os.stat_result:
        _, local = self._resolve(path)
        return os.lstat(local)  # symlinks are refused by _resolve, so lstat == stat here

    def lstat(self, path: bytes) -> os.stat_result:
        _, local = self._resolve(path)
        return os.lstat(local)

    def _settled(self, file_obj: object, operation: Callable[[], T]) -> T | Awaitable[T]:
        """Run `operation` on a handle once the data written through it is on disk.

        An upload's in-order writes are batched (Receiver._write): whatever reads or syncs the file
        through its handle first waits for them, so it sees what the client wrote.
        """
        if not (isinstance(file_obj, _Upload) and self._receiver._pending(file_obj)):
            return operation()
        upload = file_obj

        async def later() -> T:
            await self._receiver._drain(upload)
            if upload.failed:
                raise SFTPFailure(upload.failed)
            return operation()
        return later()

    def fstat(self, file_obj: object) -> os.stat_result | Awaitable[os.stat_result]:
        self._touch()
        return self._settled(file_obj, lambda: os.fstat(self._fd(file_obj)))

    def _apply_attrs(self, target: int | str, attrs: SFTPAttrs) -> None:
        # Only times are honoured: ownership and modes stay ours (a client must not make a
        # file unreadable to the toolkit), and size changes would rewrite a finished file.
        if attrs.size is not None:
            raise SFTPOpUnsupported("changing a file's size is not allowed")
        if attrs.atime is not None and attrs.mtime is not None:
            os.utime(target, (attrs.atime, attrs.mtime))

    def setstat(self, path: bytes, attrs: SFTPAttrs) -> None:
        _, local = self._resolve(path)
        os.lstat(local)  # existence check with the normal error
        self._apply_attrs(local, attrs)

    def lsetstat(self, path: bytes, attrs: SFTPAttrs) -> None:
        self.setstat(path, attrs)

    def fsetstat(self, file_obj: object, attrs: SFTPAttrs) -> None | Awaitable[None]:
        self._touch()
        return self._settled(file_obj, lambda: self._apply_attrs(self._fd(file_obj), attrs))

    def statvfs(self, path: bytes) -> os.statvfs_result:
        _, local = self._resolve(path)
        return os.statvfs(local)

    def fstatvfs(self, file_obj: object) -> os.statvfs_result:
        return os.statvfs(self._fd(file_obj))

    def scandir(self, path: bytes) -> AsyncIterator[SFTPName]:
        # Called for OPENDIR: the whole listing is read now (bounded by the file quota), so an
        # open directory handle holds no descriptor, and it counts against the handle limit.
        _, local = self._resolve(path)
        self._receiver._check_handles(self._state)
        here = os.lstat(local)
        if not stat.S_ISDIR(here.st_mode):
            raise OSError(errno.ENOTDIR, "Not a directory")
        parent = os.lstat(os.path.dirname(local)) if local != self._root else here
        names = [SFTPName(b".", attrs=SFTPAttrs.from_local(here)),
                 SFTPName(b"..", attrs=SFTPAttrs.from_local(parent))]
        with os.scandir(local) as entries:
            for entry in entries:
                if _PART_RE.match(entry.name):
                    continue
                try:
                    attrs = SFTPAttrs.from_local(entry.stat(follow_symlinks=False))
                except FileNotFoundError:
                    continue
                names.append(SFTPName(os.fsencode(entry.name), attrs=attrs))
        listing = _DirListing(names)
        self._state.listings.add(listing)
        return listing

    # -- links: never ----------------------------------------------------------------------

    def readlink(self, path: bytes) -> bytes:
        self._resolve(path)
        raise SFTPPermissionDenied("links are not supported")

    def symlink(self, oldpath: bytes, newpath: bytes) -> None:
        self._touch()
        raise SFTPPermissionDenied("link creation is not allowed")

    def link(self, oldpath: bytes, newpath: bytes) -> None:
        self._touch()
        raise SFTPPermissionDenied("link creation is not allowed")

    # -- directories -----------------------------------------------------------------------

    def mkdir(self, path: bytes, attrs: SFTPAttrs) -> None:
        _, local = self._resolve_nonroot(path)
        if os.path.lexists(local):
            raise OSError(errno.EEXIST, "File exists")  # that error, not the quota's, when full
        self._receiver._check_entries(self._state)  # a directory counts as a file of the quota
        os.mkdir(local, 0o755)  # the client's mode is ignored: the toolkit must be able to read
        self._state.dirs += 1
        self._state.own_dirs.add(local)

    def rmdir(self, path: bytes) -> None:
        _, local = self._resolve_nonroot(path)
        os.rmdir(local)
        self._state.dirs = max(0, self._state.dirs - 1)
        self._state.own_dirs.discard(local)

    def remove(self, path: bytes) -> None:
        self._resolve(path)
        raise SFTPPermissionDenied("files in the receiver cannot be removed")

    def rename(self, oldpath: bytes, newpath: bytes) -> None:
        old_rel, old_local = self._resolve_nonroot(oldpath)
        new_rel, new_local = self._resolve_nonroot(newpath)
        st = os.lstat(old_local)
        if os.path.lexists(new_local) or new_local in self._state.reserved:
            raise SFTPFileAlreadyExists("target exists; the receiver never overwrites a file")
        if stat.S_ISDIR(st.st_mode):
            if new_rel.startswith(old_rel + "/"):
                raise SFTPPermissionDenied("cannot move a directory into itself")
            prefix = old_local + "/"
            if any(u.final.startswith(prefix) for u in self._state.uploads):
                raise SFTPFailure("directory has uploads in progress")
        os.rename(old_local, new_local)
        if stat.S_ISDIR(st.st_mode):
            self._state.own_dirs.clear()  # paths below the old name moved; lstat them again
        self._receiver._renamed(self._state, old_rel, new_rel, directory=stat.S_ISDIR(st.st_mode))

    def posix_rename(self, oldpath: bytes, newpath: bytes) -> None:
        # Same as rename: POSIX semantics would replace the target, which we never allow.
        self.rename(oldpath, newpath)

    # -- files -----------------------------------------------------------------------------

    def open(self, path: bytes, pflags: int, attrs: SFTPAttrs) -> object:
        rel, local = self._resolve_nonroot(path)
        self._receiver._check_handles(self._state)
        if not pflags & (FXF_WRITE | FXF_APPEND | FXF_CREAT | FXF_TRUNC):
            fd = os.open(local, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                os.close(fd)
                raise OSError(errno.EISDIR, "Is a directory")
            reader = _ReadHandle(fd)
            self._state.readers.add(reader)
            return reader
        return self._receiver._begin_upload(self._state, rel, local,
                                            read=bool(pflags & FXF_READ),
                                            append=bool(pflags & FXF_APPEND),
                                            track=self._uploads)

    def open56(self, path: bytes, desired_access: int, flags: int, attrs: SFTPAttrs) -> object:
        raise SFTPOpUnsupported("only SFTP version 3 is served")

    @staticmethod
    def _fd(file_obj: object) -> int:
        if isinstance(file_obj, _Upload):
            if file_obj.done:
                raise SFTPFailure("upload was aborted")
            return file_obj.fd
        if isinstance(file_obj, _ReadHandle):
            return file_obj.fd
        raise SFTPFailure("invalid handle")

    def read(self, file_obj: object, offset: int, size: int) -> bytes | Awaitable[bytes]:
        self._touch()
        return self._settled(file_obj, lambda: os.pread(self._fd(file_obj), size, offset))

    def write(self, file_obj: object, offset: int, data: bytes) -> int | Awaitable[int]:
        self._touch()
        if not isinstance(file_obj, _Upload):
            raise SFTPPermissionDenied("file not open for writing")
        return self._receiver._write(file_obj, offset, data)

    def fsync(self, file_obj: object) -> None | Awaitable[None]:
        self._touch()
        return self._settled(file_obj, lambda: os.fsync(self._fd(file_obj)))

    def close(self, file_obj: object) -> Awaitable[None] | None:
        aborting = _closing_during_teardown() or (self._session is not None and self._session.lost)
        if isinstance(file_obj, _ReadHandle):
            if file_obj in self._state.readers:
                self._state.readers.discard(file_obj)
                os.close(file_obj.fd)
            return None
        if not isinstance(file_obj, _Upload):
            return None
        self._uploads.discard(file_obj)
        if aborting:
            self._receiver._abort_upload(file_obj)
            return None
        self._touch()
        return self._receiver._finish_upload(file_obj)

    def exit(self) -> None:
        # Anything still open here was never closed by the client: not a finished file.
        for upload in list(self._uploads):
            self._receiver._abort_upload(upload)
        self._uploads.clear()


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
        """See the module's docstring for the limits; DEFAULT_LIMITS holds their defaults."""
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
        self._accounts: dict[str, _AccountState] = {}
        # Every account a host has had, removed ones included: its manifest and totals outlive them.
        self._hosts: dict[str, list[_AccountState]] = {}
        self._sessions: set[_SSHSession] = set()
        self._unauthenticated: set[_SSHSession] = set()  # connections not logged in yet
        self._open = False  # whether new connections are taken (False once stop() begins)
        # The times of the latest failed logins per source address (no more than the limit).
        self._failures: dict[str, deque[float]] = {}
        self._uploads: set[_Upload] = set()
        self._lock = threading.Lock()  # manifest()/stats() may be called from another thread
        self._dummy = secrets.token_urlsafe(18)
        self._acceptor: asyncssh.SSHAcceptor | None = None
        self._watchdog: asyncio.Task[None] | None = None
        self._port: int | None = None
        self._host_keys: list[asyncssh.SSHKey] = []
        self._fingerprints: dict[str, str] = {}

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
        kex, ciphers, macs = list(_MODERN_KEX), list(_MODERN_CIPHERS), list(_MODERN_MACS)
        if self.legacy_algorithms:
            # RSA generation is slow-ish; run it off the loop.
            keys.append(await asyncio.to_thread(asyncssh.generate_private_key, "ssh-rsa", key_size=2048))
            kex += _LEGACY_KEX
            ciphers += _LEGACY_CIPHERS
            macs += _LEGACY_MACS
        kex = [k for k in kex if k.encode() in asyncssh.kex.get_kex_algs()]  # mlkem needs a backend
        self._host_keys = keys
        for key in keys:
            alg = key.get_algorithm()
            self._fingerprints[f"{alg} sha256"] = key.get_fingerprint("sha256")
            self._fingerprints[f"{alg} md5"] = key.get_fingerprint("md5")
        self.root.mkdir(parents=True, exist_ok=True)
        self._open = True
        try:
            self._acceptor = await asyncssh.listen(
                self.listen_host, self.listen_port,
                server_factory=lambda: _SSHSession(self),
                server_host_keys=keys,
                sftp_factory=lambda chan: _JailedSFTPServer(chan, self),
                sftp_version=3,
                allow_scp=False, allow_pty=False, x11_forwarding=False, agent_forwarding=False,
                line_editor=False,  # SFTP only: no shell to edit lines for, one layer less per write
                kex_algs=kex, encryption_algs=ciphers, mac_algs=macs, compression_algs=["none"],
                gss_host=None, gss_kex=False, gss_auth=False, host_based_auth=False,
                public_key_auth=False, rdns_lookup=False,
                login_timeout=self.login_grace_time,  # counted from the TCP accept
                keepalive_interval=0,
                window=_WINDOW, max_pktsize=_MAX_PKTSIZE,
                config=None,
            )
        except OSError as exc:
            self._open = False
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
        self._open = False  # a connection accepted just before the listener closes is refused
        if watchdog is not None:
            watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watchdog
        if acceptor is not None:
            acceptor.close()  # no new connections
        sessions = list(self._sessions)
        for session in sessions:
            if session.conn is not None:
                session.conn.abort()
        # Partial files go now, not whenever asyncssh's teardown gets round to them; wait for
        # writes still running in worker threads so their temp files are gone when we return.
        pending = [u.inflight for u in self._uploads if u.inflight is not None]
        for upload in list(self._uploads):
            self._abort_upload(upload)
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
            await asyncio.sleep(0)  # let the abort callbacks run
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
            for session in list(self._sessions):
                if now - session.last_activity > self.idle_timeout and session.conn is not None:
                    log.info("closing idle SFTP connection from %s",
                             session.conn.get_extra_info("peername"))
                    session.conn.close()
            for address, times in list(self._failures.items()):
                if now - times[-1] > self.auth_failure_window:
                    del self._failures[address]

    # -- limits ----------------------------------------------------------------------------

    def _admit(self, session: _SSHSession) -> str | None:
        """Take a new connection in, or say why it is refused (it is then closed at once)."""
        if not self._open:
            return "the receiver is stopping"
        if self._address_blocked(session.address):
            return "too many failed logins from this address"
        limit = self.max_unauthenticated
        if limit is not None:
            # Never below the number of accounts: every appliance of a run may log in at once
            # (a burst of connections all wait for their key exchange together).
            limit = max(limit, len(self._accounts))
            if len(self._unauthenticated) >= limit:
                return f"{limit} connections are already waiting to log in"
        self._sessions.add(session)
        self._unauthenticated.add(session)
        return None

    def _address_blocked(self, address: str) -> bool:
        times = self._failures.get(address)
        limit = self.max_auth_failures_per_address
        if times is None or limit is None:
            return False
        # `times` keeps the latest `limit` failures: blocked while the oldest is within the window.
        return len(times) >= limit and time.monotonic() - times[0] <= self.auth_failure_window

    def _login_failed(self, address: str) -> None:
        limit = self.max_auth_failures_per_address
        if limit is None:
            return
        blocked = self._address_blocked(address)
        self._failures.setdefault(address, deque(maxlen=limit)).append(time.monotonic())
        if not blocked and self._address_blocked(address):
            log.warning("SFTP receiver: %d failed logins from %s within %.0f s; refusing its connections "
                        "for a while", limit, address, self.auth_failure_window)

    def _check_handles(self, state: _AccountState) -> None:
        """Refuse one more open handle beyond the account's limit (each file handle holds a descriptor)."""
        limit = self.max_handles_per_account
        if limit is not None and len(state.uploads) + len(state.readers) + len(state.listings) >= limit:
            raise SFTPFailure(f"too many open handles: at most {limit} per account")

    def _check_entries(self, state: _AccountState) -> None:
        """Refuse one more file or directory beyond the account's file quota."""
        limit = self.max_files_per_account
        if limit is not None and state.files_completed + len(state.uploads) + state.dirs >= limit:
            raise SFTPFailure(f"quota exceeded: at most {limit} files and directories per account")

    # -- accounts --------------------------------------------------------------------------

    def add_account(self, host: str, directory: Path | None = None) -> Account:
        """Create a fresh login for `host`, jailed in `directory` (default root/<host>)."""
        if not host:
            raise ReceiverError("an account needs a host name")
        if directory is None and not _HOST_RE.match(host):
            raise ReceiverError(f"host name {host!r} cannot be a directory name; pass directory=")
        target = Path(directory) if directory is not None else self.root / host
        target.mkdir(parents=True, exist_ok=True)
        real = Path(os.path.realpath(target))
        while True:
            username = f"ops-{secrets.token_hex(4)}"
            if username not in self._accounts:
                break
        account = Account(host=host, username=username, password=Secret.generate(24), directory=real)
        with self._lock:
            state = _AccountState(account=account, root=str(real))
            self._accounts[username] = state
            self._hosts.setdefault(host, []).append(state)
        return account

    def remove_account(self, username: str) -> None:
        """Revoke a login: no new logins, its connections are closed (partial uploads dropped).

        What it already delivered stays in the host's manifest.
        """
        with self._lock:
            state = self._accounts.pop(username, None)
        if state is None:
            raise ReceiverError(f"no such receiver account: {username!r}")
        for session in list(state.sessions):
            if session.conn is not None:
                session.conn.abort()
        for upload in list(state.uploads):
            self._abort_upload(upload)

    # -- results ---------------------------------------------------------------------------

    def manifest(self, host: str) -> list[ManifestEntry]:
        """Files completed for `host`'s account(s), sorted by path."""
        with self._lock:
            entries = [e for s in self._hosts.get(host, ()) for e in s.entries]
        return sorted(entries, key=lambda e: e.path)

    def discard(self, host: str, path: str) -> bool:
        """Forget a finished file of `host` and delete it: a copy of one already held elsewhere.

        Returns False when no finished file has that path.
        """
        with self._lock:
            for state in self._hosts.get(host, ()):
                for entry in state.entries:
                    if entry.path == path:
                        state.entries.remove(entry)
                        with contextlib.suppress(FileNotFoundError):
                            os.unlink(os.path.join(state.root, path))
                        return True
        return False

    def stats(self, host: str) -> tuple[int, int]:
        """(files completed, bytes received including uploads in progress) for progress display."""
        states = self._hosts.get(host, ())
        return sum(s.files_completed for s in states), sum(s.bytes_used for s in states)

    def write_manifest(self, host: str, path: Path, also: Iterable[ManifestEntry] = ()) -> list[dict[str, Any]]:
        """Write `host`'s manifest as a JSON list of {path, size, sha256}, atomically; returns the list.

        `also` adds entries held from before (a resumed run); this receiver's own win on equal paths.
        """
        entries = {e.path: e for e in also}
        entries.update({e.path: e for e in self.manifest(host)})
        data = [{"path": e.path, "size": e.size, "sha256": e.sha256} for e in sorted(entries.values(),
                                                                                    key=lambda e: e.path)]
        write_atomic(Path(path), json.dumps(data, indent=2) + "\n")
        return data

    # -- upload machinery (called by _JailedSFTPServer) -------------------------------------

    def _begin_upload(self, state: _AccountState, rel: str, local: str, *, read: bool, append: bool,
                      track: set[_Upload]) -> _Upload:
        if os.path.lexists(local) or local in state.reserved:
            raise SFTPFileAlreadyExists("file exists; the receiver never overwrites a file")
        self._check_entries(state)
        parent, name = os.path.split(local)
        temp = f"{parent}/.{name[:200]}.part-{secrets.token_hex(6)}"
        flags = (os.O_RDWR if read else os.O_WRONLY) | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(temp, flags, 0o644)
        upload = _Upload(state=state, rel=rel, final=local, temp=temp, fd=fd, append=append)
        state.uploads.add(upload)
        state.reserved.add(local)
        self._uploads.add(upload)
        track.add(upload)
        return upload

    def _write(self, upload: _Upload, offset: int, data: bytes) -> int | Awaitable[int]:
        """Account for, then store and hash, one write; big writes run in a worker thread.

        asyncssh handles one SFTP request at a time per session, so handing the disk write and
        hashing to a thread lets the event loop decrypt the next packets meanwhile (about +60%
        throughput with AES-GCM). Book-keeping is done here on the loop, before the I/O.
        """
        if upload.done:
            raise SFTPFailure("upload was aborted")
        if upload.append:
            offset = upload.size
        end = offset + len(data)
        growth = end - upload.size if end > upload.size else 0
        gap = self.max_write_gap
        # Never-written bytes the file would hold (at least): a file's size may not run more than
        # `gap` ahead of what was sent for it, so a sparse giant costs as much traffic as a real one.
        hole = upload.size + growth - upload.written - len(data)
        if gap is not None and hole > gap:
            upload.failed = (f"write refused: offset {offset} would leave {hole} bytes of the file "
                             f"unwritten (at most {gap})")
            raise SFTPFailure(upload.failed)
        limit = self.max_bytes_per_account
        if limit is not None and growth and upload.state.bytes_used + growth > limit:
            upload.failed = f"quota exceeded: at most {limit} bytes per account"
            raise SFTPFailure(upload.failed)
        upload.written += len(data)
        hash_it = upload.in_order and offset == upload.hashed
        if hash_it:
            upload.hashed = end
        else:
            upload.in_order = False  # hash the whole file on close instead
        if growth:
            upload.size = end
            upload.state.bytes_used += growth
        if hash_it:
            if not upload.buffer:
                upload.buffer_offset = offset
            upload.buffer.append(data)
            if upload.hashed - upload.buffer_offset >= _FLUSH_BYTES:
                return self._flush(upload, len(data))
            return len(data)
        if self._pending(upload):
            # A batch may still be on its way to disk: this write must land after it.
            return self._store_after_drain(upload, offset, data)
        return self._store_now(upload, offset, data)

    def _store_now(self, upload: _Upload, offset: int, data: bytes) -> int | Awaitable[int]:
        if len(data) < _THREAD_WRITE_MIN:
            try:
                _store(upload, offset, data)
            except OSError as exc:
                upload.failed = _write_failed(exc)
                raise
            return len(data)
        return self._write_in_thread(upload, offset, data)

    async def _store_after_drain(self, upload: _Upload, offset: int, data: bytes) -> int:
        await self._drain(upload)
        if upload.failed:
            raise SFTPFailure(upload.failed)
        if upload.done:
            raise SFTPFailure("upload was aborted")
        result = self._store_now(upload, offset, data)
        return result if isinstance(result, int) else await result

    @staticmethod
    def _pending(upload: _Upload) -> bool:
        """Whether written data is still gathered or being written by a worker thread."""
        return bool(upload.buffer) or (upload.inflight is not None and not upload.inflight.done())

    async def _flush(self, upload: _Upload, result: int = 0) -> int:
        """Hand the gathered in-order data to a worker thread, after the previous batch is on disk."""
        previous = upload.inflight
        if previous is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(previous)
        if upload.failed:
            raise SFTPFailure(upload.failed)
        if not upload.buffer or upload.done:
            return result
        chunks, offset = upload.buffer, upload.buffer_offset
        upload.buffer = []
        # No join on the event loop: the worker writes the chunks with one pwritev and hashes each.
        future = asyncio.get_running_loop().run_in_executor(None, _store_chunks, upload, offset, chunks)
        upload.inflight = future
        future.add_done_callback(functools.partial(_settle, upload))
        return result

    async def _drain(self, upload: _Upload) -> None:
        """Everything written so far is on disk and hashed (or upload.failed says why not)."""
        with contextlib.suppress(SFTPFailure):  # upload.failed: the caller decides what follows
            await self._flush(upload)
        if upload.inflight is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(upload.inflight)

    async def _write_in_thread(self, upload: _Upload, offset: int, data: bytes) -> int:
        future = asyncio.get_running_loop().run_in_executor(None, _store, upload, offset, data)
        upload.inflight = future
        try:
            await future
        except OSError as exc:
            upload.failed = _write_failed(exc)
            raise
        finally:
            upload.inflight = None
        return len(data)

    def _release(self, upload: _Upload) -> None:
        upload.done = True
        upload.state.uploads.discard(upload)
        upload.state.reserved.discard(upload.final)
        self._uploads.discard(upload)
        with contextlib.suppress(OSError):
            os.close(upload.fd)

    def _discard_files(self, upload: _Upload) -> None:
        with contextlib.suppress(OSError):
            os.unlink(upload.temp)

    def _abort_upload(self, upload: _Upload) -> None:
        """Forget an upload that was not closed by its client: its partial file is deleted."""
        if upload.done:
            return
        upload.buffer.clear()
        inflight = upload.inflight
        if inflight is not None and not inflight.done():
            # A worker thread is still writing to the descriptor: closing it now could let the
            # number be reused and the write land in another file. Finish once the write has.
            upload.done = True
            inflight.add_done_callback(lambda _: self._abort_now(upload))
        else:
            self._abort_now(upload)
        log.info("discarded partial upload %s (%d bytes) for %s", upload.rel, upload.size,
                 upload.state.account.host)

    def _abort_now(self, upload: _Upload) -> None:
        self._release(upload)
        upload.state.bytes_used -= upload.size
        self._discard_files(upload)

    def _finish_upload(self, upload: _Upload) -> Awaitable[None] | None:
        if upload.done:
            raise SFTPFailure("upload was aborted")
        if self._pending(upload) and not self._store_gathered_inline(upload):
            return self._finish_after_drain(upload)
        return self._finish_drained(upload)

    @staticmethod
    def _store_gathered_inline(upload: _Upload) -> bool:
        """Write and hash a small gathered tail here, on the loop; False if it needs the worker thread."""
        if upload.inflight is not None:
            if not upload.inflight.done():
                return False
            # A batch that just failed may not have run its done-callback yet: record it now, so
            # the file is discarded rather than committed with a hole.
            _settle(upload, upload.inflight)
            if upload.failed:
                return True
        if upload.hashed - upload.buffer_offset > _INLINE_FLUSH_MAX:
            return False
        chunks, upload.buffer = upload.buffer, []
        try:
            _store_chunks(upload, upload.buffer_offset, chunks)
        except OSError as exc:
            upload.failed = _write_failed(exc)
        return True

    async def _finish_after_drain(self, upload: _Upload) -> None:
        await self._drain(upload)
        if upload.done:
            raise SFTPFailure("upload was aborted")
        result = self._finish_drained(upload)
        if result is not None:
            await result

    def _finish_drained(self, upload: _Upload) -> Awaitable[None] | None:
        if upload.failed:
            # The client was told a write failed; whatever it does next, a file with a hole or
            # a missing tail must not be listed as received.
            self._abort_upload(upload)
            raise SFTPFailure(f"file discarded: {upload.failed}")
        if upload.in_order and upload.hashed == upload.size:
            self._commit(upload, upload.hasher.hexdigest())
            return None
        return self._finish_out_of_order(upload)

    async def _finish_out_of_order(self, upload: _Upload) -> None:
        def digest() -> str:
            # The upload's own descriptor may be write-only; read through a fresh one.
            with open(upload.temp, "rb", opener=lambda p, f: os.open(p, f | os.O_NOFOLLOW)) as fh:
                return hashlib.file_digest(fh, "sha256").hexdigest()
        # Out-of-order writes (rare: only some clients' parallel requests) cost a re-read; do it
        # off the event loop so other transfers keep flowing.
        sha = await asyncio.to_thread(digest)
        if not upload.done:
            self._commit(upload, sha)

    def _commit(self, upload: _Upload, sha256: str) -> None:
        """Give a closed upload its final name (never replacing anything) and record it."""
        size = os.fstat(upload.fd).st_size
        self._release(upload)
        upload.state.bytes_used += size - upload.size
        try:
            # link() fails if the name exists, so a file that appeared meanwhile is never replaced.
            os.link(upload.temp, upload.final)
        except FileExistsError:
            self._discard_committed(upload, size)
            raise SFTPFileAlreadyExists("file exists; the receiver never overwrites a file") from None
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
                self._discard_committed(upload, size)
                raise
            # A file system without hard links: rename after an existence check (nothing but
            # this single-threaded loop writes into the jail, so the check holds).
            if os.path.lexists(upload.final):
                self._discard_committed(upload, size)
                raise SFTPFileAlreadyExists("file exists; the receiver never overwrites a file") from None
            os.rename(upload.temp, upload.final)
        else:
            os.unlink(upload.temp)
        entry = ManifestEntry(path=upload.rel, size=size, sha256=sha256)
        with self._lock:
            upload.state.files_completed += 1
            upload.state.entries.append(entry)
        log.debug("received %s (%d bytes) from %s", upload.rel, size, upload.state.account.host)

    def _discard_committed(self, upload: _Upload, size: int) -> None:
        upload.state.bytes_used -= size
        self._discard_files(upload)

    def _renamed(self, state: _AccountState, old: str, new: str, *, directory: bool) -> None:
        """Keep the manifest in step with a client's rename inside its jail."""
        with self._lock:
            for i, entry in enumerate(state.entries):
                if entry.path == old and not directory:
                    state.entries[i] = ManifestEntry(new, entry.size, entry.sha256)
                elif directory and entry.path.startswith(old + "/"):
                    state.entries[i] = ManifestEntry(new + entry.path[len(old):], entry.size, entry.sha256)


def _is_wildcard(host: str) -> bool:
    """Whether `host` is an any-address a client could not connect to."""
    if host in _WILDCARD_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False
