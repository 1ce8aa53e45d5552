"""`file get activelog` and `file list activelog` output, as records.

Matched loosely (the reference marks several wordings as unverified): numbers are taken from
the lines that carry them, wherever they are, and success is `Transfer completed` together with
the absence of `Executed command unsuccessfully`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from ops.parsers.errors import FAILED_RE

FILES_RE = re.compile(r"Number of files affected\s*:\s*([\d,]+)", re.I)
BYTES_RE = re.compile(r"Total size in Bytes\s*:\s*([\d,]+)", re.I)
KBYTES_RE = re.compile(r"Total size in Kbytes\s*:\s*([\d.,]+)", re.I)
TRAVERSED_RE = re.compile(r"Sub-directories were (not )?traversed", re.I)
NO_FILES_RE = re.compile(r"no files? (?:matched|found|to transfer)|no such file|Number of files affected\s*:\s*0\b"
                         r"|files? not found|no matching files", re.I)
COMPLETED_RE = re.compile(r"Transfer completed", re.I)


class ParseError(ValueError):
    """Appliance text that does not have the shape a parser needs."""


@dataclass(frozen=True)
class Announcement:
    """What the appliance said it is about to send."""

    files: int
    bytes: int
    kbytes: float | None
    traversed: bool | None


def _int(text: str) -> int:
    return int(text.replace(",", ""))


def parse_announcement(text: str) -> Announcement | None:
    """The `Number of files affected` block, or None when the appliance matched nothing."""
    files = FILES_RE.search(text)
    size = BYTES_RE.search(text)
    if files is None or size is None:
        if NO_FILES_RE.search(text):
            return None
        raise ParseError("expected 'Number of files affected' and 'Total size in Bytes' in the appliance's "
                         f"answer, got: {text.strip()[-300:]!r}")
    count = _int(files.group(1))
    if count == 0:
        return None
    kbytes = KBYTES_RE.search(text)
    traversed = TRAVERSED_RE.search(text)
    return Announcement(files=count, bytes=_int(size.group(1)),
                        kbytes=float(kbytes.group(1).replace(",", "")) if kbytes else None,
                        traversed=(traversed.group(1) is None) if traversed else None)


def transfer_completed(text: str) -> bool:
    return bool(COMPLETED_RE.search(text)) and not FAILED_RE.search(text)


@dataclass(frozen=True)
class ListedEntry:
    """A row of `file list activelog <dir> detail`."""

    name: str
    is_dir: bool
    size: int | None
    modified: datetime | None


LIST_RE = re.compile(r"^\s*(\d{1,2} \w{3},\d{4} \d{2}:\d{2}:\d{2})\s+(<dir>|[\d,]+)\s+(\S.*?)\s*$")


def parse_file_list(text: str) -> list[ListedEntry]:
    """Rows like `15 Sep,2016 09:07:48 <dir> desktop` and `15 Sep,2016 09:07:48 12,345 x.log`."""
    entries = []
    for line in text.splitlines():
        match = LIST_RE.fullmatch(line)
        if not match:
            continue
        stamp, size, name = match.groups()
        try:
            modified: datetime | None = datetime.strptime(stamp, "%d %b,%Y %H:%M:%S")
        except ValueError:
            modified = None
        is_dir = size == "<dir>"
        entries.append(ListedEntry(name=name, is_dir=is_dir, size=None if is_dir else _int(size),
                                   modified=modified))
    return entries
