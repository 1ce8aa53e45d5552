"""How the toolkit writes files: atomically, and private to its user by default.

Collected logs, transcripts, reports, manifests and bundles hold customer data. Like OpenSSH
with what it writes, the toolkit makes them readable by its own user only (files 0600,
directories 0700). A site whose admins share a group opts in with `share_with_group()`
(`ops run --group-readable`, or OPS_GROUP_READABLE=1): files 0640, directories 0750. Never
world-readable, whatever the umask.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, BinaryIO, TextIO, cast

__all__ = ["atomic_binary", "atomic_text", "dir_mode", "file_mode", "private_umask", "share_with_group",
           "write_atomic"]

_group = os.environ.get("OPS_GROUP_READABLE", "") not in ("", "0")


def share_with_group(enabled: bool = True) -> None:
    """Make what is written from now on readable by the user's group too (never by others)."""
    global _group
    _group = enabled
    private_umask()


def file_mode() -> int:
    return 0o640 if _group else 0o600


def dir_mode() -> int:
    return 0o750 if _group else 0o700


def private_umask() -> int:
    """Tighten the process umask so that nothing it creates is readable by others (and by the
    group unless shared); returns the umask it replaced."""
    old = os.umask(0o077)
    os.umask(old | (0o027 if _group else 0o077))
    return old


@contextlib.contextmanager
def _atomic(path: Path, opener: Callable[[int], IO[Any]], mode: int | None) -> Iterator[IO[Any]]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with opener(fd) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, file_mode() if mode is None else mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_text(path: Path, mode: int | None = None) -> contextlib.AbstractContextManager[TextIO]:
    """A UTF-8 text file that appears at `path` whole (written to a temporary name beside it,
    flushed to disk, made private or `mode`, renamed) or not at all: readers see the old content or
    the new, never half of it."""
    return cast("contextlib.AbstractContextManager[TextIO]",
                _atomic(path, lambda fd: os.fdopen(fd, "w", encoding="utf-8"), mode))


def atomic_binary(path: Path, mode: int | None = None) -> contextlib.AbstractContextManager[BinaryIO]:
    """As `atomic_text`, for bytes."""
    return cast("contextlib.AbstractContextManager[BinaryIO]", _atomic(path, lambda fd: os.fdopen(fd, "wb"), mode))


def write_atomic(path: Path, text: str, mode: int | None = None) -> None:
    """Write a file so that readers see the old content or the new, never half of it (mode: private)."""
    with atomic_text(path, mode) as handle:
        handle.write(text)
