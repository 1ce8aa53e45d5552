"""The upload engine: a file is written under a temporary name, hashed as its bytes arrive, and
given its real name only when the client closes it; an upload not closed by its client is deleted.

asyncssh handles one SFTP request at a time per session, so disk writes and hashing of large
amounts go to worker threads while the event loop decrypts the next packets. Book-keeping (quotas,
offsets, what is hashed) is always done on the loop, before the I/O.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import hashlib
import logging
import os
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from asyncssh import SFTPFailure, SFTPFileAlreadyExists
from asyncssh.misc import MaybeAwait

from ops.receiver.accounts import Accounts, AccountState, Limits
from ops.receiver.manifest import ManifestEntry

log = logging.getLogger(__name__)

# Writes at least this big that cannot be gathered go to a worker thread; smaller ones are not
# worth the hand-off.
_THREAD_WRITE_MIN = 32 * 1024
# In-order writes are gathered up to this much, then written and hashed by a worker thread while
# the next batch gathers: one thread hop per MiB instead of one per SFTP write. The loop waits for
# the previous batch before handing on the next, so smaller batches overlap better; larger ones
# were slower (bench/RESULTS.md, "Receiver tuning").
_FLUSH_BYTES = 1024 * 1024
# What is still gathered when a client closes a file is written and hashed on the event loop when
# it is at most this much: for the small files of a log pull (most are a few KiB) that costs less
# CPU than a hop to a worker thread and back, which is what bounds a pull from hundreds of hosts.
_INLINE_FLUSH_MAX = 256 * 1024
_IOV_BATCH = 512  # buffers per pwritev, under every system's IOV_MAX (1024 on Linux)

# Temporary upload names: ".<name>.part-<12 hex>". Clients may not touch names of this shape,
# and listings hide them, so one upload can never read or clobber another's partial file.
_PART_RE = re.compile(r"^\..*\.part-[0-9a-f]{12}$", re.S)


def is_temp_name(name: str) -> bool:
    """Whether `name` has the shape of an upload's temporary name (hidden from and refused to clients)."""
    return _PART_RE.fullmatch(name) is not None


def _temp_path(local: str) -> str:
    parent, name = os.path.split(local)
    return f"{parent}/.{name[:200]}.part-{secrets.token_hex(6)}"


@dataclass(eq=False)
class Upload:
    """A file being written: lives under a temporary name until the client closes it."""

    state: AccountState
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


def _write_failed(exc: BaseException) -> str:
    """Why an upload is refused after a write to its file failed."""
    return f"write failed: {getattr(exc, 'strerror', None) or exc}"


def _settle(upload: Upload, batch: asyncio.Future[None]) -> None:
    """Record why a finished batch write failed, if it did (the upload is then never completed)."""
    exc = None if batch.cancelled() else batch.exception()
    if exc is not None:
        upload.failed = _write_failed(exc)


def store(upload: Upload, offset: int, data: bytes) -> None:
    """Write `data` at `offset` (may run in a worker thread); in-order data is hashed by the caller."""
    view = memoryview(data)
    written = 0
    while written < len(data):
        written += os.pwrite(upload.fd, view[written:], offset + written)


def store_chunks(upload: Upload, offset: int, chunks: list[bytes]) -> None:
    """Write consecutive chunks starting at `offset` and extend the running hash (in a worker thread)."""
    for start in range(0, len(chunks), _IOV_BATCH):
        batch = chunks[start:start + _IOV_BATCH]
        total = sum(len(c) for c in batch)
        done = os.pwritev(upload.fd, batch, offset)
        if done < total:  # a short write: finish the rest in plain writes
            store(upload, offset + done, b"".join(batch)[done:])
        offset += total
    for chunk in chunks:
        upload.hasher.update(chunk)


def pending(upload: Upload) -> bool:
    """Whether written data is still gathered or being written by a worker thread."""
    return bool(upload.buffer) or (upload.inflight is not None and not upload.inflight.done())


class UploadEngine:
    """Every upload in progress of one receiver, and what happens to one: begin, write, finish, abort."""

    def __init__(self, accounts: Accounts, limits: Limits) -> None:
        self._accounts = accounts
        self._limits = limits
        self._uploads: set[Upload] = set()

    def begin(self, state: AccountState, rel: str, local: str, *, read: bool, append: bool) -> Upload:
        """Open a new file at `local` (jail path `rel`) under its temporary name; never replaces a file."""
        if os.path.lexists(local) or local in state.reserved:
            raise SFTPFileAlreadyExists("file exists; the receiver never overwrites a file")
        state.check_entries(self._limits.max_files_per_account)
        temp = _temp_path(local)
        flags = (os.O_RDWR if read else os.O_WRONLY) | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(temp, flags, 0o644)
        upload = Upload(state=state, rel=rel, final=local, temp=temp, fd=fd, append=append)
        state.uploads.add(upload)
        state.reserved.add(local)
        self._uploads.add(upload)
        return upload

    # -- writing ---------------------------------------------------------------------------

    def write(self, upload: Upload, offset: int, data: bytes) -> MaybeAwait[int]:
        """Account for, then store and hash, one write; big writes run in a worker thread."""
        if upload.done:
            raise SFTPFailure("upload was aborted")
        if upload.append:
            offset = upload.size
        end = offset + len(data)
        growth = end - upload.size if end > upload.size else 0
        gap = self._limits.max_write_gap
        # Never-written bytes the file would hold (at least): a file's size may not run more than
        # `gap` ahead of what was sent for it, so a sparse giant costs as much traffic as a real one.
        hole = upload.size + growth - upload.written - len(data)
        if gap is not None and hole > gap:
            upload.failed = (f"write refused: offset {offset} would leave {hole} bytes of the file "
                             f"unwritten (at most {gap})")
            raise SFTPFailure(upload.failed)
        limit = self._limits.max_bytes_per_account
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
        if pending(upload):
            # A batch may still be on its way to disk: this write must land after it.
            return self._store_after_drain(upload, offset, data)
        return self._store_now(upload, offset, data)

    def _store_now(self, upload: Upload, offset: int, data: bytes) -> MaybeAwait[int]:
        if len(data) < _THREAD_WRITE_MIN:
            try:
                store(upload, offset, data)
            except OSError as exc:
                upload.failed = _write_failed(exc)
                raise
            return len(data)
        return self._write_in_thread(upload, offset, data)

    async def _store_after_drain(self, upload: Upload, offset: int, data: bytes) -> int:
        await self.drain(upload)
        if upload.failed:
            raise SFTPFailure(upload.failed)
        if upload.done:
            raise SFTPFailure("upload was aborted")
        result = self._store_now(upload, offset, data)
        return result if isinstance(result, int) else await result

    async def _flush(self, upload: Upload, result: int = 0) -> int:
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
        future = asyncio.get_running_loop().run_in_executor(None, store_chunks, upload, offset, chunks)
        upload.inflight = future
        future.add_done_callback(functools.partial(_settle, upload))
        return result

    async def drain(self, upload: Upload) -> None:
        """Everything written so far is on disk and hashed (or upload.failed says why not)."""
        with contextlib.suppress(SFTPFailure):  # upload.failed: the caller decides what follows
            await self._flush(upload)
        if upload.inflight is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(upload.inflight)

    async def _write_in_thread(self, upload: Upload, offset: int, data: bytes) -> int:
        future = asyncio.get_running_loop().run_in_executor(None, store, upload, offset, data)
        upload.inflight = future
        try:
            await future
        except OSError as exc:
            upload.failed = _write_failed(exc)
            raise
        finally:
            upload.inflight = None
        return len(data)

    # -- aborting --------------------------------------------------------------------------

    def abort(self, upload: Upload) -> None:
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

    async def abort_all(self) -> None:
        """Abort every upload in progress; returns once no worker thread writes to one any more."""
        writing = [u.inflight for u in self._uploads if u.inflight is not None]
        for upload in list(self._uploads):
            self.abort(upload)
        if writing:
            await asyncio.gather(*writing, return_exceptions=True)
            await asyncio.sleep(0)  # let the abort callbacks run

    def _release(self, upload: Upload) -> None:
        upload.done = True
        upload.state.uploads.discard(upload)
        upload.state.reserved.discard(upload.final)
        self._uploads.discard(upload)
        with contextlib.suppress(OSError):
            os.close(upload.fd)

    @staticmethod
    def _discard_files(upload: Upload) -> None:
        with contextlib.suppress(OSError):
            os.unlink(upload.temp)

    def _abort_now(self, upload: Upload) -> None:
        self._release(upload)
        upload.state.bytes_used -= upload.size
        self._discard_files(upload)

    # -- finishing -------------------------------------------------------------------------

    def finish(self, upload: Upload) -> MaybeAwait[None]:
        """The client closed the file: once its data is on disk, give it its name and record it."""
        if upload.done:
            raise SFTPFailure("upload was aborted")
        if pending(upload) and not self._store_gathered_inline(upload):
            return self._finish_after_drain(upload)
        return self._finish_drained(upload)

    @staticmethod
    def _store_gathered_inline(upload: Upload) -> bool:
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
            store_chunks(upload, upload.buffer_offset, chunks)
        except OSError as exc:
            upload.failed = _write_failed(exc)
        return True

    async def _finish_after_drain(self, upload: Upload) -> None:
        await self.drain(upload)
        if upload.done:
            raise SFTPFailure("upload was aborted")
        result = self._finish_drained(upload)
        if result is not None:
            await result

    def _finish_drained(self, upload: Upload) -> MaybeAwait[None]:
        if upload.failed:
            # The client was told a write failed; whatever it does next, a file with a hole or
            # a missing tail must not be listed as received.
            self.abort(upload)
            raise SFTPFailure(f"file discarded: {upload.failed}")
        if upload.in_order and upload.hashed == upload.size:
            self._commit(upload, upload.hasher.hexdigest())
            return None
        return self._finish_out_of_order(upload)

    async def _finish_out_of_order(self, upload: Upload) -> None:
        def digest() -> str:
            # The upload's own descriptor may be write-only; read through a fresh one.
            with open(upload.temp, "rb", opener=lambda p, f: os.open(p, f | os.O_NOFOLLOW)) as fh:
                return hashlib.file_digest(fh, "sha256").hexdigest()
        # Out-of-order writes (rare: only some clients' parallel requests) cost a re-read; do it
        # off the event loop so other transfers keep flowing.
        sha = await asyncio.to_thread(digest)
        if not upload.done:
            self._commit(upload, sha)

    def _commit(self, upload: Upload, sha256: str) -> None:
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
        self._accounts.completed(upload.state, ManifestEntry(path=upload.rel, size=size, sha256=sha256))
        log.debug("received %s (%d bytes) from %s", upload.rel, size, upload.state.account.host)

    def _discard_committed(self, upload: Upload, size: int) -> None:
        upload.state.bytes_used -= size
        self._discard_files(upload)
