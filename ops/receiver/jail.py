"""The jailed SFTP server: one account's directory is all its client can see or touch.

SFTP "/" is the account's directory, like OpenSSH's ChrootDirectory: nothing outside it can be
read, written, listed, stat'ed or linked to. Every file-system call of asyncssh's `SFTPServer` is
overridden here; asyncssh's own `chroot` is not used because it follows pre-existing symlinks out
of the jail. Files are never removed, replaced or linked; uploads go through the upload engine.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from types import FrameType
from typing import TypeVar

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
from asyncssh.misc import MaybeAwait

from ops.receiver.accounts import Accounts, AccountState, Limits
from ops.receiver.session import SSHSession
from ops.receiver.uploads import Upload, UploadEngine, is_temp_name, pending

T = TypeVar("T")


@dataclass(eq=False)
class ReadHandle:
    """A finished file opened for reading (clients may check what they sent)."""

    fd: int


class DirListing(AsyncIterator[SFTPName]):
    """An open directory handle: the names are read at OPENDIR, so no descriptor stays open."""

    def __init__(self, names: list[SFTPName]) -> None:
        names.reverse()
        self._names = names

    def __aiter__(self) -> DirListing:
        return self

    async def __anext__(self) -> SFTPName:
        if not self._names:
            raise StopAsyncIteration
        return self._names.pop()


def closing_during_teardown() -> bool:
    """Whether `SFTPServer.close()` was called by asyncssh tearing a session down.

    asyncssh closes every still-open handle through the same `close()` when a session ends, so a
    connection dropped mid-upload would otherwise look like a finished file. Its teardown runs in
    `SFTPServerHandler._cleanup`; a client's FXP_CLOSE comes through `_process_close`. (If a
    future asyncssh renames these, the test of an SFTP session closed mid-upload fails; a dropped
    connection is still caught through `SSHSession.lost`.) Must be called from `close()` itself.
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


class JailedSFTPServer(asyncssh.SFTPServer):
    """SFTP server confined to one account's directory; every file-system call goes through here."""

    def __init__(self, chan: asyncssh.SSHServerChannel, accounts: Accounts, uploads: UploadEngine,
                 limits: Limits) -> None:
        super().__init__(chan)
        conn = chan.get_connection()
        owner = conn.get_owner()
        self._session = owner if isinstance(owner, SSHSession) else None
        state = self._session.state if self._session is not None else None
        if state is None or not accounts.is_live(state.account.username):
            # The account was removed between authentication and the SFTP request.
            conn.close()
            raise SFTPPermissionDenied("account no longer exists")
        self._accounts = accounts
        self._engine = uploads
        self._limits = limits
        self._state: AccountState = state
        self._root = state.root
        self._uploads: set[Upload] = set()  # this session's, aborted if it ends with them open

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
            if is_temp_name(name):
                raise SFTPPermissionDenied("name reserved for uploads in progress")
            parts.append(name)
        local = self._root
        own = self._state.own_dirs
        for depth, name in enumerate(parts):
            local = local + "/" + name
            if local in own:
                continue
            try:
                st = os.lstat(local)
            except (FileNotFoundError, NotADirectoryError):
                # The rest cannot exist either: the whole path goes to the operation, which then
                # fails as on any file system (never acting on the shorter path that does exist).
                local = "/".join([local, *parts[depth + 1:]])
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

    def _settled(self, file_obj: object, operation: Callable[[], T]) -> MaybeAwait[T]:
        """Run `operation` on a handle once the data written through it is on disk.

        An upload's in-order writes are batched (see ops.receiver.uploads): whatever reads or syncs
        the file through its handle first waits for them, so it sees what the client wrote.
        """
        if not (isinstance(file_obj, Upload) and pending(file_obj)):
            return operation()
        upload = file_obj

        async def later() -> T:
            await self._engine.drain(upload)
            if upload.failed:
                raise SFTPFailure(upload.failed)
            return operation()
        return later()

    def fstat(self, file_obj: object) -> MaybeAwait[os.stat_result]:
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

    def fsetstat(self, file_obj: object, attrs: SFTPAttrs) -> MaybeAwait[None]:
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
        self._state.check_handles(self._limits.max_handles_per_account)
        here = os.lstat(local)
        if not stat.S_ISDIR(here.st_mode):
            raise OSError(errno.ENOTDIR, "Not a directory")
        parent = os.lstat(os.path.dirname(local)) if local != self._root else here
        names = [SFTPName(b".", attrs=SFTPAttrs.from_local(here)),
                 SFTPName(b"..", attrs=SFTPAttrs.from_local(parent))]
        with os.scandir(local) as entries:
            for entry in entries:
                if is_temp_name(entry.name):
                    continue
                try:
                    attrs = SFTPAttrs.from_local(entry.stat(follow_symlinks=False))
                except FileNotFoundError:
                    continue
                names.append(SFTPName(os.fsencode(entry.name), attrs=attrs))
        listing = DirListing(names)
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
        self._state.check_entries(self._limits.max_files_per_account)  # a directory counts as a file
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
        self._accounts.renamed(self._state, old_rel, new_rel, directory=stat.S_ISDIR(st.st_mode))

    def posix_rename(self, oldpath: bytes, newpath: bytes) -> None:
        # Same as rename: POSIX semantics would replace the target, which we never allow.
        self.rename(oldpath, newpath)

    # -- files -----------------------------------------------------------------------------

    def open(self, path: bytes, pflags: int, attrs: SFTPAttrs) -> object:
        rel, local = self._resolve_nonroot(path)
        self._state.check_handles(self._limits.max_handles_per_account)
        if not pflags & (FXF_WRITE | FXF_APPEND | FXF_CREAT | FXF_TRUNC):
            fd = os.open(local, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                os.close(fd)
                raise OSError(errno.EISDIR, "Is a directory")
            reader = ReadHandle(fd)
            self._state.readers.add(reader)
            return reader
        upload = self._engine.begin(self._state, rel, local, read=bool(pflags & FXF_READ),
                                    append=bool(pflags & FXF_APPEND))
        self._uploads.add(upload)
        return upload

    def open56(self, path: bytes, desired_access: int, flags: int, attrs: SFTPAttrs) -> object:
        raise SFTPOpUnsupported("only SFTP version 3 is served")

    @staticmethod
    def _fd(file_obj: object) -> int:
        if isinstance(file_obj, Upload):
            if file_obj.done:
                raise SFTPFailure("upload was aborted")
            return file_obj.fd
        if isinstance(file_obj, ReadHandle):
            return file_obj.fd
        raise SFTPFailure("invalid handle")

    def read(self, file_obj: object, offset: int, size: int) -> MaybeAwait[bytes]:
        self._touch()
        return self._settled(file_obj, lambda: os.pread(self._fd(file_obj), size, offset))

    def write(self, file_obj: object, offset: int, data: bytes) -> MaybeAwait[int]:
        self._touch()
        if not isinstance(file_obj, Upload):
            raise SFTPPermissionDenied("file not open for writing")
        return self._engine.write(file_obj, offset, data)

    def fsync(self, file_obj: object) -> MaybeAwait[None]:
        self._touch()
        return self._settled(file_obj, lambda: os.fsync(self._fd(file_obj)))

    def close(self, file_obj: object) -> MaybeAwait[None]:
        aborting = closing_during_teardown() or (self._session is not None and self._session.lost)
        if isinstance(file_obj, ReadHandle):
            if file_obj in self._state.readers:
                self._state.readers.discard(file_obj)
                os.close(file_obj.fd)
            return None
        if not isinstance(file_obj, Upload):
            return None
        self._uploads.discard(file_obj)
        if aborting:
            self._engine.abort(file_obj)
            return None
        self._touch()
        return self._engine.finish(file_obj)

    def exit(self) -> None:
        # Anything still open here was never closed by the client: not a finished file.
        for upload in list(self._uploads):
            self._engine.abort(upload)
        self._uploads.clear()
