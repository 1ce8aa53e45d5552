"""What a host delivered: one entry per finished file, and the manifest.json that lists them."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ops.fileio import write_atomic


@dataclass(frozen=True)
class ManifestEntry:
    """One completed upload: where it landed (relative to the account directory) and its digest."""

    path: str
    size: int
    sha256: str


def write_manifest(path: Path, entries: Iterable[ManifestEntry],
                   also: Iterable[ManifestEntry] = ()) -> list[dict[str, Any]]:
    """Write `entries` as a JSON list of {path, size, sha256} by path, atomically; returns the list.

    `also` adds entries held from before (a resumed run); `entries` win on equal paths.
    """
    merged = {e.path: e for e in also}
    merged.update({e.path: e for e in entries})
    data = [{"path": e.path, "size": e.size, "sha256": e.sha256}
            for e in sorted(merged.values(), key=lambda e: e.path)]
    write_atomic(Path(path), json.dumps(data, indent=2) + "\n")
    return data


def rename_entries(entries: list[ManifestEntry], old: str, new: str, *, directory: bool) -> None:
    """Keep `entries` in step with a rename of `old` to `new`: a file, or a directory and all below it."""
    for i, entry in enumerate(entries):
        if entry.path == old and not directory:
            entries[i] = ManifestEntry(new, entry.size, entry.sha256)
        elif directory and entry.path.startswith(old + "/"):
            entries[i] = ManifestEntry(new + entry.path[len(old):], entry.size, entry.sha256)
